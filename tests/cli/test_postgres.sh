#!/bin/sh
# Every database command of the retort command against PostgreSQL, in a
# schema of its own, asserting the end state with psql: the same project
# life as test_commands.sh (init, revisions, upgrade, downgrade, stamp, offline
# SQL, check, history, a dirty non-transactional revision resolved by hand,
# schema, test).  Skipped, with the reason, when no server is reachable.
if [ -z "${PGHOST:-}" ]; then
    echo "1..0 # SKIP no PostgreSQL server: ${RETORT_TEST_PG_SKIP:-PGHOST is not set}"
    exit 0
fi
. "$SRCDIR/lib.sh"

S="retort_cli_$$_$(date +%s)"
pg() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
pg "CREATE SCHEMA $S" >/dev/null || { echo "1..0 # SKIP cannot create a schema"; exit 0; }
trap 'pg "DROP SCHEMA $S CASCADE" >/dev/null; rm -rf "$TMP"' EXIT

export RETORT_DATABASE_URL="postgresql:options='-csearch_path=$S'"
pg_applied() { pg "SELECT coalesce(string_agg(id, ' ' ORDER BY id), '') FROM $S.retort_version"; }
pg_has_table() { pg "SELECT count(*) FROM pg_tables WHERE schemaname = '$S' AND tablename = '$1'"; }

run init
expect_status 0 "init succeeds"
printf '\nschema = %s\n' "$S" >>retort.ini

cat >migrations/001_users.sql <<'SQL'
-- retort:message create users
-- retort:up
CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE);
-- retort:down
DROP TABLE users;
SQL
cat >migrations/002_users_name.sql <<'SQL'
-- retort:message add name
-- retort:up
ALTER TABLE users ADD COLUMN name TEXT;
-- retort:down
ALTER TABLE users DROP COLUMN name;
SQL

# --- offline first: the script, fed to psql, reaches head
run upgrade head --sql
expect_status 0 "upgrade --sql renders a script"
expect_out 'CREATE TABLE users' "the script holds the migrations"
expect_eq "$(pg_has_table retort_version)" "0" "rendering did not touch the database"
pg "$(cat "$TMP/out")" >/dev/null
expect_eq "$(pg_applied)" "001_users 002_users_name" "psql running the script records both revisions"
run check
expect_status 0 "check agrees the database is at head after the offline script"

run downgrade 002_users_name:base --sql
expect_status 0 "downgrade --sql FROM:TO renders a script"
pg "$(cat "$TMP/out")" >/dev/null
expect_eq "$(pg_applied)" "" "psql running the downgrade script reverts both"
expect_eq "$(pg_has_table users)" "0" "and drops the table"

# --- online
run upgrade
expect_status 0 "upgrade succeeds"
expect_eq "$(pg_applied)" "001_users 002_users_name" "upgrade applies both revisions"
expect_eq "$(pg_has_table users)" "1" "the migration's table exists in the schema"
run current
expect_eq "$(cat "$TMP/out")" "002_users_name" "current prints the applied head"
run heads
expect_eq "$(cat "$TMP/out")" "002_users_name" "heads prints the single head"
run history
expect_out "(current)" "history marks the current revision"
run show 001_users
expect_status 0 "show succeeds"
expect_out "create users" "show prints the message"

run downgrade -1
expect_status 0 "downgrade -1 succeeds"
expect_eq "$(pg_applied)" "001_users" "downgrade -1 reverts the head"
run check
expect_status 3 "check exits 3 with a pending revision"
run stamp head
expect_status 0 "stamp head succeeds"
expect_eq "$(pg_applied)" "001_users 002_users_name" "stamp records without running"
expect_eq "$(pg "SELECT count(*) FROM information_schema.columns WHERE table_schema = '$S' AND table_name = 'users' AND column_name = 'name'")" "0" \
    "stamp ran nothing"
run stamp 001_users
expect_eq "$(pg_applied)" "001_users" "stamp to a revision removes the rows above it"
run upgrade
expect_status 0 "upgrade after stamp applies what is recorded as missing"

# --- a non-transactional revision failing midway, resolved by hand
cat >migrations/003_email_idx.sql <<'SQL'
-- retort:no-transaction
-- retort:up
CREATE INDEX CONCURRENTLY users_email_ci ON users (lower(email));
CREATE INDEX CONCURRENTLY users_bad ON users (no_such_column);
-- retort:down
DROP INDEX CONCURRENTLY IF EXISTS users_email_ci;
SQL
run upgrade
expect_status 9 "a failing non-transactional revision fails the upgrade with exit status 9"
expect_err "mark-applied|mark-reverted" "the error says how to resolve it"
expect_eq "$(pg "SELECT state FROM $S.retort_version WHERE id = '003_email_idx'")" "dirty" \
    "the revision is recorded dirty"
expect_eq "$(pg "SELECT statements_done FROM $S.retort_version_log WHERE revision = '003_email_idx' AND outcome = 'failed'")" "1" \
    "the audit log says one statement completed"
run upgrade
expect_status 8 "further runs refuse while dirty with exit status 8"
expect_err "dirty" "the refusal says the database is dirty"
pg "DROP INDEX $S.users_email_ci" >/dev/null
run mark-reverted 003_email_idx
expect_status 0 "mark-reverted resolves it"
expect_eq "$(pg "SELECT count(*) FROM $S.retort_version_log WHERE revision = '003_email_idx' AND direction = 'mark-reverted'")" "1" \
    "the resolution is in the audit log"
sed -i '/users_bad/d' migrations/003_email_idx.sql
run upgrade
expect_status 0 "the corrected revision applies"
expect_eq "$(pg "SELECT count(*) FROM pg_indexes WHERE schemaname = '$S' AND indexname = 'users_email_ci'")" "1" \
    "CREATE INDEX CONCURRENTLY built the index"

# --- schema and test
run schema
expect_status 0 "schema succeeds"
expect_out "index users_email_ci on users" "schema lists the index"
run test
expect_status 0 "test passes on these migrations, on temporary schemas"
expect_eq "$(pg_applied)" "001_users 002_users_name 003_email_idx" "test left the database alone"

run downgrade base
expect_status 0 "downgrade base succeeds"
expect_eq "$(pg_applied)" "" "nothing remains applied"
expect_eq "$(pg_has_table users)" "0" "the tables are gone"

# --- waiting for the migration lock: a line every 5 s naming the holder
# (pid, application_name, client), then exit 6.  Migrator A holds retort's
# lock while its migration waits on an advisory lock a psql session holds;
# B waits for retort's lock and gives up.
cd "$TMP/w" && mkdir lockwait && cd lockwait && mkdir migrations || exit 1
L="${S}_lock"
pg "CREATE SCHEMA $L" >/dev/null
trap 'pg "DROP SCHEMA $S CASCADE" >/dev/null; pg "DROP SCHEMA $L CASCADE" >/dev/null; rm -rf "$TMP"' EXIT
printf -- '-- retort:up\nSELECT pg_advisory_lock(7770777);\nSELECT pg_advisory_unlock(7770777);\n-- retort:down\nSELECT 1;\n' \
    >migrations/001_gate.sql
LURL="postgresql:options='-csearch_path=$L'"
mkfifo "$TMP/gate_in" "$TMP/gate_out"
psql -XAtq -v ON_ERROR_STOP=1 <"$TMP/gate_in" >"$TMP/gate_out" 2>&1 &
exec 4>"$TMP/gate_in"
printf "SELECT 'held' FROM pg_advisory_lock(7770777);\n" >&4
read -r held <"$TMP/gate_out"
expect_eq "$held" "held" "a psql session holds the gate"
PGAPPNAME="$(printf 'holder_app\nforged')" "$RETORT" --url "$LURL" upgrade >"$TMP/a.out" 2>"$TMP/a.err" &
apid=$!
# A holds retort's lock once it waits on the gate: wait for that state.
n=0
while [ "$(pg "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7770777 AND NOT granted")" = 0 ] &&
    [ $n -lt 300 ]; do
    sleep 0.1
    n=$((n + 1))
done
run -v --url "$LURL" --set lock_timeout=5500 upgrade
expect_status 6 "a migrator that cannot take the lock exits 6"
expect_err "retort: info: waiting for the migration lock (5 s of 5 s): " "it says it waits, after 5 s"
expect_err "application 'holder_app?forged'" "naming the holder's application, control characters replaced"
expect_err "held by another session (pid " "and its pid"
expect_err "timed out after 5500 ms (lock_timeout)" "the timeout names the setting"
printf "SELECT pg_advisory_unlock(7770777);\n" >&4
exec 4>&-
wait $apid
expect_eq "$?" "0" "the holder finishes once the gate opens"
expect_eq "$(pg "SELECT string_agg(id, ' ') FROM $L.retort_version")" "001_gate" "and applied the revision once"

done_testing
