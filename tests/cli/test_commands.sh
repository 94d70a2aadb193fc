#!/bin/sh
# Every command of the retort command against SQLite, on one project taken
# from init to a merge and back, asserting output (golden where the output is
# the contract) and the database's end state.
. "$SRCDIR/lib.sh"

DB=app.db
export RETORT_DATABASE_URL="sqlite:$DB"

# --- init
run init
expect_status 0 "init succeeds in an empty directory"
[ -d migrations ] && [ -f migrations/template.sql.tmpl ] && [ -f retort.ini ] &&
    ok "init creates migrations/, the template and retort.ini" ||
    not_ok "init creates migrations/, the template and retort.ini"
expect_file_golden migrations/template.sql.tmpl template.sql.tmpl \
    "init writes the built-in SQL template"
snapshot before_reinit
run init
expect_status 1 "init refuses when retort.ini exists"
expect_err "retort.ini' already exists" "init names the existing file"
expect_unchanged before_reinit "a refused init changes nothing"

# --- revision
run revision -m "Create users table!"
expect_status 0 "revision succeeds"
expect_out "Created migrations/20240101100000_create_users_table.sql" \
    "revision names the file from the UTC time and a slug of the message"
expect_file_golden migrations/20240101100000_create_users_table.sql revision_root.sql \
    "revision fills the template (a root: empty parents)"
cat >migrations/20240101100000_create_users_table.sql <<'SQL'
-- retort:parents
-- retort:message create users table
-- retort:up
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
-- retort:down
DROP TABLE users;
SQL

SOURCE_DATE_EPOCH=1704106800 run revision -m "add email"
expect_status 0 "a second revision succeeds"
F2=migrations/20240101110000_add_email.sql
expect_file_golden $F2 revision_child.sql "a new revision is parented on the current head"
sed -i 's/^-- retort:up$/-- retort:up\nALTER TABLE users ADD COLUMN email TEXT;/' $F2
sed -i 's/^-- retort:down$/-- retort:down\nALTER TABLE users DROP COLUMN email;/' $F2

# --- heads, history before the database exists
run heads
expect_status 0 "heads succeeds"
expect_golden heads_linear.out "heads prints the single head"
[ ! -f $DB ] && ok "heads does not touch the database" || not_ok "heads does not touch the database"
run history --no-current
expect_golden history_linear.out "history --no-current prints newest first"
[ ! -f $DB ] && ok "history --no-current does not touch the database" ||
    not_ok "history --no-current does not touch the database"

# --- check before anything is applied
run check
expect_status 3 "check exits 3 while revisions are pending"
expect_err "pending" "check says revisions are pending"

# --- offline SQL
run upgrade --sql
expect_status 0 "upgrade --sql succeeds"
expect_out "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);" \
    "upgrade --sql prints the migrations' statements"
expect_out "20240101110000_add_email" "upgrade --sql covers every revision"
run downgrade --sql base
expect_status 2 "downgrade --sql without FROM:TO is a usage error"
expect_err "FROM:TO" "the usage error explains FROM:TO"
run downgrade --sql 20240101110000_add_email:base
expect_status 0 "downgrade --sql FROM:TO succeeds"
expect_out "DROP TABLE users;" "downgrade --sql prints the down statements"
expect_eq "$(sql $DB "SELECT count(*) FROM sqlite_master WHERE name LIKE 'retort_version%';")" \
    "$(if [ -f $DB ]; then echo 0; fi)" "check and offline SQL create no version table"

# --- upgrade
run upgrade
expect_status 0 "upgrade succeeds"
expect_golden upgrade_to_head.out "upgrade prints each applied revision and the new head"
expect_eq "$(applied $DB)" "20240101100000_create_users_table 20240101110000_add_email" \
    "upgrade records both revisions"
expect_eq "$(sql $DB "SELECT count(*) FROM pragma_table_info('users') WHERE name='email';")" "1" \
    "upgrade ran both migrations"
run upgrade
expect_status 0 "upgrade at head succeeds"
expect_out "Nothing to upgrade: at 20240101110000_add_email" "upgrade at head says so"

run current
expect_status 0 "current succeeds"
expect_golden current_head.out "current prints the applied head"
run -v current
expect_out "20240101110000_add_email (head), add email" "current -v marks the head and message"
run check
expect_status 0 "check exits 0 at head"

# A dirty database is shown, not hidden (made dirty by hand, as a
# non-transactional revision failing midway leaves it).
sql $DB "UPDATE retort_version SET state = 'dirty' WHERE id = '20240101110000_add_email';"
run current
expect_out "20240101110000_add_email" "current still prints the id on stdout"
expect_err "dirty" "current says the database is dirty"
expect_err "mark-applied|mark-reverted 20240101110000_add_email" "and how to resolve it"
run -v current
expect_out "20240101110000_add_email (head) (dirty), add email" "current -v marks the dirty revision"
sql $DB "UPDATE retort_version SET state = 'applied' WHERE id = '20240101110000_add_email';"

# --- downgrade -1, stamp
run downgrade -1
expect_status 0 "downgrade -1 succeeds"
expect_out "Reverted 20240101110000_add_email" "downgrade names the reverted revision"
expect_eq "$(applied $DB)" "20240101100000_create_users_table" "downgrade -1 reverts one revision"
expect_eq "$(sql $DB "SELECT count(*) FROM pragma_table_info('users') WHERE name='email';")" "0" \
    "downgrade ran the down step"
run stamp head
expect_status 0 "stamp head succeeds"
expect_eq "$(applied $DB)" "20240101100000_create_users_table 20240101110000_add_email" \
    "stamp records the head without running it"
expect_eq "$(sql $DB "SELECT count(*) FROM pragma_table_info('users') WHERE name='email';")" "0" \
    "stamp runs nothing"
run stamp 20240101100000_create_users_table
expect_status 0 "stamp to an id succeeds"
expect_eq "$(applied $DB)" "20240101100000_create_users_table" "stamp can move the state back"
run stamp nosuchrev
expect_status 1 "stamp to an unknown revision fails"
expect_eq "$(applied $DB)" "20240101100000_create_users_table" "a failed stamp changes nothing"
run upgrade
expect_status 0 "upgrade after stamp succeeds"

# --- a branch and a merge
SOURCE_DATE_EPOCH=1704110400 run revision -m "add posts" --parents 20240101100000_create_users_table
expect_status 0 "revision --parents makes a branch"
F3=migrations/20240101120000_add_posts.sql
sed -i 's/^-- retort:up$/-- retort:up\nCREATE TABLE posts (id INTEGER PRIMARY KEY);/' $F3
sed -i 's/^-- retort:down$/-- retort:down\nDROP TABLE posts;/' $F3
run heads
expect_golden heads_branched.out "heads lists both heads, sorted"
run upgrade
expect_status 1 "upgrade to head with two heads fails"
expect_err "20240101110000_add_email" "the error lists the heads"
run upgrade heads
expect_status 0 "upgrade heads applies every head"
SOURCE_DATE_EPOCH=1704114000 run revision -m "merge posts and email"
expect_status 0 "revision with two heads merges them"
expect_out "Merging heads: 20240101110000_add_email 20240101120000_add_posts" \
    "revision says it merges"
run history
expect_status 0 "history succeeds"
expect_golden history_merge.out \
    "history marks head, branch point, merge point and current, newest first"
run -v history
expect_out "Branches into: 20240101110000_add_email, 20240101120000_add_posts" \
    "history -v names a branch point's children"
run upgrade
expect_status 0 "upgrade through the merge succeeds"
run current
expect_golden current_merge.out "current prints the merge"

# --- show
run show head
expect_status 0 "show head succeeds"
expect_golden show_merge.out "show prints parents, children, kind, message and file"
run show nosuchrev
expect_status 1 "show of an unknown id fails"
expect_err "no revision 'nosuchrev'" "show names the missing id"

# --- check: a changed applied file
cp $F3 "$TMP/f3.bak"
sed -i 's/CREATE TABLE posts (id INTEGER PRIMARY KEY);/CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT);/' $F3
run check
expect_status 4 "check exits 4 when an applied file changed"
expect_err "20240101120000_add_posts" "check names the changed revision"
cp "$TMP/f3.bak" $F3
run check
expect_status 0 "check exits 0 again once the file is restored"

# --- downgrade to base
run downgrade base
expect_status 0 "downgrade base succeeds"
expect_eq "$(applied $DB)" "" "downgrade base reverts everything"
expect_eq "$(sql $DB "SELECT count(*) FROM sqlite_master WHERE name IN ('users','posts');")" "0" \
    "downgrade base drops every table"
run current
expect_eq "$(cat "$TMP/out")" "" "current prints nothing at base"

# --- mark-applied / mark-reverted
run mark-applied 20240101100000_create_users_table
expect_status 0 "mark-applied succeeds"
expect_eq "$(applied $DB)" "20240101100000_create_users_table" "mark-applied records the revision"
expect_eq "$(sql $DB "SELECT count(*) FROM sqlite_master WHERE name='users';")" "0" \
    "mark-applied runs nothing"
run mark-reverted 20240101100000_create_users_table
expect_status 0 "mark-reverted succeeds"
expect_eq "$(applied $DB)" "" "mark-reverted removes the row"
run mark-applied nosuchrev
expect_status 1 "mark-applied of an unknown id fails"
expect_err "nosuchrev" "the error names the id"

# --- -q
run -q upgrade
expect_status 0 "upgrade -q succeeds"
expect_eq "$(cat "$TMP/out")" "" "-q prints nothing on success"

done_testing
