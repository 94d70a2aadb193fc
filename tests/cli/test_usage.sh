#!/bin/sh
# Bad command lines exit 2 with a message naming what is wrong and change
# nothing; every command has help in all three forms.
. "$SRCDIR/lib.sh"

DB=app.db
export RETORT_DATABASE_URL="sqlite:$DB"
mkdir migrations
printf -- '-- retort:up\nCREATE TABLE t (x INTEGER);\n-- retort:down\nDROP TABLE t;\n' \
    >migrations/001_t.sql
snapshot before

usage_error() { # DESCRIPTION EXPECTED-MESSAGE ARGS...
    desc=$1 msg=$2
    shift 2
    run "$@"
    expect_status 2 "$desc exits 2"
    expect_err "$msg" "$desc: the message names it"
}

usage_error "no command" "no command given"
usage_error "an unknown command" "unknown command 'upgrad'" upgrad
usage_error "an unknown long option" "unknown option '--frobnicate'" upgrade --frobnicate
usage_error "an unknown short option" "unknown option '-z'" upgrade -z
usage_error "an option of another command" "option --sql does not apply to current" current --sql
usage_error "a missing option value" "option --url needs a value" upgrade --url
usage_error "a value for a flag" "option --sql takes no value" upgrade --sql=yes
usage_error "a repeated option" "option --url given twice" --url a --url b heads
usage_error "a missing argument" "missing argument (usage: retort downgrade TARGET [--sql] [--dry-run [--format json]])" downgrade
usage_error "an extra argument" "unexpected argument 'extra'" upgrade head extra
usage_error "-v with -q" "-v and -q contradict" -v -q current
usage_error "revision without -m" "-m MESSAGE is required" revision
usage_error "revision with an empty message" "-m MESSAGE is empty" revision -m "   "
usage_error "revision with a bad --lang" "--lang must be 'sql' or 'c', not 'rust'" revision -m x --lang rust
usage_error "revision with a bad --rev-id" "--rev-id 'no spaces' is not a valid revision id" \
    revision -m x --rev-id "no spaces"
usage_error "help for an unknown command" "unknown command 'nope'" help nope
grep -q "Try 'retort help downgrade'" "$TMP/err" 2>/dev/null || true
run downgrade
expect_err "Try 'retort help downgrade'." "a usage error points to the command's help"
expect_unchanged before "usage errors change nothing"
[ ! -f $DB ] && ok "usage errors never open the database" || not_ok "usage errors never open the database"

# Relative targets are arguments, not options.
run upgrade
run downgrade -1
expect_status 0 "downgrade -1 is a target, not an option"
expect_eq "$(applied $DB)" "" "downgrade -1 reverted the revision"
run upgrade +1
expect_status 0 "upgrade +1 is a target"
expect_eq "$(applied $DB)" "001_t" "upgrade +1 applied the revision"

# Help.
run --help
expect_status 0 "--help exits 0"
expect_golden help_overview.out "--help prints the overview"
run help
expect_golden help_overview.out "help prints the same overview"
for cmd in init revision index upgrade downgrade stamp current heads history show check \
    mark-applied mark-reverted; do
    run help $cmd
    expect_status 0 "help $cmd exits 0"
    expect_out "usage: retort [OPTIONS] $cmd" "help $cmd prints its usage"
    cp "$TMP/out" "$TMP/help1"
    run $cmd --help
    if [ "$status" -eq 0 ] && cmp -s "$TMP/out" "$TMP/help1"; then
        ok "$cmd --help prints the same help"
    else
        not_ok "$cmd --help prints the same help"
    fi
    run -h $cmd
    cmp -s "$TMP/out" "$TMP/help1" && ok "-h $cmd prints the same help" ||
        not_ok "-h $cmd prints the same help"
done
run help upgrade
expect_golden help_upgrade.out "help upgrade"
run --version
expect_status 0 "--version exits 0"
expect_out "retort 0." "--version prints the version"

# Global options after the command.
run heads --dir migrations -q
expect_status 0 "global options may follow the command"

done_testing
