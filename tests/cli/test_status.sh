#!/bin/sh
# The operator's read-only views: status (every revision's state, applied
# at, duration, checksum verdict), log (the audit log, filtered), the
# --dry-run plans of upgrade, downgrade and stamp, and their JSON forms
# (parsed with python3, not compared as text).  Timestamps and durations
# vary: they are normalised before comparing with golden files.
. "$SRCDIR/lib.sh"

DB=app.db
export RETORT_DATABASE_URL="sqlite:$DB"
mkdir migrations

m() { # m ID MESSAGE UP DOWN
    printf -- '-- retort:message %s\n-- retort:up\n%s\n-- retort:down\n%s\n' "$2" "$3" "$4" \
        >"migrations/$1.sql"
}
norm() { # timestamps and durations vary from run to run
    sed -e 's/[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9:.]*Z/TIME/g' -e 's/in [0-9]* ms/in N ms/g' \
        "$TMP/out" >"$TMP/out.norm" && mv "$TMP/out.norm" "$TMP/out"
}
json() { # json PYTHON-EXPRESSION-ON-d: evaluates it on stdout parsed as JSON
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$TMP/out"
}

m 001_a "create a" "CREATE TABLE a (x INTEGER);" "DROP TABLE a;"
m 002_b "create b" "CREATE TABLE b (x INTEGER);" "DROP TABLE b;"
m 003_c "create c" "CREATE TABLE c (x INTEGER);" "DROP TABLE c;"

# --- dry runs change nothing
run upgrade --dry-run
expect_status 0 "upgrade --dry-run succeeds"
expect_golden dry_run_upgrade.out "upgrade --dry-run prints the plan, Alembic-style"
expect_eq "$(sql $DB "SELECT count(*) FROM retort_version;" 2>/dev/null)" "" \
    "upgrade --dry-run creates no version table"
run upgrade 002_b --dry-run --format json
expect_status 0 "upgrade --dry-run --format json succeeds"
expect_eq "$(json "d['format'], [s['id'] for s in d['steps']], d['steps'][1]['parents']")" \
    "retort.plan/1 ['001_a', '002_b'] ['001_a']" "the JSON plan lists the steps with their parents"
run upgrade --format json
expect_status 2 "--format json without --dry-run on upgrade is a usage error"

run upgrade 002_b
expect_status 0 "upgrade to 002_b"
run downgrade base --dry-run
expect_status 0 "downgrade --dry-run succeeds"
expect_out "Would run downgrade 002_b -> 001_a (create b)" "downgrade --dry-run names each step, children first"
expect_out "Dry run: 2 revisions would be reverted; nothing was changed" "and says nothing changed"
expect_eq "$(applied $DB)" "001_a 002_b" "downgrade --dry-run reverted nothing"
run stamp base --dry-run
expect_status 0 "stamp --dry-run succeeds"
expect_out "Would stamp the database at base (now at 002_b)" "stamp --dry-run says what it would record"
expect_eq "$(applied $DB)" "001_a 002_b" "stamp --dry-run recorded nothing"

# --- status: applied, pending, edited, unknown, out of order
run status
expect_status 0 "status succeeds"
norm
expect_golden status_applied_pending.out "status lists applied and pending revisions with time, duration and checksum"
printf -- '-- retort:message create a\n-- retort:up\nCREATE TABLE a (x INTEGER, y INTEGER);\n-- retort:down\nDROP TABLE a;\n' \
    >migrations/001_a.sql
sql $DB "INSERT INTO retort_version (id, parents, message, state) VALUES ('999_gone', '002_b', 'from elsewhere', 'applied');"
m 0015_late "late" "CREATE TABLE late (x INTEGER);" "DROP TABLE late;"
# 0015_late sorts between 001_a and 002_b: its file names 001_a as parent,
# and 002_b is re-parented onto it, so 002_b (applied) descends from it.
printf -- '-- retort:parents 001_a\n-- retort:message late\n-- retort:up\nCREATE TABLE late (x INTEGER);\n-- retort:down\nDROP TABLE late;\n' \
    >migrations/0015_late.sql
printf -- '-- retort:parents 0015_late\n-- retort:message create b\n-- retort:up\nCREATE TABLE b (x INTEGER);\n-- retort:down\nDROP TABLE b;\n' \
    >migrations/002_b.sql
run status
expect_status 0 "status succeeds on a database needing attention"
norm
expect_golden status_attention.out "status shows edited, out-of-order and unknown revisions"
expect_err "3 revisions need attention" "status counts what needs attention on stderr"
run status --json
expect_status 0 "status --json succeeds"
expect_eq "$(json "d['format'], [(r['id'], r['state'], r['checksum']) for r in d['revisions']]")" \
    "retort.status/1 [('001_a', 'edited', 'edited'), ('0015_late', 'out-of-order', None), ('002_b', 'applied', 'ok'), ('003_c', 'pending', None), ('999_gone', 'unknown', None)]" \
    "status --json gives every revision's state and checksum verdict"
expect_eq "$(json "type(d['revisions'][0]['duration_ms']).__name__, d['revisions'][0]['applied_at'][:2], d['revisions'][3]['applied_at']")" \
    "int 20 None" "applied revisions carry applied_at and an integer duration; pending ones null"

# --- log: every attempt, filtered
rm -f $DB
m 001_a "create a" "CREATE TABLE a (x INTEGER);" "DROP TABLE a;"
rm migrations/0015_late.sql
m 002_b "create b" "CREATE TABLE b (x INTEGER);" "DROP TABLE b;"
m 003_c "broken" "INSERT INTO nope VALUES (1);" "SELECT 1;"
run upgrade
expect_status 9 "an upgrade failing at 003_c exits 9"
run log
expect_status 0 "log succeeds"
norm
expect_golden log_all.out "log lists every attempt, oldest first, with the error"
run log --outcome failed
expect_eq "$(cut -d' ' -f3- "$TMP/out")" "003_c up failed: statement failed: no such table: nope" \
    "log --outcome failed shows only the failure"
run log --revision 001_a
expect_eq "$(cut -d' ' -f3- "$TMP/out")" "001_a up ok" "log --revision shows only that revision"
run log --since 2999-01-01
expect_eq "$(cat "$TMP/out")" "" "log --since in the future shows nothing"
run log --since 2000-01-01 --json
expect_status 0 "log --json succeeds"
expect_eq "$(json "d['format'], [(e['seq'], e['revision'], e['outcome'], e['error'] is None) for e in d['entries']]")" \
    "retort.log/1 [(1, '001_a', 'ok', True), (2, '002_b', 'ok', True), (3, '003_c', 'failed', False)]" \
    "log --json gives every entry with its outcome and error"
run log --outcome maybe
expect_status 2 "log --outcome with another word is a usage error"

# --- JSON of current, heads and check (the database holds 001_a 002_b)
run current --format json
expect_status 0 "current --format json succeeds"
expect_eq "$(json "d['format'], [(x['id'], x['head'], x['dirty'], x['message']) for x in d['current']]")" \
    "retort.current/1 [('002_b', False, False, 'create b')]" "current --format json names each current revision"
run heads --json
expect_status 0 "heads --json succeeds"
expect_eq "$(json "d['format'], d['heads']")" "retort.heads/1 ['003_c']" "heads --json lists the heads"
run check --json
expect_status 3 "check --json keeps the exit status (3: pending)"
expect_eq "$(json "d['format'], d['ok'], d['exit_status'], d['code'], '003_c' in d['message']")" \
    "retort.check/1 False 3 pending True" "check --json says why"
run check --json --schema x.sql
expect_status 2 "check --json --schema is a usage error for now"

# --- repair: an applied file edited on purpose
rm -f $DB
m 003_c "create c" "CREATE TABLE c (x INTEGER);" "DROP TABLE c;"
run upgrade
expect_status 0 "upgrade to head"
m 002_b "create b" "CREATE TABLE b (x INTEGER); -- reviewed" "DROP TABLE b;"
run check
expect_status 4 "check exits 4 after an applied file was edited"
expect_err "retort repair 002_b" "the checksum error suggests retort repair"
old=$(sql $DB "SELECT checksum FROM retort_version WHERE id = '002_b';")
run repair --dry-run
expect_status 0 "repair --dry-run succeeds"
expect_eq "$(cat "$TMP/out")" "Would repair 002_b (re-record its checksum)
Dry run: nothing was changed" "repair --dry-run lists the edited revision"
expect_eq "$(sql $DB "SELECT checksum FROM retort_version WHERE id = '002_b';")" "$old" \
    "repair --dry-run changed no checksum"
run repair
expect_status 0 "repair succeeds"
expect_eq "$(cat "$TMP/out")" "Repaired 002_b: its current text is recorded as applied" "repair names what it repaired"
expect_eq "$([ "$(sql $DB "SELECT checksum FROM retort_version WHERE id = '002_b';")" != "$old" ] && echo changed)" \
    "changed" "the version row holds the new checksum"
run check
expect_status 0 "check passes after repair"
run log --revision 002_b
expect_out "002_b repair ok: checksum re-recorded: " "the repair is in the audit log, with both checksums"
run repair
expect_eq "$(cat "$TMP/out")" "Nothing to repair: no applied migration's file changed" "a second repair finds nothing"
run repair 003_nope
expect_status 1 "repair of an unknown revision fails"
expect_err "not registered" "and says so"

# --- redo: the current revision down and up again
run redo
expect_status 0 "redo succeeds"
expect_eq "$(cat "$TMP/out")" "Reverted 003_c
Applied 003_c
Now at 003_c" "redo reverts and re-applies the current revision"
expect_eq "$(sql $DB "SELECT direction || ':' || outcome FROM retort_version_log WHERE revision = '003_c' ORDER BY seq;" | tail -2 | tr '\n' ' ')" \
    "down:ok up:ok " "the audit log holds both steps"
run downgrade base
run redo
expect_status 1 "redo at base fails"
expect_err "at base: nothing to redo" "saying there is nothing to redo"

# --- did you mean
run upgarde
expect_status 2 "a misspelt command is a usage error"
expect_err "unknown command 'upgarde'; did you mean 'upgrade'?" "naming the closest command"
run upgrade --dryrun
expect_err "unknown option '--dryrun'; did you mean '--dry-run'?" "and the closest option"
run help hisotry
expect_err "did you mean 'history'?" "help names the closest command too"
run upgrade 003_cc
expect_status 1 "an unknown revision id fails"
expect_err "unknown target '003_cc'" "naming it"
expect_err "did you mean '003_c'?" "and the closest registered revision"
run downgrade 01_a
expect_err "did you mean '001_a'?" "downgrade names the closest revision too"
run stamp "001_a 002_bx"
expect_err "did you mean '002_b'?" "stamp names the closest revision to the unknown one of its list"
run show 002_bb
expect_status 1 "show of an unknown revision fails"
expect_err "did you mean '002_b'?" "and names the closest revision"
run history -r 001_ab:
expect_err "did you mean '001_a'?" "history -r names the closest revision"
run mark-applied 003_x
expect_err "did you mean '003_c'?" "mark-applied names the closest revision"
run upgrade zzzzzz
expect_status 1 "a revision id like none fails"
if grep -q "did you mean" "$TMP/err"; then
    not_ok "and suggests nothing" "$(cat "$TMP/err")"
else
    ok "and suggests nothing"
fi

# --- on a terminal: one compact [i/n] line per step, with elapsed time
if command -v script >/dev/null 2>&1; then
    script -qec "\"$RETORT\" upgrade" /dev/null >"$TMP/tty" 2>&1
    expect_eq "$(grep -c '\[1/3\] Running upgrade base -> 001_a (create a)' "$TMP/tty")" "1" \
        "a terminal sees each step announced as [i/n] before it runs"
    expect_eq "$(tr '\r' '\n' <"$TMP/tty" | grep -c '\[3/3\] Applied 003_c in [0-9]* ms (elapsed [0-9.]* s)')" "1" \
        "and its outcome, duration and the elapsed time on the same line"
    expect_eq "$(applied $DB)" "001_a 002_b 003_c" "the terminal run applied everything"
else
    ok "# SKIP script(1) is not installed"
fi

done_testing
