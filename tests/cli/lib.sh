# lib.sh -- TAP helpers for the retort command's tests (POSIX sh).
#
# Sourced by each test_*.sh, which meson runs with RETORT (the built command)
# and SRCDIR (this directory) in the environment.  Each test works in its own
# temporary directory, removed at exit, and asserts the database's end state
# with the sqlite3 shell, not only the command's status.

set -u
: "${RETORT:?RETORT must name the retort executable}"
: "${SRCDIR:?SRCDIR must name tests/cli}"
GOLDEN="$SRCDIR/golden"

# Only the configuration each test sets up may influence the command.
unset RETORT_DATABASE_URL RETORT_DIR RETORT_CONFIG
SOURCE_DATE_EPOCH=1704103200 # 2024-01-01T10:00:00Z: reproducible ids
export SOURCE_DATE_EPOCH

TMP=$(mktemp -d "${TMPDIR:-/tmp}/retort-cli.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
# The project under test lives in $TMP/w; the command's output stays outside
# it, so snapshots of the project see only what the command wrote.
mkdir "$TMP/w" && cd "$TMP/w" || exit 1

ntests=0
nfailed=0

ok() {
    ntests=$((ntests + 1))
    echo "ok $ntests - $1"
}

not_ok() {
    ntests=$((ntests + 1))
    nfailed=$((nfailed + 1))
    echo "not ok $ntests - $1"
    shift
    for line in "$@"; do
        printf '#   %s\n' "$line"
    done
}

# run ARGS...: runs the command; sets $status, files $TMP/out and $TMP/err.
run() {
    "$RETORT" "$@" >"$TMP/out" 2>"$TMP/err"
    status=$?
}

diag_output() {
    sed 's/^/#   stdout: /' "$TMP/out" | head -20
    sed 's/^/#   stderr: /' "$TMP/err" | head -20
}

# expect_status N DESCRIPTION
expect_status() {
    if [ "$status" -eq "$1" ]; then
        ok "$2"
    else
        not_ok "$2" "exit status $status, expected $1"
        diag_output
    fi
}

# expect_err TEXT DESCRIPTION: stderr contains TEXT (fixed string)
expect_err() {
    if grep -F -q -- "$1" "$TMP/err"; then
        ok "$2"
    else
        not_ok "$2" "stderr lacks: $1"
        diag_output
    fi
}

# expect_out TEXT DESCRIPTION: stdout contains TEXT (fixed string)
expect_out() {
    if grep -F -q -- "$1" "$TMP/out"; then
        ok "$2"
    else
        not_ok "$2" "stdout lacks: $1"
        diag_output
    fi
}

# expect_golden NAME DESCRIPTION: stdout equals golden/NAME.
# RETORT_UPDATE_GOLDEN=1 rewrites the golden file instead (review the diff).
expect_golden() {
    if [ "${RETORT_UPDATE_GOLDEN:-}" = 1 ]; then
        cp "$TMP/out" "$GOLDEN/$1"
    fi
    if diff -u "$GOLDEN/$1" "$TMP/out" >"$TMP/diff" 2>&1; then
        ok "$2"
    else
        not_ok "$2" "stdout differs from golden/$1:"
        sed 's/^/#   /' "$TMP/diff" | head -40
    fi
}

# expect_file_golden FILE NAME DESCRIPTION: FILE equals golden/NAME
expect_file_golden() {
    if [ "${RETORT_UPDATE_GOLDEN:-}" = 1 ]; then
        cp "$1" "$GOLDEN/$2"
    fi
    if diff -u "$GOLDEN/$2" "$1" >"$TMP/diff" 2>&1; then
        ok "$3"
    else
        not_ok "$3" "$1 differs from golden/$2:"
        sed 's/^/#   /' "$TMP/diff" | head -40
    fi
}

# expect_eq ACTUAL EXPECTED DESCRIPTION
expect_eq() {
    if [ "$1" = "$2" ]; then
        ok "$3"
    else
        not_ok "$3" "got:      $1" "expected: $2"
    fi
}

# sql DB QUERY: the sqlite3 shell's answer, "" if the database is missing
sql() {
    if [ -f "$1" ]; then
        sqlite3 -batch "$1" "$2" 2>&1
    fi
}

# The applied revisions of DB in id order, space-separated.
applied() {
    sql "$1" "SELECT group_concat(id, ' ') FROM (SELECT id FROM retort_version ORDER BY id);"
}

# A fingerprint of a directory tree and a database file, to prove that a
# failing command changed nothing.
snapshot() {
    {
        find . -print | LC_ALL=C sort
        find . -type f | LC_ALL=C sort | while read -r f; do
            cksum "$f"
        done
    } >"$TMP/.snap.$1"
}

expect_unchanged() {
    snapshot after
    if cmp -s "$TMP/.snap.$1" "$TMP/.snap.after"; then
        ok "$2"
    else
        not_ok "$2" "files changed:"
        diff "$TMP/.snap.$1" "$TMP/.snap.after" | sed 's/^/#   /' | head -20
    fi
}

done_testing() {
    echo "1..$ntests"
    [ "$nfailed" -eq 0 ]
}
