#!/bin/sh
# Runs the startup example twice against a fresh database given only by its
# URL: an SQLite file, and (when a server is reachable) a PostgreSQL database
# of its own, proving the application runs unchanged on either backend.
# TAP output; the PostgreSQL half is skipped, with the reason, without PGHOST.
app=$1
tmp=$(mktemp -d) || exit 1
n=0
failed=0
check() { # check DESCRIPTION COMMAND...
    n=$((n + 1)); d=$1; shift
    if "$@" >"$tmp/out" 2>&1; then echo "ok $n - $d"; else
        failed=1; echo "not ok $n - $d"; sed 's/^/#   /' "$tmp/out"; fi
}
run_twice() { # run_twice URL LABEL
    check "$2: first start migrates to head" sh -c "\"$app\" \"$1\" | grep -q 'at 0004_users_plan_idx'"
    check "$2: second start finds it at head" sh -c "\"$app\" \"$1\" 2>&1 | grep -v 'applied' | grep -q 'at 0004_users_plan_idx'"
}
run_twice "sqlite:$tmp/app.db" sqlite
check "sqlite: the price list was seeded" sh -c "[ \"\$(sqlite3 '$tmp/app.db' 'SELECT count(*) FROM plans')\" = 3 ]"
if [ -n "${PGHOST:-}" ] && command -v psql >/dev/null 2>&1; then
    db="retort_startup_$$"
    psql -XAtq -c "CREATE DATABASE $db" >/dev/null 2>&1
    run_twice "postgresql:dbname=$db" postgresql
    check "postgresql: the price list was seeded" sh -c "[ \"\$(psql -XAtq -d $db -c 'SELECT count(*) FROM plans')\" = 3 ]"
    psql -XAtq -c "DROP DATABASE $db" >/dev/null 2>&1
else
    n=$((n + 1)); echo "ok $n - postgresql # SKIP no PostgreSQL server: ${RETORT_TEST_PG_SKIP:-PGHOST is not set}"
fi
echo "1..$n"
rm -rf "$tmp"
exit $failed
