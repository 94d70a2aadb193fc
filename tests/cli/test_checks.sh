#!/bin/sh
# `retort schema` and `retort test`: the snapshot printed for a migrated
# database, and the ready-made checks catching real mistakes (a downgrade
# that forgets an index, a second head) without touching the database.
. "$SRCDIR/lib.sh"

DB=app.db
export RETORT_DATABASE_URL="sqlite:$DB"
run init
mkdir -p migrations
cat >migrations/001_users.sql <<'SQL'
-- retort:message users
-- retort:up
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);
-- retort:down
DROP TABLE users;
SQL
cat >migrations/002_users_email_idx.sql <<'SQL'
-- retort:message index users by email
-- retort:up
CREATE INDEX users_email_idx ON users (email);
-- retort:down
DROP INDEX users_email_idx;
SQL

# --- test: a sound history passes every check, and the database is untouched
run test
expect_status 0 "test passes on sound migrations"
expect_eq "$(cat "$TMP/out")" "ok single-head
ok upgrade
ok stairway
ok downgrade" "test reports each check"
[ ! -f "$DB" ] && ok "test never touches the configured database" ||
    not_ok "test never touches the configured database" "$DB exists"

# --- schema: the canonical description of the migrated database
run upgrade
expect_status 0 "upgrade succeeds"
run schema
expect_status 0 "schema succeeds"
expect_eq "$(cat "$TMP/out")" "column users.email text not null
column users.id integer
index users_email_idx on users (email)
primary key users (id)
table users
unique users (email)" "schema prints sorted canonical lines without the version table"

# --- a downgrade that forgets its index is named by stairway and downgrade
sed -i 's/^DROP INDEX users_email_idx;$/SELECT 1;/' migrations/002_users_email_idx.sql
run test stairway
expect_status 1 "stairway fails when a downgrade does not reverse its upgrade"
expect_out "FAIL stairway" "stairway reports the failure"
expect_out "002_users_email_idx" "stairway names the revision at fault"
expect_out "users_email_idx" "stairway names what the downgrade left behind"
run test downgrade
expect_status 1 "downgrade fails when a downgrade leaves something behind"
expect_out "002_users_email_idx" "downgrade names the revision at fault"
restore_index_drop() {
    sed -i 's/^SELECT 1;$/DROP INDEX users_email_idx;/' migrations/002_users_email_idx.sql
}
restore_index_drop

# --- a second head fails single-head, naming both
cat >migrations/003_branch.sql <<'SQL'
-- retort:parents 001_users
-- retort:up
CREATE TABLE audit (id INTEGER);
-- retort:down
DROP TABLE audit;
SQL
run test single-head
expect_status 1 "single-head fails with two heads"
expect_out "002_users_email_idx" "single-head names the first head"
expect_out "003_branch" "single-head names the second head"

# --- bad check names are usage errors
run test nosuch
expect_status 2 "an unknown check is a usage error"
expect_err "unknown check 'nosuch'" "the usage error names the check"

# --- test templates: a directory test URL holds them; --drop-templates names them
rm migrations/003_branch.sql
mkdir "$TMP/scratch"
run test upgrade --test-url "sqlite:$TMP/scratch/"
expect_status 0 "checks run on fresh targets in the --test-url directory"
expect_eq "$(ls "$TMP/scratch" | grep -c '^retort-fresh-')" "0" "every fresh target file was removed"
printf '\ntest_url = sqlite:%s/scratch/\n' "$TMP" >>retort.ini
run upgrade
expect_status 0 "upgrade of the real database is unaffected by test_url"
run test --drop-templates
expect_status 0 "test --drop-templates succeeds when there is nothing to drop"
expect_out "no test templates" "and says so"
touch "$TMP/scratch/retort-tpl-0000aaaa_000000000000000000000000.db"
RETORT_TEST_DATABASE_URL="sqlite:$TMP/scratch/" run test --drop-templates
expect_status 0 "test --drop-templates drops the templates of the test URL's directory"
expect_out "dropped retort-tpl-0000aaaa_000000000000000000000000.db" "naming each"
expect_eq "$(ls "$TMP/scratch" | grep -c '^retort-tpl-')" "0" "the directory holds no template"
run test --drop-templates upgrade
expect_status 2 "--drop-templates with a CHECK is a usage error"

# --- an irreversible revision is where the stairway stops, not a failure
rm -f migrations/template.sql.tmpl
cat >migrations/003_audit.sql <<'SQL'
-- retort:message audit, kept for ever
-- retort:up
CREATE TABLE audit (id INTEGER);
SQL
cat >migrations/004_notes.sql <<'SQL'
-- retort:up
CREATE TABLE notes (id INTEGER);
-- retort:down
DROP TABLE notes;
SQL
run test
expect_status 0 "test passes on a project with an irreversible revision"
expect_eq "$(cat "$TMP/out")" "ok single-head
ok upgrade
ok stairway: stopped at 003_audit, which is irreversible (no down step); the 2 revisions below it were checked
skip downgrade: 003_audit is irreversible (no down step), so base cannot be reached" \
    "test says where the stairway stopped and why"
expect_err "--strict" "and how to make it a failure"
sed -i 's/^DROP INDEX users_email_idx;$/SELECT 1;/' migrations/002_users_email_idx.sql
run test stairway
expect_status 1 "the stairway still checks the revisions below the irreversible one"
expect_out "FAIL stairway" "and fails on a downgrade there that does not reverse its upgrade"
expect_out "002_users_email_idx" "naming it"
restore_index_drop
run test stairway downgrade --strict
expect_status 1 "test --strict fails on an irreversible revision"
expect_out "FAIL stairway" "the stairway fails"
expect_out "FAIL downgrade" "the downgrade fails"
expect_out "003_audit" "naming the irreversible revision"
run test --strict --drop-templates
expect_status 2 "--strict with --drop-templates is a usage error"

done_testing
