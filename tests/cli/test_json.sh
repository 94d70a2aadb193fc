#!/bin/sh
# --format json (or --json) on every read command, parsed with python3 (not
# compared as text): history, show, heads --resolve-dependencies and the
# stamp --dry-run plan, and an option given to a command it does not apply
# to is refused rather than ignored.  (status, log, current, heads, check
# and the upgrade/downgrade plans are covered in test_status.sh.)
. "$SRCDIR/lib.sh"

DB=app.db
export RETORT_DATABASE_URL="sqlite:$DB"
mkdir migrations

m() { # m ID PARENTS MESSAGE UP [DOWN]
    {
        printf -- '-- retort:parents %s\n-- retort:message %s\n-- retort:up\n%s\n' "$2" "$3" "$4"
        [ $# -ge 5 ] && printf -- '-- retort:down\n%s\n' "$5"
    } >"migrations/$1.sql"
}
json() { # json PYTHON-EXPRESSION-ON-d: evaluates it on stdout parsed as JSON
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$TMP/out"
}

m 001_a "" "create a" "CREATE TABLE a (x INTEGER);" "DROP TABLE a;"
m 002_b "001_a" "create b" "CREATE TABLE b (x INTEGER);" "DROP TABLE b;"
m 003_c "001_a" "create c" "CREATE TABLE c (x INTEGER);"
run upgrade 002_b
expect_status 0 "setup: upgrade to 002_b"

# --- history
run history --format json
expect_status 0 "history --format json succeeds"
expect_eq "$(json "d['format'], [r['id'] for r in d['revisions']]")" \
    "retort.history/1 ['003_c', '002_b', '001_a']" "history --format json lists the revisions newest first"
expect_eq "$(json "[(r['id'], r['parents'], r['children'], r['head'], r['branchpoint'], r['current'], r['state']) for r in d['revisions']]")" \
    "[('003_c', ['001_a'], [], True, False, False, 'pending'), ('002_b', ['001_a'], [], True, False, True, 'applied'), ('001_a', [], ['002_b', '003_c'], False, True, False, 'applied')]" \
    "each revision has its parents, children, markers and state"
run history --json --no-current -r 002_b:
expect_status 0 "history --json --no-current -r succeeds"
expect_eq "$(json "[(r['id'], r['current'], r['state']) for r in d['revisions']]")" \
    "[('002_b', None, None)]" "history --json honours -r, and without the database current and state are null"

# --- show
run show 003 --format json
expect_status 0 "show --format json succeeds"
expect_eq "$(json "d['format'], d['revision']['id'], d['revision']['message'], d['revision']['kind'], d['revision']['irreversible'], d['files']")" \
    "retort.show/1 003_c create c sql True ['migrations/003_c.sql']" "show --format json describes the revision and its file"
run show nope --json
expect_status 1 "show --json of an unknown revision fails"
expect_eq "$(cat "$TMP/out")" "" "and prints no JSON"

# --- heads --resolve-dependencies
run heads --resolve-dependencies --json
expect_status 0 "heads --resolve-dependencies --json succeeds"
expect_eq "$(json "d['format'], d['heads']")" "retort.heads/1 ['002_b', '003_c']" \
    "heads --resolve-dependencies --json is JSON too"

# --- stamp --dry-run
run stamp 003_c --dry-run --format json
expect_status 0 "stamp --dry-run --format json succeeds"
expect_eq "$(json "d['format'], d['target'], d['purge'], d['current']")" \
    "retort.stamp/1 003_c False ['002_b']" "stamp --dry-run --format json gives the target and the current heads"
expect_eq "$(applied $DB)" "001_a 002_b" "and stamps nothing"
run stamp 003_c --format json
expect_status 2 "stamp --format json without --dry-run is a usage error"

# --- an option where it does not apply is refused, never ignored
run branches --json
expect_status 2 "branches --json is a usage error"
expect_err "option --json does not apply to branches" "naming the option as written"
run mark-applied 003_c --dry-run
expect_status 2 "mark-applied --dry-run is a usage error, not a real mark"
expect_eq "$(applied $DB)" "001_a 002_b" "and records nothing"

done_testing
