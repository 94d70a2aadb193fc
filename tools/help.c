/*
 * help.c — the command table and every help text of the retort command.
 * The texts are the command's contract with its users (doc/retort.1 says
 * the same at more length); keep the two in step.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const cli_command cli_commands[] = {
    {"init", cmd_init, 0, 0, 1, "init [DIR]",
     "create the migrations directory, retort.ini and the template",
     "Creates DIR (default: the configured directory, 'migrations'), writes the\n"
     "default SQL template to DIR/template.sql.tmpl for you to edit, and writes\n"
     "retort.ini (or the file named by --config / RETORT_CONFIG).  Refuses, and\n"
     "changes nothing, if the configuration file or the template already exists.\n"
     "An existing directory of migrations (golang-migrate, dbmate) is kept as is.\n"},
    {"revision", cmd_revision, OPT_MESSAGE | OPT_PARENTS | OPT_LANG | OPT_REV_ID | OPT_TEMPLATE,
     0, 0, "revision -m MESSAGE [--parents IDS] [--lang sql|c] [--rev-id ID] [--template FILE]",
     "create a new migration file from a template",
     "Writes DIR/ID.sql (or DIR/ID.c with --lang c) where ID is the UTC time\n"
     "(YYYYMMDDHHMMSS) and a slug of MESSAGE.  Its parents are the current heads of\n"
     "the directory (a merge when there are several), or --parents.\n"
     "\n"
     "  -m, --message TEXT  what the revision does (required)\n"
     "  --parents IDS       parent ids, separated by spaces or commas; may be\n"
     "                      repeated; --parents '' makes a new root\n"
     "  --lang sql|c        sql (default): a single-file SQL migration; c: a C\n"
     "                      source file with up and down callbacks, and the\n"
     "                      generated index (retort_migrations.c, .h, .list)\n"
     "                      rewritten so that it registers every C migration\n"
     "                      of DIR\n"
     "  --rev-id ID         use ID instead of the timestamp and slug\n"
     "  --template FILE     the template to fill (default: the retort.ini\n"
     "                      'template' for SQL, else DIR/template.sql.tmpl or\n"
     "                      DIR/template.c.tmpl if present, else the built-in one)\n"
     "\n"
     "Placeholders: {{id}} {{parents}} {{message}} {{date}} (ISO 8601 UTC) and\n"
     "{{ident}} (the id as a C identifier).  SOURCE_DATE_EPOCH, when set, replaces\n"
     "the current time.\n"},
    {"index", cmd_index, 0, 0, 0, "index",
     "rewrite the generated index of the directory's C migrations",
     "Rewrites retort_migrations.c, retort_migrations.h and retort_migrations.list\n"
     "from the \"// retort:\" header lines of every C migration (ID.c) in DIR, as\n"
     "`revision --lang c` does.  Run it after renaming, removing or re-parenting a\n"
     "C migration.  Refuses an index whose parents do not resolve.\n"},
    {"upgrade", cmd_upgrade, OPT_SQL, 0, 1, "upgrade [TARGET] [--sql]",
     "apply migrations up to TARGET (default: head)",
     "TARGET: head (the single head; default), heads (all of them), a revision\n"
     "id, or +N (N steps forward).  Prints each revision applied, then the new\n"
     "current revision.\n"
     "\n"
     "  --sql   print the SQL script instead of running it; never connects.  TARGET\n"
     "          may then be FROM:TO to start from FROM instead of from base.\n"},
    {"downgrade", cmd_downgrade, OPT_SQL, 1, 1, "downgrade TARGET [--sql]",
     "revert migrations down to TARGET",
     "TARGET: base (revert everything), a revision id (which stays applied), or\n"
     "-N (N steps back).  An irreversible revision in the way stops the whole\n"
     "downgrade before anything runs.\n"
     "\n"
     "  --sql   print the SQL script instead of running it; never connects.  TARGET\n"
     "          must be FROM:TO, since offline the current revision is unknown.\n"},
    {"stamp", cmd_stamp, 0, 1, 1, "stamp TARGET",
     "record TARGET as current without running anything",
     "TARGET: base, head, heads, or revision ids (several separated by spaces,\n"
     "quoted as one argument).  They and their ancestors are recorded as applied.\n"},
    {"current", cmd_current, 0, 0, 0, "current",
     "print the applied heads of the database",
     "Prints the database's current revisions (applied revisions without an\n"
     "applied child), one per line; nothing at base.  With -v each line also says\n"
     "whether it is a head of the directory, and its message.\n"},
    {"heads", cmd_heads, 0, 0, 0, "heads",
     "print the heads of the migrations directory",
     "Prints the revisions of the directory that have no child, one per line.\n"
     "Does not connect.  With -v each line also has the message.\n"},
    {"history", cmd_history, OPT_NO_CURRENT, 0, 0, "history [--no-current]",
     "print the revision graph, newest first",
     "One line per revision, children before parents:\n"
     "\n"
     "  PARENTS -> ID (head) (branchpoint) (mergepoint) (current), MESSAGE\n"
     "\n"
     "PARENTS is <base> for a root.  (branchpoint) marks a revision with several\n"
     "children, (mergepoint) one with several parents, (current) the database's\n"
     "current revisions.  With -v, a block per revision with its flags.\n"
     "\n"
     "  --no-current   do not read the database (no (current) marks)\n"},
    {"show", cmd_show, 0, 1, 1, "show ID",
     "print one revision: parents, children, flags, file",
     "ID is a revision id, or 'head' for the single head.  Does not connect.\n"},
    {"check", cmd_check, 0, 0, 0, "check",
     "exit 0 at head with applied files unchanged (else 3 or 4)",
     "Compares the database with the directory without changing anything.\n"
     "Exit status: 0 at head with every applied SQL file unchanged; 3 when\n"
     "revisions remain to be applied; 4 when the text of an applied SQL\n"
     "migration changed since it was applied; 1 for any other failure (a dirty\n"
     "database, a revision the directory does not know, no connection).\n"},
    {"schema", cmd_schema, 0, 0, 0, "schema",
     "print the database's schema as canonical, sorted lines",
     "Prints one line per table, column, key, constraint, index and view of the\n"
     "database, sorted, without the version table and its audit log: two\n"
     "databases with the same schema print the same text, so the output can be\n"
     "diffed or kept as a golden file.  Does not read the migrations directory.\n"},
    {"test", cmd_test, 0, 0, 4, "test [CHECK...]",
     "check the migrations: single-head, upgrade, stairway, downgrade",
     "Runs the ready-made checks on the migrations directory, each on a fresh,\n"
     "empty target derived from the URL (SQLite: a private in-memory database;\n"
     "PostgreSQL: a temporary schema, dropped afterwards), never on the\n"
     "database itself.  CHECK is any of:\n"
     "  single-head  the revision graph has exactly one head\n"
     "  upgrade      upgrading from empty to head succeeds\n"
     "  stairway     each revision's downgrade reverses its upgrade, one step\n"
     "               at a time (schema snapshots compared)\n"
     "  downgrade    downgrading from head to base leaves an empty schema\n"
     "Without CHECK, all four run.  Prints 'ok CHECK' or 'FAIL CHECK: reason'\n"
     "(naming the revision at fault).  Exit status: 0 when all pass, 1 if any\n"
     "fails.\n"},
    {"mark-applied", cmd_mark_applied, 0, 1, 1, "mark-applied ID",
     "record ID as applied without running it (dirty database)",
     "After a non-transactional revision failed midway and you finished its\n"
     "work by hand: records ID as applied.  Logged in the audit log.\n"},
    {"mark-reverted", cmd_mark_reverted, 0, 1, 1, "mark-reverted ID",
     "remove ID's version row without running it (dirty database)",
     "After a non-transactional revision failed midway and you undid its work\n"
     "by hand: removes ID's version row.  Logged in the audit log.\n"},
};

const int cli_ncommands = (int)(sizeof cli_commands / sizeof cli_commands[0]);

const cli_command *cli_find_command(const char *name)
{
    for (int i = 0; i < cli_ncommands; i++)
        if (strcmp(cli_commands[i].name, name) == 0)
            return &cli_commands[i];
    return NULL;
}

static const char global_options[] =
    "Global options (before or after the command):\n"
    "  --url URL        database URL (sqlite:PATH, postgresql://...)\n"
    "  --dir DIR        migrations directory\n"
    "  --config FILE    configuration file (default: ./retort.ini if present)\n"
    "  -v, --verbose    more output; -vv for debug logging\n"
    "  -q, --quiet      only errors\n"
    "  -h, --help       this help; `retort help COMMAND` for a command's\n"
    "  -V, --version    print the version\n";

void cli_print_overview(void)
{
    printf("usage: retort [OPTIONS] COMMAND [ARGS]\n"
           "\n"
           "Versioned database schema migrations from a directory of SQL files.\n"
           "\n"
           "Commands:\n");
    for (int i = 0; i < cli_ncommands; i++)
        printf("  %-14s %s\n", cli_commands[i].name, cli_commands[i].summary);
    printf("\n%s", global_options);
    printf("\n"
           "Configuration, highest precedence first: the flags above; the environment\n"
           "(RETORT_DATABASE_URL, RETORT_DIR, RETORT_CONFIG); the [retort] section of\n"
           "retort.ini (url, dir, template, version_table, schema, lock_timeout,\n"
           "transaction_mode, checksum_policy, log_level, tolerate_unknown); the\n"
           "defaults (sqlite:retort.db, ./migrations).\n"
           "\n"
           "Exit status: 0 success, 1 failure, 2 usage error; check also uses 3\n"
           "(revisions pending) and 4 (an applied migration's file changed).\n"
           "See retort(1).\n");
}

void cli_print_command_help(const cli_command *cmd)
{
    printf("usage: retort [OPTIONS] %s\n\n%s.\n\n%s\n%s", cmd->usage, cmd->summary, cmd->help,
           global_options);
}
