#!/bin/sh
# Configuration precedence: flags > environment > retort.ini > defaults, and
# retort.ini errors named by file:line.
. "$SRCDIR/lib.sh"

mkdir m1 m2 m3
for d in m1 m2 m3; do
    printf -- '-- retort:up\nCREATE TABLE %s (x INTEGER);\n-- retort:down\nDROP TABLE %s;\n' $d $d \
        >$d/001_$d.sql
done
cat >retort.ini <<'INI'
# comment
[other]
whatever = ignored
[retort]
url = sqlite:ini.db
dir = m1
INI

tables() { sql "$1" "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'retort%' ORDER BY name);"; }

run upgrade
expect_status 0 "retort.ini supplies url and dir"
expect_eq "$(tables ini.db)" "m1" "the ini's url and dir are used"

RETORT_DATABASE_URL=sqlite:env.db RETORT_DIR=m2 run upgrade
expect_status 0 "the environment overrides retort.ini"
expect_eq "$(tables env.db)" "m2" "RETORT_DATABASE_URL and RETORT_DIR win over the ini"

RETORT_DATABASE_URL=sqlite:env.db RETORT_DIR=m2 run --url sqlite:flag.db --dir m3 upgrade
expect_status 0 "flags override the environment"
expect_eq "$(tables flag.db)" "m3" "--url and --dir win over the environment"
expect_eq "$(tables env.db)" "m2" "the environment's database is untouched"

RETORT_DATABASE_URL= RETORT_DIR= run heads
expect_eq "$(cat "$TMP/out")" "001_m1" "an empty environment variable counts as unset"

# The default: no ini, no environment, no flags.
mkdir sub && cd sub && mkdir migrations
printf -- '-- retort:up\nCREATE TABLE d (x INTEGER);\n' >migrations/001_d.sql
run upgrade
expect_status 0 "defaults: ./migrations and sqlite:retort.db"
expect_eq "$(tables retort.db)" "d" "the default database is retort.db"
cd ..

# --config and RETORT_CONFIG; dir relative to the ini file.
mkdir -p conf/mig
printf -- '-- retort:up\nCREATE TABLE c (x INTEGER);\n' >conf/mig/001_c.sql
printf '[retort]\nurl = sqlite:conf.db\ndir = mig\n' >conf/app.ini
run --config conf/app.ini upgrade
expect_status 0 "--config names the ini"
expect_eq "$(tables conf.db)" "c" "dir in the ini is relative to the ini file"
RETORT_CONFIG=conf/app.ini run heads
expect_eq "$(cat "$TMP/out")" "001_c" "RETORT_CONFIG names the ini"
RETORT_CONFIG=conf/app.ini run --config retort.ini heads
expect_eq "$(cat "$TMP/out")" "001_m1" "--config wins over RETORT_CONFIG"
run --config nope.ini heads
expect_status 1 "a named configuration file must exist"
expect_err "configuration file 'nope.ini' (from --config) does not exist" "the message names it"

# Settings reach the library.
printf '[retort]\nurl = sqlite:vt.db\ndir = m1\nversion_table = my_versions\n' >vt.ini
run --config vt.ini upgrade
expect_status 0 "version_table from the ini"
expect_eq "$(sql vt.db "SELECT id FROM my_versions;")" "001_m1" "the ini's version_table is used"

# Errors name file:line and change nothing.
bad_ini() { # DESCRIPTION EXPECTED-MESSAGE CONTENT
    printf "$3" >bad.ini
    snapshot before
    run --config bad.ini upgrade
    expect_status 1 "$1 exits 1"
    expect_err "$2" "$1: the message names file:line"
    expect_unchanged before "$1: nothing changes"
}
bad_ini "an unknown key" "bad.ini:3: unknown key in [retort] (known: url," '[retort]\ndir = m1\ncolour = blue\n'
bad_ini "a mistyped key" "bad.ini:3: unknown key in [retort]; did you mean 'schema'?" '[retort]\ndir = m1\nschemma = x\n'
bad_ini "a key set twice" "bad.ini:3: 'dir' is set twice (first on line 2)" '[retort]\ndir = m1\ndir = m2\n'
bad_ini "a line without =" "bad.ini:2: expected 'key = value'" '[retort]\njunk\n'
bad_ini "a key outside a section" "bad.ini:1: 'dir' is outside any section" 'dir = m1\n'
bad_ini "a bad section header" "bad.ini:1: malformed section header" '[retort\n'
bad_ini "a bad setting value" "bad.ini:3:" '[retort]\ndir = m1\nlock_timeout = soon\n'
bad_ini "a bad transaction mode" "bad.ini:3:" '[retort]\ndir = m1\ntransaction_mode = sometimes\n'

# -q / -v outrank the ini's log_level.
printf '[retort]\nurl = sqlite:ll.db\ndir = m1\nlog_level = debug\n' >ll.ini
run --config ll.ini -q upgrade
expect_eq "$(cat "$TMP/err")" "" "-q silences the log even with log_level = debug"

# Passwords are never echoed.
run --url 'postgresql://alice:s3cret@127.0.0.1:1/db' --dir m1 current
expect_status 7 "an unreachable server fails with exit status 7 (connection, retryable)"
if grep -q s3cret "$TMP/out" "$TMP/err"; then
    not_ok "the password never appears in the output"
else
    ok "the password never appears in the output"
fi

# A retort.ini saved with a UTF-8 byte order mark reads like one without.
printf '\357\273\277[retort]\nurl = sqlite:bom.db\ndir = m1\n' >bom.ini
run --config bom.ini upgrade
expect_status 0 "an ini starting with a UTF-8 BOM is accepted"
expect_eq "$(sql bom.db "SELECT id FROM retort_version;")" "001_m1" "the BOM ini's url and dir are used"

# A file added out of order (sorting before applied ones) is refused by
# default, and applied with --allow-out-of-order, RETORT_ALLOW_OUT_OF_ORDER or
# the ini's allow_out_of_order.
ooo_setup() { # DB
    rm -rf ooo && mkdir ooo
    printf -- '-- retort:up\nCREATE TABLE a (x INTEGER);\n' >ooo/001_a.sql
    printf -- '-- retort:up\nCREATE TABLE c (x INTEGER);\n' >ooo/003_c.sql
    run --url "sqlite:$1" --dir ooo upgrade
    printf -- '-- retort:up\nCREATE TABLE b (x INTEGER);\n' >ooo/002_b.sql
}
ooo_setup ooo1.db
run --url sqlite:ooo1.db --dir ooo upgrade
expect_status 1 "upgrade refuses a file added out of order"
expect_err "'002_b' (before applied '003_c')" "the message names the file's revision and the applied one"
expect_err "--allow-out-of-order" "the message says how to apply it anyway"
expect_eq "$(sql ooo1.db "SELECT count(*) FROM sqlite_master WHERE name = 'b';")" "0" "nothing ran"
run --url sqlite:ooo1.db --dir ooo check
expect_status 1 "check refuses it too"
expect_err "out of order" "check says why"
run --url sqlite:ooo1.db --dir ooo upgrade --allow-out-of-order
expect_status 0 "--allow-out-of-order applies it"
expect_err "out of order" "and warns that it did"
expect_eq "$(sql ooo1.db "SELECT id FROM retort_version ORDER BY id;" | tr '\n' ' ')" "001_a 002_b 003_c " "all three are recorded"
run --url sqlite:ooo1.db --dir ooo current
expect_eq "$(cat "$TMP/out")" "003_c" "current shows one head"
ooo_setup ooo2.db
RETORT_ALLOW_OUT_OF_ORDER=1 run --url sqlite:ooo2.db --dir ooo upgrade
expect_status 0 "RETORT_ALLOW_OUT_OF_ORDER=1 applies it"
ooo_setup ooo3.db
printf '[retort]\nurl = sqlite:ooo3.db\ndir = ooo\nallow_out_of_order = true\n' >ooo.ini
run --config ooo.ini upgrade
expect_status 0 "allow_out_of_order = true in retort.ini applies it"
RETORT_ALLOW_OUT_OF_ORDER=maybe run --url sqlite:ooo3.db --dir ooo current
expect_status 1 "a malformed RETORT_ALLOW_OUT_OF_ORDER is refused"
expect_err "RETORT_ALLOW_OUT_OF_ORDER" "naming it"

# The ini is a regular file: /dev/zero (one endless line) is refused.
timeout 20 "$RETORT" --config /dev/zero current >"$TMP/out" 2>"$TMP/err"
status=$?
expect_status 1 "--config /dev/zero is refused at once"
expect_err "'/dev/zero' is not a regular file" "naming it"

# --- every setting from --set, RETORT_<NAME> and retort.ini, one precedence
cd "$TMP/w" && rm -rf setp && mkdir -p setp/migrations && cd setp || exit 1
printf -- '-- retort:up\nCREATE TABLE s (x INTEGER);\n-- retort:down\nDROP TABLE s;\n' >migrations/001_s.sql
printf '[retort]\nurl = sqlite:set.db\nversion_table = from_ini\n' >retort.ini
run upgrade
expect_eq "$(sql set.db "SELECT name FROM sqlite_master WHERE name LIKE 'from_%' AND type = 'table' ORDER BY name;" | tr '\n' ' ')" \
    "from_ini from_ini_log " "retort.ini's version_table is used"
RETORT_VERSION_TABLE=from_env run stamp head
expect_eq "$(sql set.db "SELECT count(*) FROM from_env;")" "1" "RETORT_VERSION_TABLE outranks retort.ini"
RETORT_VERSION_TABLE=from_env run --set version_table=from_flag stamp head
expect_eq "$(sql set.db "SELECT count(*) FROM from_flag;")" "1" "--set outranks the environment"
run --set lock_timeout=soon current
expect_status 1 "a bad --set value fails"
expect_err "--set lock_timeout=soon" "naming the flag as given"
run --set nonsense current
expect_status 1 "--set without = fails"
expect_err "expected NAME=VALUE" "saying what it expects"
RETORT_CHECKSUM_POLICY=sometimes run current
expect_status 1 "a bad RETORT_<NAME> value fails"
expect_err "RETORT_CHECKSUM_POLICY" "naming the variable"
# tolerate_unknown from the command line, and advice in command syntax
sql set.db "INSERT INTO from_ini (id, state) VALUES ('999_newer', 'applied');"
run upgrade
expect_status 1 "a revision the directory does not know is refused"
expect_err "pass --set tolerate_unknown=true to accept that" "the advice is command syntax"
expect_eq "$(grep -c 'set tolerate_unknown to' "$TMP/err")" "0" "not the library's"
run --set tolerate_unknown=true upgrade
expect_status 0 "--set tolerate_unknown=true accepts it"
RETORT_TOLERATE_UNKNOWN=1 run upgrade
expect_status 0 "so does RETORT_TOLERATE_UNKNOWN=1"

done_testing
