#!/bin/sh
# Alembic's branch features through the command (issue 16): branch-labels and
# depends-on headers, heads --resolve-dependencies, branches, LABEL@head,
# stamp --purge and --sql, merge, and the several-heads error; asserting the
# database's end state with the sqlite3 shell.
. "$SRCDIR/lib.sh"

DB=app.db
export RETORT_DATABASE_URL="sqlite:$DB"
mkdir migrations
cat >migrations/001_core.sql <<'SQL'
-- retort:up
CREATE TABLE core (x INTEGER);
-- retort:down
DROP TABLE core;
SQL
cat >migrations/002_net.sql <<'SQL'
-- retort:parents 001_core
-- retort:branch-labels networking
-- retort:up
CREATE TABLE net (x INTEGER);
-- retort:down
DROP TABLE net;
SQL
cat >migrations/003_shop.sql <<'SQL'
-- retort:parents 001_core
-- retort:depends-on networking
-- retort:up
CREATE TABLE shop (x INTEGER);
-- retort:down
DROP TABLE shop;
SQL

run heads
expect_eq "$(cat "$TMP/out")" "002_net
003_shop" "heads ignores depends-on: a dependency with no child stays a head"
run heads --resolve-dependencies
expect_eq "$(cat "$TMP/out")" "003_shop" "heads --resolve-dependencies counts it as a parent"
run branches
expect_eq "$(cat "$TMP/out")" "001_core (branchpoint), core
  -> 002_net (networking), net
  -> 003_shop, shop" "branches lists the branch point, its children and their labels"

run upgrade
expect_status 1 "upgrade to head with two heads fails"
expect_err "retort merge" "the several-heads error says how to merge"
expect_err "LABEL@head" "and how to target one branch"
expect_eq "$(applied $DB)" "" "nothing was applied"

run upgrade 003
expect_status 0 "a unique prefix is a target, applying its dependency first"
expect_eq "$(applied $DB)" "001_core 002_net 003_shop" "003_shop and what it requires are applied"

run downgrade networking@base
expect_status 0 "downgrade networking@base succeeds"
expect_eq "$(applied $DB)" "001_core" "the branch and its dependent are reverted"

run history --no-current
expect_out "001_core -> 002_net (networking) (head)" "history shows the branch label"
run history --no-current -r 001:002
expect_eq "$(cat "$TMP/out")" "001_core -> 002_net (networking) (head), net
<base> -> 001_core (branchpoint), core" "history -r A:B prints only the revisions between them"
run history --no-current -r 9:
expect_status 1 "history -r with an unknown revision fails"
run show 003_shop
expect_out "Depends on: networking" "show prints depends_on"
run status
expect_out "002_net  (branch: networking)" "status prints the branch label"
expect_out "003_shop  depends on: networking" "status prints depends_on"

sqlite3 -batch $DB "INSERT INTO retort_version (id, parents) VALUES ('zz_unknown', '')"
run stamp 002_net
expect_status 1 "a plain stamp refuses a database holding an unknown revision"
run stamp --purge 002_net
expect_status 0 "stamp --purge succeeds"
expect_eq "$(applied $DB)" "001_core 002_net" "purge removed the unknown row and stamped"
expect_eq "$(sql $DB "SELECT COUNT(*) FROM retort_version_log WHERE revision = 'zz_unknown'")" \
    "1" "the purge is in the audit log"

run stamp --sql "002_net:003_shop"
expect_status 0 "stamp --sql FROM:TO prints a script"
sqlite3 -batch $DB <"$TMP/out" && ok "the script runs" || not_ok "the script runs"
expect_eq "$(applied $DB)" "001_core 002_net 003_shop" "the script stamped the target"
expect_eq "$(sql $DB "SELECT name FROM sqlite_master WHERE name = 'shop'")" "" \
    "stamping ran no migration"

run revision -m "net two" --head networking@head --depends-on 003 --rev-id 004_net2
expect_status 0 "revision --head LABEL@head --depends-on PREFIX succeeds"
expect_eq "$(sed -n '1,2p' migrations/004_net2.sql)" "-- retort:parents 002_net
-- retort:depends-on 003_shop" "it builds on the branch head and depends on the full id"
run revision -m "side" --head 001_core --rev-id 005_side
expect_status 1 "revision --head of a revision that is not a head is refused"
expect_err "--splice" "the refusal names --splice"
run revision -m "side" --head 001 --splice --branch-label side --rev-id 005_side
expect_status 0 "revision --head ID --splice starts a new branch"
expect_eq "$(sed -n '1,2p' migrations/005_side.sql)" "-- retort:parents 001_core
-- retort:branch-labels side" "the new branch has its label"
run heads
expect_eq "$(cat "$TMP/out")" "003_shop
004_net2
005_side" "three heads now"

run merge -m "join"
expect_status 0 "merge writes a merge revision"
expect_out "Created migrations/" "merge names the file"
run heads
expect_eq "$(cat "$TMP/out" | wc -l | tr -d ' ')" "1" "after merge there is one head"

# C migrations: the same headers as "// retort:" lines, registered by the
# generated index.
mkdir cm
run --dir cm revision --lang c -m core --rev-id c1
run --dir cm revision --lang c -m net --head base --branch-label networking --depends-on c1 \
    --rev-id n1
expect_status 0 "revision --lang c --branch-label --depends-on succeeds"
expect_eq "$(sed -n '1,3p' cm/n1.c)" "// retort:parents
// retort:branch-labels networking
// retort:depends-on c1" "the C migration carries the headers"
grep -q 'retort_revision_set_branch_labels(r, "n1", "networking")' cm/retort_migrations.c &&
    grep -q 'retort_revision_set_depends_on(r, "n1", "c1")' cm/retort_migrations.c &&
    ok "the generated index registers the label and the dependency" ||
    not_ok "the generated index registers the label and the dependency"

done_testing
