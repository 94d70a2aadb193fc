#!/bin/sh
# `retort revision` and `retort index`: file names, parents, templates, the C
# flow with its generated index; errors leave the directory as it was.
. "$SRCDIR/lib.sh"

mkdir migrations
run revision -m "  Add: the USERS table (v2)!  "
expect_out "migrations/20240101100000_add_the_users_table_v2.sql" "the slug is lowercase words joined by _"
grep -q '^-- retort:message Add: the USERS table (v2)!$' migrations/20240101100000_add_the_users_table_v2.sql &&
    ok "the message is kept, trimmed" || not_ok "the message is kept, trimmed"

run revision -m "this message is much longer than any file name should ever be" --rev-id x
expect_out "migrations/x.sql" "--rev-id replaces the generated id"
rm migrations/x.sql
SOURCE_DATE_EPOCH=1704106800 run revision -m "this message is much longer than any file name should ever be"
expect_out "migrations/20240101110000_this_message_is_much_longer_than_any.sql" \
    "a long slug is cut at a word boundary"
SOURCE_DATE_EPOCH=1704106800 run revision -m "!!!"
expect_out "migrations/20240101110000_revision.sql" "a message without letters gives the slug 'revision'"

snapshot before
SOURCE_DATE_EPOCH=1704106800 run revision -m "!!!"
expect_status 1 "the same id twice fails"
expect_err "revision '20240101110000_revision' already exists" "the message names the id"
expect_unchanged before "a refused revision writes nothing"

run revision -m x --parents nosuch
expect_status 1 "--parents with an unknown id fails"
expect_err "no revision 'nosuch'" "the message names the parent"
expect_unchanged before "nothing is written"

SOURCE_DATE_EPOCH=1704200000 run revision -m root2 --parents ""
expect_status 0 "--parents '' makes a root"
grep -q '^-- retort:parents$' migrations/20240102125320_root2.sql && ok "the root's parents line is empty" ||
    not_ok "the root's parents line is empty"
run heads
expect_eq "$(cat "$TMP/out" | tr '\n' ' ')" "20240101110000_revision 20240102125320_root2 " "two heads now"
SOURCE_DATE_EPOCH=1704300000 run revision -m merge --parents 20240101110000_revision --parents 20240102125320_root2
expect_status 0 "repeated --parents make a merge"
grep -q '^-- retort:parents 20240101110000_revision 20240102125320_root2$' migrations/20240103164000_merge.sql &&
    ok "the merge lists both parents" || not_ok "the merge lists both parents"

# Templates: the directory's, the ini's, --template; placeholders checked.
printf -- '-- retort:parents {{parents}}\n-- retort:message {{message}}\n-- custom {{id}} {{date}}\n-- retort:up\n' \
    >migrations/template.sql.tmpl
SOURCE_DATE_EPOCH=1704400000 run revision -m "from dir template"
grep -q '^-- custom 20240104202640_from_dir_template 2024-01-04T20:26:40Z$' \
    migrations/20240104202640_from_dir_template.sql &&
    ok "DIR/template.sql.tmpl overrides the built-in template" ||
    not_ok "DIR/template.sql.tmpl overrides the built-in template"
printf -- '-- retort:parents {{parents}}\n-- from ini\n-- retort:up\n' >ini.tmpl
printf '[retort]\ntemplate = ini.tmpl\n' >retort.ini
SOURCE_DATE_EPOCH=1704500000 run revision -m "from ini template"
grep -q '^-- from ini$' migrations/20240106001320_from_ini_template.sql &&
    ok "the ini's template overrides the directory's" || not_ok "the ini's template overrides the directory's"
printf -- '-- retort:up\n-- {{nope}}\n' >bad.tmpl
printf -- '-- retort:bogus\n-- retort:up\n' >invalid.tmpl
snapshot before
run revision -m x --template bad.tmpl
expect_status 1 "an unknown placeholder fails"
expect_err "bad.tmpl:2: unknown placeholder '{{nope}}'" "the message names template:line"
expect_unchanged before "nothing is written"
run revision -m x --template invalid.tmpl
expect_status 1 "a template that makes an invalid migration fails"
expect_err "unknown directive '-- retort:bogus'" "the loader's message is shown"
expect_unchanged before "the invalid file is removed"
rm retort.ini

# --lang c
mkdir cm
SOURCE_DATE_EPOCH=1704103200 run --dir cm revision --lang c -m "create users"
expect_status 0 "revision --lang c succeeds"
expect_file_golden cm/20240101100000_create_users.c c_migration.c "the C migration from the built-in template"
SOURCE_DATE_EPOCH=1704106800 run --dir cm revision --lang c -m 'say "hi"?'
expect_status 0 "a second C revision succeeds"
expect_file_golden cm/retort_migrations.c c_index.c "the index registers every C migration, escaped"
expect_file_golden cm/retort_migrations.h c_index.h "the index header declares every step"
expect_file_golden cm/retort_migrations.list c_index.list "the list names every source"
if command -v cc >/dev/null 2>&1 && [ -n "${RETORT_INCLUDE:-}" ]; then
    compiled=1
    for f in cm/*.c; do
        cc -std=c11 -Wall -Wextra -Werror -I"$RETORT_INCLUDE" -c "$f" -o "$TMP/o.o" \
            2>>"$TMP/cc" || compiled=0
    done
    if [ $compiled = 1 ]; then
        ok "the generated C compiles cleanly"
    else
        not_ok "the generated C compiles cleanly"
        sed 's/^/#   /' "$TMP/cc"
    fi
else
    ok "# SKIP no compiler or RETORT_INCLUDE"
fi
sed -i 's|^// retort:message say "hi"?$|// retort:message renamed|' cm/20240101110000_say_hi.c
run --dir cm index
expect_status 0 "index rewrites the index"
grep -q '"renamed"' cm/retort_migrations.c && ok "index picks up edited header lines" ||
    not_ok "index picks up edited header lines"
rm cm/20240101110000_say_hi.c
run --dir cm index
grep -c migration_ cm/retort_migrations.h | grep -q '^2$' && ok "index drops a removed migration" ||
    not_ok "index drops a removed migration"
printf '// retort:parents nosuch\n' >cm/zz.c
snapshot before
run --dir cm index
expect_status 1 "index refuses an unknown parent"
expect_unchanged before "a refused index changes nothing"
printf '// retort:colour blue\n' >cm/zz.c
run --dir cm index
expect_status 1 "index refuses an unknown directive"
expect_err "cm/zz.c:1: unknown directive '// retort:colour'" "the message names file:line"
rm cm/zz.c
run --dir cm revision --lang c -m 'ends with \'
expect_status 2 "a C message ending in a backslash is refused"

# The example's committed index is what the command generates.
if [ -d "$SRCDIR/../../examples/c-migrations/migrations" ]; then
    cp -r "$SRCDIR/../../examples/c-migrations/migrations" ex
    run --dir ex index
    ok_all=1
    for f in retort_migrations.c retort_migrations.h retort_migrations.list; do
        cmp -s "ex/$f" "$SRCDIR/../../examples/c-migrations/migrations/$f" || ok_all=0
    done
    [ $ok_all = 1 ] && ok "examples/c-migrations' index is up to date" ||
        not_ok "examples/c-migrations' index is up to date (run retort --dir examples/c-migrations/migrations index)"
fi

# Templates and schema files are regular files of bounded size: /dev/zero
# and a FIFO are refused at once (the command must not loop or block).
mkfifo fifo.tmpl
snapshot before
timeout 20 "$RETORT" revision -m "zero" --template /dev/zero >"$TMP/out" 2>"$TMP/err"
status=$?
expect_status 1 "--template /dev/zero is refused"
expect_err "/dev/zero' is not a regular file" "the message names it"
timeout 20 "$RETORT" revision -m "fifo" --template fifo.tmpl >"$TMP/out" 2>"$TMP/err"
status=$?
expect_status 1 "--template on a FIFO is refused without blocking"
expect_err "fifo.tmpl' is not a regular file" "the message names the FIFO"
expect_unchanged before "a refused template writes nothing"
rm fifo.tmpl
# At head, so that check gets as far as reading the schema file.
mkdir nomig
printf -- '-- retort:up\nCREATE TABLE t (x INTEGER);\n-- retort:down\nDROP TABLE t;\n' >nomig/001_a.sql
"$RETORT" --url sqlite:zero.db --dir nomig upgrade >/dev/null 2>&1
timeout 20 "$RETORT" --url sqlite:zero.db --dir nomig check --schema /dev/zero >"$TMP/out" 2>"$TMP/err"
status=$?
expect_status 1 "check --schema /dev/zero is refused"
expect_err "/dev/zero' is not a regular file" "naming the schema file"

done_testing
