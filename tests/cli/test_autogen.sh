#!/bin/sh
# `retort revision --autogenerate --schema FILE` and `retort check --schema
# FILE`: the written migration takes the database to the declared schema and
# back with its rows; drift is reported with status 5; errors write nothing.
. "$SRCDIR/lib.sh"

run init
expect_status 0 "init"
cat >migrations/001.sql <<'SQL'
-- retort:up
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER);
-- retort:down
DROP TABLE users;
SQL
run upgrade
expect_status 0 "the original schema is applied"
sqlite3 retort.db "INSERT INTO users (id, name, age) VALUES (1, 'alice', 30);"

cat >schema.sql <<'SQL'
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER,
                    email TEXT);
CREATE INDEX users_email_idx ON users (email);
SQL

run check --schema schema.sql
expect_status 5 "check --schema exits 5 when the schema drifts"
expect_out "+column users.email text" "the declared schema's lines are printed with +"
expect_err "differs from the declared schema" "stderr says what is wrong"

echo "CREATE TABLE broken (;" >broken.sql
snapshot before
run revision -m "add email" --schema schema.sql
expect_status 2 "--schema without --autogenerate is a usage error"
run revision -m "add email" --autogenerate
expect_status 2 "--autogenerate without --schema is a usage error"
run revision -m "add email" --autogenerate --schema nosuch.sql
expect_status 1 "an unreadable schema file fails"
expect_err "nosuch.sql" "the message names the file"
run revision -m "add email" --autogenerate --schema broken.sql
expect_status 1 "a declared schema the database rejects fails"
expect_err "broken.sql" "the message names the file"
expect_unchanged before "failed autogenerate runs write nothing"

run revision -m "add email" --autogenerate --schema schema.sql
expect_status 0 "revision --autogenerate writes a migration"
f=migrations/20240101100000_add_email.sql
expect_out "$f" "the file is named like any revision"
grep -q '^ALTER TABLE "users" ADD COLUMN "email" text;$' "$f" &&
    ok "the up section adds the column" || not_ok "the up section adds the column"
grep -q '^-- retort:destructive drops column "users"."email"' "$f" &&
    ok "the down section flags the destructive drop" ||
    not_ok "the down section flags the destructive drop"

run upgrade
expect_status 0 "the generated migration applies"
run check --schema schema.sql
expect_status 0 "after it the database has the declared schema"
expect_eq "$(sql retort.db "SELECT name || ' ' || age FROM users WHERE id = 1;")" "alice 30" \
    "rows keep their values"

run revision -m "nothing" --autogenerate --schema schema.sql
expect_status 0 "no difference is not an error"
expect_out "No changes" "and says so"
[ ! -e migrations/20240101100000_nothing.sql ] && ok "nothing is written" ||
    not_ok "nothing is written"

run downgrade 001
expect_status 0 "the generated migration reverts"
expect_eq "$(sql retort.db "SELECT count(*) FROM pragma_table_info('users') WHERE name = 'email';")" \
    "0" "the downgrade drops the column"
expect_eq "$(sql retort.db "SELECT name FROM users WHERE id = 1;")" "alice" "rows survive it"

run revision -m "pending" --autogenerate --schema schema.sql
expect_status 1 "autogenerate refuses a database that is not at head"
expect_err "retort upgrade" "and says to upgrade first"

run check --schema schema.sql
expect_status 3 "check --schema reports pending revisions first"

done_testing
