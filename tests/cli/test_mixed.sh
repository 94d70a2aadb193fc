#!/bin/sh
# C and SQL migrations in one directory (issue 17, item 9): every command
# sees both, reading a C migration's place in the graph from the header
# comment `revision --lang c` writes.  The command cannot run a C migration
# (it is compiled into the application): a plan that would run one is
# refused before anything runs, never skipped and never recorded.  A .c file
# without a '// retort:' header is a helper file and is ignored.
. "$SRCDIR/lib.sh"

DB=app.db
export RETORT_DATABASE_URL="sqlite:$DB"
mkdir migrations

run revision -m "create a" --rev-id a1
expect_status 0 "a SQL revision"
printf -- '-- retort:parents\n-- retort:up\nCREATE TABLE a (x INTEGER);\n-- retort:down\nDROP TABLE a;\n' \
    >migrations/a1.sql
run revision --lang c -m "seed a" --rev-id b2
expect_status 0 "a C revision on top of it"

# --- a SQL revision on top of a C one
run revision -m "create c" --rev-id c3
expect_status 0 "revision -m after revision --lang c succeeds"
expect_out "Created migrations/c3.sql" "revision names the SQL file it wrote"
expect_eq "$(sed -n 1p migrations/c3.sql)" "-- retort:parents b2" \
    "the SQL revision's parent is the C revision"
printf -- '-- retort:parents b2\n-- retort:up\nCREATE TABLE c (x INTEGER);\n-- retort:down\nDROP TABLE c;\n' \
    >migrations/c3.sql

# --- a helper .c file (no retort header) is no migration
printf '/* shared helpers for the C migrations */\nint helper(void) { return 0; }\n' \
    >migrations/helpers.c

# --- the read commands show the C revision
run history --no-current
expect_status 0 "history succeeds with C and SQL revisions"
expect_golden mixed_history.out "history lists the C revision between the SQL ones"
run heads
expect_status 0 "heads succeeds"
expect_eq "$(cat "$TMP/out")" "c3" "heads is the SQL revision on top of the C one"
run show b2
expect_status 0 "show names a C revision"
expect_out "Parent: a1" "show gives the C revision's parent"
expect_out "File: migrations/b2.c" "show names the C revision's file"
run show helper
expect_status 1 "show does not know the helper file"
run status
expect_status 0 "status succeeds with a C revision"
expect_out "pending      b2" "status lists the C revision as pending"
expect_eq "$(grep -c helper "$TMP/out")" "0" "status does not list the helper file"
run index
expect_status 0 "index succeeds next to a helper file"
expect_eq "$(grep -c helper migrations/retort_migrations.c)" "0" "the index registers no helper"

# --- the command refuses to run a C migration, before anything runs
snapshot before
run upgrade
expect_status 1 "upgrade through a C migration is refused"
expect_err "b2" "the refusal names the C revision"
expect_err "migrations/b2.c" "the refusal names the C file"
expect_err "the application that compiles it" "the refusal says who runs it"
expect_eq "$(applied $DB)" "" "nothing was applied (not even a1, before the C revision)"
expect_eq "$(sql $DB "SELECT count(*) FROM retort_log;" 2>/dev/null)" "" \
    "nothing was attempted"
run upgrade --dry-run
expect_status 1 "upgrade --dry-run through a C migration is refused as well"
expect_err "migrations/b2.c" "the dry run names the C file"
run upgrade --sql
expect_status 1 "upgrade --sql through a C migration is refused"
expect_err "migrations/b2.c" "the offline refusal names the C file"
expect_eq "$(grep -c . "$TMP/out")" "0" "no partial script is printed"

# --- up to the C revision, and past it once the application ran it
run upgrade a1
expect_status 0 "upgrade to the revision before the C one succeeds"
expect_eq "$(applied $DB)" "a1" "a1 is applied"
run mark-applied b2
expect_status 0 "the application's run of b2, recorded by hand here"
run upgrade
expect_status 0 "upgrade past an applied C revision runs the SQL after it"
expect_eq "$(applied $DB)" "a1 b2 c3" "c3 is applied on top of b2"
run current
expect_eq "$(cat "$TMP/out")" "c3" "current is c3"

# --- downgrading through it is refused too
run downgrade base
expect_status 1 "downgrade through a C migration is refused"
expect_err "migrations/b2.c" "the downgrade refusal names the C file"
expect_eq "$(applied $DB)" "a1 b2 c3" "nothing was reverted (not even c3)"
run downgrade b2
expect_status 0 "downgrade down to the C revision succeeds"
expect_eq "$(applied $DB)" "a1 b2" "c3 is reverted, b2 stays"

# --- a directory of C migrations only
mkdir conly
run --dir conly revision --lang c -m "only c" --rev-id x1
expect_status 0 "a C revision in an empty directory"
run --dir conly history --no-current
expect_status 0 "history of a directory of C migrations only"
expect_out "<base> -> x1 (head), only c" "it lists the C revision"
printf '/*\n * Licence text.\n */\n// retort:parents x1\n// retort:message licensed\nint f(void);\n' \
    >conly/x2.c
run --dir conly heads
expect_status 0 "heads with a C migration whose header follows a block comment"
expect_eq "$(cat "$TMP/out")" "x2" "a licence block before the header does not hide it"

# --- a C migration in a second directory (--dir twice) is read as well
mkdir more
printf '// retort:parents c3\n// retort:message in another directory\nint f(void);\n' \
    >more/d4.c
run --dir migrations --dir more heads
expect_status 0 "heads over two directories, one with a C migration"
expect_eq "$(cat "$TMP/out")" "d4" "the second directory's C migration is the head"
run --dir migrations --dir more upgrade
expect_status 1 "upgrade through the second directory's C migration is refused"
expect_err "more/d4.c" "the refusal names the file in the second directory"
expect_eq "$(applied $DB)" "a1 b2" "nothing was applied"
run --dir migrations --dir more index
expect_status 0 "index over two directories"
expect_eq "$(grep -c d4 migrations/retort_migrations.c)" "0" \
    "the first directory's index registers only its own C migrations"

# --- retort test cannot run a C migration either: refused before any check
run test
expect_status 1 "test over a C migration is refused"
expect_err "migrations/b2.c" "the refusal names the C file"
expect_err "the application that compiles it" "the refusal says who can test it"
expect_eq "$(grep -c '^ok\|^FAIL' "$TMP/out")" "0" "no check ran or printed a verdict"
run test single-head
expect_status 0 "single-head needs no migration run and still works"
expect_out "ok single-head" "single-head passes"

done_testing
