#!/bin/sh
# retort_load_dir through the command: malformed migration directories are
# refused as a whole with a message naming file:line, exit status 1, and
# neither the database nor the files change.
. "$SRCDIR/lib.sh"

DB=app.db
export RETORT_DATABASE_URL="sqlite:$DB"
mkdir migrations

good() {
    rm -rf migrations && mkdir migrations
    cat >migrations/001_users.sql <<'SQL'
-- retort:message users
-- retort:up
CREATE TABLE users (id INTEGER PRIMARY KEY);
-- retort:down
DROP TABLE users;
SQL
}

# refused DESCRIPTION EXPECTED-MESSAGE: upgrade fails with status 1 naming
# the problem and changes nothing (the database keeps 001_users applied).
refused() {
    snapshot before
    run upgrade
    expect_status 1 "$1: upgrade exits 1"
    expect_err "$2" "$1: the message names it"
    expect_unchanged before "$1: nothing changes"
    expect_eq "$(applied $DB)" "001_users" "$1: the database keeps its state"
}

good
run upgrade
expect_status 0 "a well-formed directory upgrades"
expect_eq "$(applied $DB)" "001_users" "the revision is applied"

good
printf -- '-- retort:message no up\nCREATE TABLE t (x INTEGER);\n' >migrations/002_bad.sql
refused "SQL before the up marker" "migrations/002_bad.sql:2: SQL before '-- retort:up'"

good
printf -- '-- retort:message only a header\n' >migrations/002_bad.sql
refused "a missing up section" "migrations/002_bad.sql: missing up section"

good
printf -- '-- retort:parnets 001_users\n-- retort:up\nSELECT 1;\n' >migrations/002_bad.sql
refused "an unknown directive" "migrations/002_bad.sql:1: unknown directive '-- retort:parnets'"

good
printf -- '-- retort:up\nSELECT 1;\n-- retort:wat\n' >migrations/002_bad.sql
refused "an unknown directive in a section" "migrations/002_bad.sql:3: unknown directive"

good
printf -- '-- retort:parents 000_nope\n-- retort:up\nSELECT 1;\n' >migrations/002_bad.sql
refused "a parent that does not exist" "migrations/002_bad.sql:1: parent '000_nope' does not exist"

good
printf -- '-- retort:parents 001_users bad!id\n-- retort:up\nSELECT 1;\n' >migrations/002_bad.sql
refused "a malformed parent id" "migrations/002_bad.sql:1"

good
printf -- '-- retort:parents 002_bad\n-- retort:up\nSELECT 1;\n' >migrations/002_bad.sql
refused "a revision that is its own parent" "lists itself as a parent"

good
printf 'SELECT 1;\n' >migrations/001_users.up.sql
refused "two files with one id" "two files define revision '001_users'"

good
printf 'SELECT 1;\n' >migrations/002_x.down.sql
refused "a down file without its up file" "migrations/002_x.down.sql' has no matching '002_x.up.sql'"

good
printf -- '-- retort:up\nSELECT 1;\n' >'migrations/bad id.sql'
refused "a .sql file whose name is not an id" "'bad id' is not a valid revision id"

good
printf -- '-- retort:up\nSELECT 1;\n' >migrations/head.sql
refused "a reserved id" "'head' is not a valid revision id"

good
printf -- '-- retort:up\nSELECT 1;\n-- retort:up\n' >migrations/002_bad.sql
refused "two up markers" "migrations/002_bad.sql:3: second up marker"

good
printf -- '-- retort:up\nSELECT 1;\n-- retort:message late\n' >migrations/002_bad.sql
refused "a header directive after the up marker" "migrations/002_bad.sql:3: '-- retort:message' belongs in the header"

good
printf -- '-- retort:message a\n-- retort:message b\n-- retort:up\n' >migrations/002_bad.sql
refused "a repeated header directive" "migrations/002_bad.sql:2: second '-- retort:message' line"

good
printf -- '-- retort:no-transaction please\n-- retort:up\n' >migrations/002_bad.sql
refused "an argument to no-transaction" "migrations/002_bad.sql:1: '-- retort:no-transaction' takes no argument"

good
printf 'SELECT 1;\n-- retort:up\n' >migrations/002_x.up.sql
refused "an up marker in an up file" "migrations/002_x.up.sql:2: '-- retort:up' is for single-file migrations"

good
printf 'SELECT 1;\n' >migrations/002_x.up.sql
printf -- '-- retort:message here\nSELECT 1;\n' >migrations/002_x.down.sql
refused "a directive in a down file" "migrations/002_x.down.sql:1: '-- retort:message' belongs in 002_x.up.sql"

good
printf -- '-- retort:up\nSELECT 1;\0\n' >migrations/002_bad.sql
refused "a NUL byte" "migrations/002_bad.sql:2: the file contains a NUL byte"

good
mkdir migrations/002_dir.sql
refused "a directory named like a migration" "is not a regular file"

good
printf -- '-- retort:up\nSELECT 1;\n' >migrations/002_unreadable.sql
chmod 000 migrations/002_unreadable.sql
if [ -r migrations/002_unreadable.sql ]; then
    ok "# SKIP unreadable files (running as root)"
else
    refused "an unreadable file" "cannot read 'migrations/002_unreadable.sql'"
fi
chmod 644 migrations/002_unreadable.sql

# A cycle is a graph error the first operation reports, before the database.
good
printf -- '-- retort:parents 003_b\n-- retort:up\nSELECT 1;\n' >migrations/002_a.sql
printf -- '-- retort:parents 002_a\n-- retort:up\nSELECT 1;\n' >migrations/003_b.sql
refused "a cycle" "002_a"

# Files that are not migrations are ignored.
good
echo "# notes" >migrations/README.md
echo "{{id}}" >migrations/template.sql.tmpl
echo "x" >migrations/.hidden.sql
echo "int x;" >migrations/helper.c
run heads
expect_status 0 "README, templates, hidden and C files are ignored"
expect_eq "$(cat "$TMP/out")" "001_users" "only the migration is registered"

run --dir does-not-exist heads
expect_status 1 "a missing directory fails"
expect_err "migrations directory 'does-not-exist' (from --dir) does not exist" \
    "the message names the directory and where it came from"

# A directory retort does not read is never "nothing to do" (issue 15: a
# diesel directory used to pass upgrade and check with exit 0).
rm -rf empty && mkdir empty
run --dir empty --url sqlite:empty.db upgrade
expect_status 1 "upgrade of an empty directory fails"
expect_err "no migrations in 'empty': the directory is empty" "the message names the directory"
run --dir empty --url sqlite:empty.db check
expect_status 1 "check of an empty directory fails"
echo "# notes" >empty/README.md
run --dir empty --url sqlite:empty.db upgrade
expect_status 1 "upgrade of a directory of non-migrations fails"
expect_err "it holds 'README.md'" "the message names what the directory holds"
run --dir empty --url sqlite:empty.db revision -m "first one"
expect_status 0 "revision writes the first migration into a directory without one"

# Another tool's layout is read: a diesel directory upgrades and checks.
rm -rf diesel && mkdir -p diesel/2024-01-01-000000_create_posts
printf 'CREATE TABLE posts (id INTEGER);\n' >diesel/2024-01-01-000000_create_posts/up.sql
printf 'DROP TABLE posts;\n' >diesel/2024-01-01-000000_create_posts/down.sql
run --dir diesel --url sqlite:diesel.db upgrade
expect_status 0 "a diesel directory upgrades"
expect_eq "$(applied diesel.db)" "2024-01-01-000000_create_posts" "its revision is applied"
run --dir diesel --url sqlite:diesel.db check
expect_status 0 "check passes at head"

# goose's Go migrations stop the run before anything runs.
rm -rf goose && mkdir goose
printf -- '-- +goose Up\nCREATE TABLE g1 (x INTEGER);\n' >goose/00001_a.sql
printf 'package migrations\n' >goose/00002_b.go
run --dir goose --url sqlite:goose.db upgrade
expect_status 1 "a goose Go migration fails the upgrade"
expect_err "goose/00002_b.go' is a goose Go migration" "the message names the file"
expect_eq "$(applied goose.db)" "" "nothing was applied"

# A database goose migrated: upgrade refuses until 'retort adopt' takes it over.
rm -rf goose && mkdir goose
printf -- '-- +goose Up\nCREATE TABLE g1 (x INTEGER);\n-- +goose Down\nDROP TABLE g1;\n' >goose/00001_a.sql
printf -- '-- +goose Up\nCREATE TABLE g2 (x INTEGER);\n-- +goose Down\nDROP TABLE g2;\n' >goose/00002_b.sql
sqlite3 goosed.db "CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now'))); INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1), (1, 1); CREATE TABLE g1 (x INTEGER);"
run --dir goose --url sqlite:goosed.db upgrade
expect_status 1 "upgrade refuses a database goose migrated"
expect_err "goose_db_version" "the message names goose's table"
expect_err "retort adopt" "and the way out"
run --dir goose --url sqlite:goosed.db adopt
expect_status 0 "adopt takes goose's state"
expect_out "Adopted: now at 00001_a" "it says where the database now is"
expect_eq "$(applied goosed.db)" "00001_a" "exactly goose's revision is recorded"
run --dir goose --url sqlite:goosed.db upgrade
expect_status 0 "upgrade then runs only the rest"
expect_eq "$(applied goosed.db)" "00001_a 00002_b" "both are applied"
expect_eq "$(sql goosed.db 'SELECT COUNT(*) FROM goose_db_version')" "2" "goose's table is untouched"

done_testing
