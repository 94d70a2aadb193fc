#!/bin/sh
# A revision whose up section is still the template's placeholder (or is
# empty) is refused, naming its file, and neither applied nor recorded
# (issue 17, item 7): applying it would record a no-op, and filling it in
# later would count as an edited file whose down SQL runs against a schema
# it never built.  A merge revision (several parents) may be empty, as
# Alembic's are.  `revision --edit` opens the new file in $VISUAL or $EDITOR.
. "$SRCDIR/lib.sh"

DB=app.db
export RETORT_DATABASE_URL="sqlite:$DB"
mkdir migrations
unset VISUAL EDITOR

run revision -m "create a" --rev-id a1
expect_status 0 "revision writes the template"
expect_eq "$(cat "$TMP/out")" "Created migrations/a1.sql" "revision prints the path to edit"
printf -- '-- retort:parents\n-- retort:up\nCREATE TABLE a (x INTEGER);\n-- retort:down\nDROP TABLE a;\n' \
    >migrations/a1.sql
run revision -m "create b" --rev-id b2
expect_status 0 "a second revision, left as the template wrote it"

# --- the unedited template is refused, before anything runs
run upgrade
expect_status 1 "upgrade through an unedited template is refused"
expect_err "migrations/b2.sql" "the refusal names the file"
expect_err "'-- retort:up'" "the refusal says where the SQL goes"
expect_eq "$(applied $DB)" "" "nothing was applied (not even a1, before it)"
expect_eq "$(sql $DB "SELECT count(*) FROM retort_log WHERE revision = 'b2';" 2>/dev/null)" "" \
    "no attempt at b2 was logged"
run upgrade --dry-run
expect_status 1 "the dry run refuses it as well"
expect_err "migrations/b2.sql" "the dry run names the file"
run upgrade --sql
expect_status 1 "the offline script refuses it"
expect_err "migrations/b2.sql" "the offline refusal names the file"
expect_eq "$(grep -c . "$TMP/out")" "0" "no partial script is printed"
run upgrade a1
expect_status 0 "upgrading to the revision before it works"
expect_eq "$(applied $DB)" "a1" "a1 is applied"

# --- an up section of comments only is empty too
printf -- '-- retort:parents a1\n-- retort:up\n-- TODO: create b\n\n-- retort:down\nDROP TABLE b;\n' \
    >migrations/b2.sql
run upgrade
expect_status 1 "an up section of comments only is refused"
expect_err "migrations/b2.sql" "naming the file"
expect_eq "$(applied $DB)" "a1" "b2 was not applied"

# --- filled in, it applies, and its down SQL undoes what its up SQL did
printf -- '-- retort:parents a1\n-- retort:up\nCREATE TABLE b (x INTEGER);\n-- retort:down\nDROP TABLE b;\n' \
    >migrations/b2.sql
run upgrade
expect_status 0 "the filled-in revision applies"
expect_eq "$(applied $DB)" "a1 b2" "b2 is applied"
run downgrade -1
expect_status 0 "and reverts"
run upgrade
expect_status 0 "and applies again"

# --- a merge may be empty
run revision -m "c side" --rev-id c3 --head a1 --splice
printf -- '-- retort:parents a1\n-- retort:up\nCREATE TABLE c (x INTEGER);\n-- retort:down\nDROP TABLE c;\n' \
    >migrations/c3.sql
run merge
expect_status 0 "merge writes a merge revision from the template"
run upgrade
expect_status 0 "an empty merge revision applies"
expect_eq "$(sql $DB "SELECT count(*) FROM retort_version;")" "4" "all four are applied"

# --- revision --edit
cat >"$TMP/ed.sh" <<'ED'
#!/bin/sh
# a stand-in editor: writes up and down SQL under the template's markers
t=$(basename "$1" .sql)
sed -i -e "/^-- retort:up\$/a CREATE TABLE t_$t (x INTEGER);" \
    -e "/^-- retort:down\$/a DROP TABLE t_$t;" "$1"
echo "edited $1" >>"$TMPED"
ED
chmod +x "$TMP/ed.sh"
export TMPED="$TMP/ed.log"
snapshot before
run revision -m "create d" --rev-id d4 --edit
expect_status 2 "--edit without VISUAL or EDITOR is refused"
expect_err "VISUAL" "the error names VISUAL"
expect_err "EDITOR" "and EDITOR"
snapshot after
expect_eq "$(cmp -s "$TMP/.snap.before" "$TMP/.snap.after" && echo same)" "same" \
    "nothing was written"

EDITOR="$TMP/ed.sh" run upgrade --edit
expect_status 2 "--edit does not apply to upgrade"
expect_err "option --edit does not apply to upgrade" "the usage error says so"

EDITOR="$TMP/ed.sh" run revision -m "create d" --rev-id d4 --edit
expect_status 0 "--edit with EDITOR set succeeds"
expect_out "Created migrations/d4.sql" "it prints the path"
expect_eq "$(cat "$TMPED")" "edited migrations/d4.sql" "EDITOR was run on the new file"
expect_eq "$(grep -c 'CREATE TABLE t_d4' migrations/d4.sql)" "1" "the editor's text is in the file"

rm -f "$TMPED"
VISUAL="$TMP/ed.sh" EDITOR=false run revision -m "create e" --rev-id e5 --edit
expect_status 0 "--edit prefers VISUAL to EDITOR"
expect_eq "$(cat "$TMPED")" "edited migrations/e5.sql" "VISUAL was run"

EDITOR=false run revision -m "create f" --rev-id f6 --edit
expect_status 1 "an editor that fails is reported"
expect_err "migrations/f6.sql" "naming the file, which stays to be edited"
expect_eq "$(test -f migrations/f6.sql && echo kept)" "kept" "the file was kept"
rm migrations/f6.sql

run upgrade
expect_status 0 "the edited revisions apply"
expect_eq "$(sql $DB "SELECT count(*) FROM sqlite_master WHERE name IN ('t_d4', 't_e5');")" \
    "2" "the tables the editor's SQL creates exist"

done_testing
