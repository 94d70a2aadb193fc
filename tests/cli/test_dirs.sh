#!/bin/sh
# Several migrations directories (Alembic's version_locations): --dir given
# several times, RETORT_DIR and retort.ini's dir as ':'-separated lists.
# Their migrations form one registry; an id in two of them is an error
# naming both files; new revisions go to the first directory.
. "$SRCDIR/lib.sh"

DB=app.db
export RETORT_DATABASE_URL="sqlite:$DB"
mkdir migrations extra

m() { # m DIR ID PARENTS UP DOWN
    printf -- '-- retort:parents %s\n-- retort:up\n%s\n-- retort:down\n%s\n' "$3" "$4" "$5" \
        >"$1/$2.sql"
}
m migrations 001_a "" "CREATE TABLE a (x INTEGER);" "DROP TABLE a;"
m extra 002_b 001_a "CREATE TABLE b (x INTEGER);" "DROP TABLE b;"
m migrations 003_c 002_b "CREATE TABLE c (x INTEGER);" "DROP TABLE c;"

# --- one registry from every directory
run --dir migrations --dir extra upgrade
expect_status 0 "upgrade with --dir twice succeeds"
expect_eq "$(applied $DB)" "001_a 002_b 003_c" "it applies the migrations of both directories"
run --dir migrations --dir extra history --no-current
expect_eq "$(cat "$TMP/out")" "002_b -> 003_c (head), c
001_a -> 002_b, b
<base> -> 001_a, a" "history shows one graph across the directories"
run --dir migrations --dir extra show 002_b
expect_out "File: extra/002_b.sql" "show names the file in the second directory"
run --dir migrations upgrade
expect_status 1 "one directory alone lacks the parent in the other"
expect_err "002_b" "and the error names it"

# --- RETORT_DIR and retort.ini: ':'-separated lists
RETORT_DIR=migrations:extra run status
expect_status 0 "RETORT_DIR lists several directories"
expect_eq "$(grep -c '^applied' "$TMP/out")" "3" "status sees every revision of both"
mkdir conf
printf '[retort]\ndir = ../migrations:../extra\n' >conf/retort.ini
run --config conf/retort.ini heads
expect_status 0 "retort.ini dir lists several directories"
expect_eq "$(cat "$TMP/out")" "003_c" "relative to the ini file, as one registry"
printf '[retort]\ndir = ../migrations::../extra\n' >conf/retort.ini
run --config conf/retort.ini heads
expect_status 1 "an empty entry in the list is an error"
expect_err "empty" "saying so"

# --- new revisions go to the first directory, parented on the heads of all
run --dir migrations --dir extra revision -m "add d" --rev-id 004_d
expect_status 0 "revision with --dir twice succeeds"
expect_eq "$(ls migrations | grep -c '^004_d.sql$')" "1" "the new file is in the first directory"
expect_eq "$(grep '^-- retort:parents' migrations/004_d.sql)" "-- retort:parents 003_c" \
    "parented on the head across the directories"
rm migrations/004_d.sql
run --dir extra --dir migrations revision -m "add e" --rev-id 004_e
expect_status 0 "the first --dir decides where the file goes"
expect_eq "$(ls extra | grep -c '^004_e.sql$')" "1" "the new file is in extra"
rm extra/004_e.sql

# --- an id in two directories names both files; nothing runs
run --dir migrations --dir extra downgrade base
m extra 001_a "" "CREATE TABLE a2 (x INTEGER);" "DROP TABLE a2;"
snapshot before
run --dir migrations --dir extra upgrade
expect_status 1 "an id in two directories fails"
expect_err "migrations/001_a.sql" "naming the first file"
expect_err "extra/001_a.sql" "and the second"
expect_unchanged before "and nothing changed"
rm extra/001_a.sql

# --- a missing directory is named
run --dir migrations --dir nowhere heads
expect_status 1 "a missing second directory fails"
expect_err "'nowhere'" "naming it"

run --dir migrations --dir extra show 009_nope
expect_status 1 "an unknown revision across two directories"
expect_err "no revision '009_nope' in 'migrations' or 'extra'" \
    "the error names every directory searched, not only the first"

done_testing
