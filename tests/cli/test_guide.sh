#!/bin/sh
# Runs the shell sessions of doc/GUIDE.md marked "<!-- guide-test: NAME -->"
# line for line (with `retort` being the built command) and asserts the
# database's end state, so the guide's examples cannot rot.
. "$SRCDIR/lib.sh"

GUIDE="$SRCDIR/../../doc/GUIDE.md"
export RETORT_DATABASE_URL="sqlite:app.db"
mkdir -p "$TMP/bin"
ln -s "$RETORT" "$TMP/bin/retort"
PATH="$TMP/bin:$PATH"

awk '/<!-- guide-test: branches -->/ { on = 1; next }
     /<!-- end guide-test -->/ { on = 0 }
     on && !/^```/ { print }' "$GUIDE" >"$TMP/branches.sh"
[ -s "$TMP/branches.sh" ] && ok "the guide has the branches session" ||
    not_ok "the guide has the branches session"
SOURCE_DATE_EPOCH=1704103200 sh -e "$TMP/branches.sh" >"$TMP/out" 2>"$TMP/err"
status=$?
expect_status 0 "the branches session of the guide runs"
expect_eq "$(applied app.db)" "001_app 002_billing 20240101100000_join_billing" \
    "the database ends at the merge, with both modules applied"
expect_eq "$(sql app.db "SELECT name FROM sqlite_master WHERE name = 'invoices'")" "invoices" \
    "the billing module's table exists"
grep -q "INSERT INTO \"retort_version\".*002_billing" stamp.sql &&
    ok "the offline stamp script records the billing branch" ||
    not_ok "the offline stamp script records the billing branch"

done_testing
