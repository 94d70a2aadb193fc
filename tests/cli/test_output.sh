#!/bin/sh
# What upgrade and downgrade print is what this process did, not what it
# planned: one "Applied ID" / "Reverted ID" line per step it committed, as
# it commits (from the library's step events), "Running ..." before each
# step at -v, the revisions applied before a failure, and across concurrent
# runs exactly one "Applied" line per revision in total.
. "$SRCDIR/lib.sh"

DB=app.db
export RETORT_DATABASE_URL="sqlite:$DB"
mkdir migrations

m() { # m ID MESSAGE UP DOWN
    printf -- '-- retort:message %s\n-- retort:up\n%s\n-- retort:down\n%s\n' "$2" "$3" "$4" \
        >"migrations/$1.sql"
}

# --- a failure midway says which revisions did apply
m 001_a "create a" "CREATE TABLE a (x INTEGER);" "DROP TABLE a;"
m 002_b "create b" "CREATE TABLE b (x INTEGER);" "DROP TABLE b;"
m 003_c "broken" "CREATE TABLE c (x INTEGER); INSERT INTO nope VALUES (1);" "DROP TABLE c;"
run upgrade
expect_status 9 "an upgrade failing at its third revision fails with exit status 9 (a migration failed)"
expect_eq "$(cat "$TMP/out")" "Applied 001_a
Applied 002_b" "it printed the two revisions it did apply, and only those"
expect_err "003_c" "the error names the revision that failed"
expect_eq "$(applied $DB)" "001_a 002_b" "the database holds exactly what was printed"

# --- whole-run mode: a failure rolls everything back, so nothing is "Applied"
run downgrade base
expect_status 0 "downgrade base succeeds"
expect_eq "$(cat "$TMP/out")" "Reverted 002_b
Reverted 001_a
Now at base" "downgrade prints each reverted revision, children first"
printf '[retort]\ntransaction_mode = whole-run\n' >whole.ini
run --config whole.ini upgrade
expect_status 9 "a whole-run upgrade failing at its third revision fails with exit status 9"
expect_eq "$(grep -c Applied "$TMP/out")" "0" "it prints no Applied line: the whole run rolled back"
expect_eq "$(applied $DB)" "" "and the database holds nothing"

# --- -v: a line before each step
m 003_c "create c" "CREATE TABLE c (x INTEGER);" "DROP TABLE c;"
run -v upgrade
expect_status 0 "upgrade -v succeeds"
expect_out "Running upgrade base -> 001_a (create a)" "-v announces the root before it runs"
expect_out "Running upgrade 001_a -> 002_b (create b)" "-v announces each step with its parent"
expect_eq "$(grep -v '^retort: ' "$TMP/out" | grep -n . | grep -E 'Running upgrade 002_b|Applied 003_c' | cut -d: -f1 | tr '\n' ' ')" \
    "5 6 " "the announcement comes before the Applied line"
run -v downgrade 001_a
expect_out "Running downgrade 003_c -> 002_b (create c)" "-v announces a downgrade step"
expect_out "Reverted 002_b" "downgrade -v names what it reverted"

# --- at target: nothing applied, nothing claimed
run upgrade
run upgrade
expect_status 0 "upgrade at head succeeds"
expect_eq "$(cat "$TMP/out")" "Nothing to upgrade: at 003_c" "upgrade at head claims nothing"

# --- four concurrent upgrades: one Applied line per revision in total
run downgrade base
i=4
while [ $i -le 20 ]; do
    id=$(printf '%03d_t' $i)
    m "$id" "table $i" "CREATE TABLE t$i (x INTEGER); INSERT INTO t$i VALUES ($i);" "DROP TABLE t$i;"
    i=$((i + 1))
done
for p in 1 2 3 4; do
    "$RETORT" upgrade >"$TMP/out$p" 2>"$TMP/err$p" &
done
fails=0
for p in 1 2 3 4; do
    wait %$p 2>/dev/null || true
done
for p in 1 2 3 4; do
    [ -s "$TMP/err$p" ] && fails=$((fails + 1)) && sed 's/^/#   stderr: /' "$TMP/err$p"
done
expect_eq "$fails" "0" "four concurrent upgrades all succeed"
expect_eq "$(cat "$TMP/out1" "$TMP/out2" "$TMP/out3" "$TMP/out4" | grep -c '^Applied ')" "20" \
    "together they print 20 Applied lines for 20 revisions"
expect_eq "$(cat "$TMP/out1" "$TMP/out2" "$TMP/out3" "$TMP/out4" | grep '^Applied ' | sort | uniq -d)" "" \
    "no revision is claimed twice"
expect_eq "$(sql $DB "SELECT count(*) FROM retort_version;")" "20" "all 20 are recorded"

# --- exit status 6: a lock timeout is told apart from a real failure
# (retryable).  A second connection holds SQLite's write lock, and says so
# before the command starts.
mkfifo "$TMP/lk_in" "$TMP/lk_out"
sqlite3 $DB <"$TMP/lk_in" >"$TMP/lk_out" &
exec 3>"$TMP/lk_in"
printf "BEGIN IMMEDIATE;\nSELECT 'locked';\n" >&3
read -r locked <"$TMP/lk_out"
expect_eq "$locked" "locked" "a second connection holds the write lock"
printf '[retort]\nlock_timeout = 100\n' >lock.ini
run --config lock.ini downgrade base
expect_status 6 "a lock timeout exits 6"
expect_err "busy timeout of 100 ms" "the message says which timeout expired"
exec 3>&-
wait
expect_eq "$(sql $DB "SELECT count(*) FROM retort_version;")" "20" "the timed-out downgrade changed nothing"

done_testing
