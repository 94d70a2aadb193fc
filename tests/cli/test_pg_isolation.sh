#!/bin/sh
# `retort test` on PostgreSQL never writes to the database it is pointed at,
# even with migrations that name their schema (CREATE SCHEMA auth; CREATE
# TABLE auth.users ...): the real database's catalogue, as pg_dump
# --schema-only prints it, is byte-identical before and after, whether the
# real database is empty or already at head, and whether the checks pass or
# find a defect.  The "real" database is one this script creates, so that
# other tests running on the same server cannot change its catalogue.
# Skipped, with the reason, when no server is reachable.
if [ -z "${PGHOST:-}" ]; then
    echo "1..0 # SKIP no PostgreSQL server: ${RETORT_TEST_PG_SKIP:-PGHOST is not set}"
    exit 0
fi
. "$SRCDIR/lib.sh"

DB="retort_real_$$_$(date +%s)"
pg() { psql -XAtq -v ON_ERROR_STOP=1 -d "${2:-postgres}" -c "$1" 2>&1; }
pg "CREATE DATABASE $DB" >/dev/null || { echo "1..0 # SKIP cannot create a database"; exit 0; }
trap 'pg "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null; rm -rf "$TMP"' EXIT
# Without the random \restrict key recent pg_dump versions print.
dump() { pg_dump --schema-only --no-owner -d "$DB" 2>&1 | grep -v '^\\\(un\)\{0,1\}restrict ' >"$1"; }

export RETORT_DATABASE_URL="postgresql:dbname=$DB"
run init
expect_status 0 "init succeeds"

cat >migrations/001_auth.sql <<'SQL'
-- retort:up
CREATE SCHEMA auth;
CREATE TABLE auth.users (id BIGINT PRIMARY KEY, email TEXT NOT NULL);
-- retort:down
DROP TABLE auth.users;
DROP SCHEMA auth;
SQL
cat >migrations/002_identities.sql <<'SQL'
-- retort:up
CREATE TABLE auth.identities (id BIGINT PRIMARY KEY, user_id BIGINT REFERENCES auth.users);
-- retort:down
DROP TABLE auth.identities;
SQL

# --- an empty real database
dump "$TMP/before"
run test
expect_status 0 "retort test passes on migrations that name their schema"
dump "$TMP/after"
if cmp -s "$TMP/before" "$TMP/after"; then
    ok "the empty real database's catalogue is byte-identical after retort test"
else
    not_ok "the empty real database's catalogue is byte-identical after retort test" \
        "$(diff "$TMP/before" "$TMP/after" | head -20)"
fi
expect_eq "$(pg "SELECT count(*) FROM pg_namespace WHERE nspname = 'auth'" "$DB")" "0" \
    "no schema auth appeared in the real database"

# --- an empty real database, and checks that stop half-way through
cat >migrations/003_sessions.sql <<'SQL'
-- retort:up
CREATE TABLE auth.sessions (id BIGINT PRIMARY KEY);
-- retort:down
SELECT 1;
SQL
run test
expect_status 1 "retort test finds the downgrade that leaves auth.sessions behind"
expect_out "003_sessions" "the finding names the revision"
dump "$TMP/after"
if cmp -s "$TMP/before" "$TMP/after"; then
    ok "the empty real database's catalogue is byte-identical after a failed retort test"
else
    not_ok "the empty real database's catalogue is byte-identical after a failed retort test" \
        "$(diff "$TMP/before" "$TMP/after" | head -20)"
fi
rm migrations/003_sessions.sql

# --- a real database at head, and a check that fails half-way through
run upgrade
expect_status 0 "upgrade brings the real database to head"
cat >migrations/003_drop_pkey.sql <<'SQL'
-- retort:up
ALTER TABLE auth.identities DROP CONSTRAINT identities_pkey;
-- retort:down
SELECT 1;
SQL
dump "$TMP/before"
run test
expect_status 1 "retort test finds the downgrade that does not restore the primary key"
expect_out "003_drop_pkey" "the finding names the revision"
dump "$TMP/after"
if cmp -s "$TMP/before" "$TMP/after"; then
    ok "the real database at head keeps its catalogue byte-identical (identities keeps its key)"
else
    not_ok "the real database at head keeps its catalogue byte-identical (identities keeps its key)" \
        "$(diff "$TMP/before" "$TMP/after" | head -20)"
fi
expect_eq "$(pg "SELECT count(*) FROM pg_constraint WHERE conname = 'identities_pkey'" "$DB")" "1" \
    "auth.identities still has its primary key"

done_testing
