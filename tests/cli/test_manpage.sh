#!/bin/sh
# The man page agrees with the command and the code (issue 17, item 11):
# it renders without warnings, every command of `retort --help` has an
# entry, every command taking --format json is in JSON OUTPUT, the
# log_level list is the library's, and the version table name limit it
# and the header state is the one the library enforces.
. "$SRCDIR/lib.sh"

MAN="$SRCDIR/../../doc/retort.1"
HEADER="$SRCDIR/../../include/retort/retort.h"

if ! command -v groff >/dev/null 2>&1; then
    ok "# SKIP groff is not installed"
    done_testing
    exit 0
fi

render() { # the man page as text, one line per paragraph line, no hyphenation
    groff -man -Tutf8 -P-cbou -rLL=200n -rHY=0 "$MAN" 2>/dev/null
}
render >"$TMP/man.txt"

groff -man -Tutf8 -ww -z "$MAN" >"$TMP/warn" 2>&1
expect_eq "$(cat "$TMP/warn")" "" "the man page renders without groff warnings"
expect_eq "$(grep -c '^ *check \[--schema FILE\] \[--allow-out-of-order\] \[--format json\]$' "$TMP/man.txt")" "1" \
    "the check entry renders as its synopsis"

run --help
missing=""
for cmd in $(sed -n '/^Commands:/,/^$/p' "$TMP/out" | awk 'NF > 1 {print $1}'); do
    # an entry starts a line, or follows another one ("mark-applied ID, mark-reverted ID")
    grep -q "^ *\([a-z-]* [A-Z]*, \)\{0,1\}$cmd\( \|$\|,\)" "$TMP/man.txt" ||
        missing="$missing $cmd"
done
expect_eq "$missing" "" "every command of retort --help has an entry in the man page"

missing=""
for cmd in current heads history show status log check; do
    run help "$cmd"
    grep -q -- "--format json" "$TMP/out" || missing="$missing $cmd(help)"
    sed -n '/^JSON OUTPUT/,/^[A-Z]/p' "$TMP/man.txt" | grep -q "retort\.$cmd/1" ||
        missing="$missing $cmd(man)"
done
expect_eq "$missing" "" "every read command documents --format json in its help and its schema in the man page"

expect_eq "$(tr -s ' \n' '  ' <"$TMP/man.txt" | grep -o 'log_level: [a-z, ]*or [a-z]*')" \
    "log_level: none, error, warn, info or debug" "the man page lists every log level, none included"
run --set log_level=none heads
expect_eq "$(grep -c 'log_level' "$TMP/err")" "0" "and the command accepts none"

# The version table's name: 1-59 characters, as the header says.
grep -q '1-59 characters' "$HEADER" && ok "the header states 1-59 characters" ||
    not_ok "the header states 1-59 characters"
mkdir migrations
printf -- '-- retort:up\nCREATE TABLE a (x INTEGER);\n' >migrations/001_a.sql
n59=$(printf '%059d' 0 | tr 0 t)
run --url sqlite:app.db --set "version_table=$n59" upgrade
expect_status 0 "a 59-character version table name works"
expect_eq "$(sql app.db "SELECT count(*) FROM $n59;")" "1" "and holds the applied revision"
run --url sqlite:app.db --set "version_table=${n59}t" upgrade
expect_status 1 "a 60-character one is refused"
expect_err "1-59 characters" "with the limit the header states"

done_testing
