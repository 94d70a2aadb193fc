#!/bin/sh
# Directories written for golang-migrate (NNN_name.up.sql / .down.sql) and
# dbmate (-- migrate:up / -- migrate:down) work unchanged.
. "$SRCDIR/lib.sh"

DB=app.db
export RETORT_DATABASE_URL="sqlite:$DB"

# --- golang-migrate, zero-padded
mkdir gm
printf 'CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n' >gm/001_create_users.up.sql
printf 'DROP TABLE users;\n' >gm/001_create_users.down.sql
printf 'CREATE INDEX users_name ON users (name);\n' >gm/002_index_names.up.sql
printf 'DROP INDEX users_name;\n' >gm/002_index_names.down.sql
printf 'CREATE TABLE audit (id INTEGER);\n' >gm/003_audit.up.sql
run --dir gm history --no-current
expect_status 0 "a golang-migrate directory loads"
expect_golden compat_golang_history.out \
    "ids are the file stems, parents the previous id, messages from the names"
run --dir gm upgrade
expect_status 0 "a golang-migrate directory upgrades"
expect_eq "$(applied $DB)" "001_create_users 002_index_names 003_audit" "every revision is applied"
expect_eq "$(sql $DB "SELECT count(*) FROM sqlite_master WHERE name IN ('users','users_name','audit');")" \
    "3" "every up file ran"
run --dir gm downgrade base
expect_status 1 "downgrade through a revision without a down file fails"
expect_err "003_audit" "the error names the irreversible revision"
expect_eq "$(applied $DB)" "001_create_users 002_index_names 003_audit" \
    "the irreversible revision stops the downgrade before anything runs"
run --dir gm downgrade 002_index_names
expect_status 1 "downgrade to just below the irreversible revision fails too"
printf 'DROP TABLE audit;\n' >gm/003_audit.down.sql
run --dir gm check
expect_status 4 "adding a down file changes the applied revision's checksum"
run --dir gm downgrade base
expect_status 0 "with every down file, downgrade to base works"
expect_eq "$(sql $DB "SELECT count(*) FROM sqlite_master WHERE name IN ('users','users_name','audit');")" \
    "0" "every down file ran"

# --- golang-migrate, unpadded numbers sort by value
rm -f $DB
mkdir gm2
for n in 1 2 10; do
    printf 'CREATE TABLE t%s (x INTEGER);\n' $n >gm2/${n}_t$n.up.sql
    printf 'DROP TABLE t%s;\n' $n >gm2/${n}_t$n.down.sql
done
run --dir gm2 history --no-current
expect_golden compat_unpadded_history.out "1_, 2_, 10_ are ordered by number, not as strings"
run --dir gm2 upgrade
expect_status 0 "an unpadded golang-migrate directory upgrades"
expect_eq "$(sql $DB "SELECT group_concat(id, ' ') FROM retort_version;")" "10_t10 1_t1 2_t2" \
    "all three are applied"

# --- dbmate
rm -f $DB
mkdir db
cat >db/20240101000000_create_users.sql <<'SQL'
-- migrate:up
create table users (id integer primary key);

-- migrate:down
drop table users;
SQL
cat >db/20240102000000_add_index.sql <<'SQL'
-- migrate:up transaction:false
create index users_id on users (id);

-- migrate:down
drop index users_id;
SQL
run --dir db upgrade
expect_status 0 "a dbmate directory upgrades"
expect_eq "$(applied $DB)" "20240101000000_create_users 20240102000000_add_index" \
    "dbmate revisions are applied in order"
run --dir db -v history --no-current
expect_out "Kind: sql, no-transaction" "dbmate's transaction:false makes a no-transaction revision"
run --dir db downgrade base
expect_status 0 "a dbmate directory downgrades"
expect_eq "$(sql $DB "SELECT count(*) FROM sqlite_master WHERE name='users';")" "0" \
    "dbmate down sections ran"

done_testing
