/*
 * cli.h — what the retort command's files share: the parsed command line,
 * the exit statuses, the command table, and the helpers every command uses
 * to open a context and report errors.  The command is a thin client of the
 * public API (retort/retort.h): it never reaches into the library.
 */
#ifndef RETORT_TOOL_CLI_H
#define RETORT_TOOL_CLI_H

#include <retort/retort.h>

#include "config.h"

/* Exit statuses (documented in doc/retort.1 and `retort --help`). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_PENDING = 3,  /* check: revisions remain to be applied */
    CLI_EXIT_CHECKSUM = 4, /* check: an applied migration's file changed */
    CLI_EXIT_DRIFT = 5,    /* check --schema: the database differs from the declared schema */
    CLI_EXIT_LOCK = 6,     /* retryable: timed out waiting for the migration lock or a busy database */
    CLI_EXIT_CONNECT = 7,  /* retryable: could not connect to the database */
    CLI_EXIT_DIRTY = 8,    /* the database is dirty: resolve with mark-applied / mark-reverted */
    CLI_EXIT_MIGRATION = 9 /* a migration failed (rolled back, or left the database dirty) */
};
/* The exit status for a library status code: the numbers above are stable;
 * every other failure is CLI_EXIT_FAILURE. */
int cli_exit_for(int code);

/* Command options, as bits of cli_command.opts. */
enum {
    OPT_MESSAGE = 1u << 0,
    OPT_PARENTS = 1u << 1,
    OPT_LANG = 1u << 2,
    OPT_REV_ID = 1u << 3,
    OPT_TEMPLATE = 1u << 4,
    OPT_SQL = 1u << 5,
    OPT_NO_CURRENT = 1u << 6,
    OPT_AUTOGENERATE = 1u << 7,
    OPT_SCHEMA = 1u << 8,
    OPT_ALLOW_OUT_OF_ORDER = 1u << 9,
    OPT_DROP_TEMPLATES = 1u << 10,
    OPT_TEST_URL = 1u << 11,
    OPT_PURGE = 1u << 12,
    OPT_RESOLVE_DEPS = 1u << 13,
    OPT_HEAD = 1u << 14,
    OPT_BRANCH_LABEL = 1u << 15,
    OPT_DEPENDS_ON = 1u << 16,
    OPT_SPLICE = 1u << 17,
    OPT_REV_RANGE = 1u << 18,
    OPT_DRY_RUN = 1u << 19,
    OPT_FORMAT = 1u << 20, /* --format FORMAT, --json */
    OPT_REVISION = 1u << 21,
    OPT_OUTCOME = 1u << 22,
    OPT_SINCE = 1u << 23,
    OPT_STRICT = 1u << 24, /* test --strict */
    OPT_EDIT = 1u << 26    /* revision --edit */
};

struct tpl_cmig;

typedef struct cli {
    const char *command; /* the command's name, for messages */
    cli_flags flags;
    cli_config cfg;

    /* command options */
    const char *message;
    char *parents; /* --parents values joined by spaces; NULL if not given */
    const char *lang;
    const char *rev_id;
    const char *template_path;
    int sql;
    int no_current;
    int autogenerate;
    int allow_out_of_order; /* --allow-out-of-order */
    const char *schema_path; /* --schema FILE: the declared schema's DDL */
    int drop_templates;      /* test --drop-templates */
    const char *test_url;    /* test --test-url URL */
    int strict;              /* test --strict: an irreversible revision fails */
    int purge;               /* stamp --purge */
    int resolve_deps;        /* heads --resolve-dependencies */
    const char *head_target; /* revision --head TARGET */
    const char *branch_label; /* revision --branch-label NAME */
    const char *depends_on;  /* revision --depends-on X */
    int splice;              /* revision --splice */
    int edit;                /* revision --edit: open the new file in $VISUAL / $EDITOR */
    const char *rev_range;   /* history -r A:B */
    int dry_run;             /* --dry-run: print the plan, change nothing */
    int format_json;         /* --format json / --json */
    const char *filter_revision, *filter_outcome, *filter_since; /* log filters */

    /* The directory's C migrations (template.h), read by the first
     * cli_open that loads it; freed by main.  The contexts cli_open makes
     * register them with steps that refuse to run, so they borrow these. */
    struct tpl_cmig *cmig;
    int ncmig, ncmig_first, cmig_read; /* ncmig_first: those of the first directory */

    /* cli_dirs_quoted's text, made once; freed by main */
    char *dirs_quoted;

    /* positional arguments after the command */
    char **args;
    int nargs;
} cli;

typedef struct cli_command {
    const char *name;
    int (*run)(cli *c);
    unsigned opts;
    int min_args, max_args;
    const char *usage;   /* the synopsis after "retort " */
    const char *summary; /* one line for the overview */
    const char *help;    /* the rest of `retort help NAME` */
} cli_command;

extern const cli_command cli_commands[];
extern const int cli_ncommands;
const cli_command *cli_find_command(const char *name);
/* Prints the overview (`retort --help`) or one command's help to stdout. */
void cli_print_overview(void);
void cli_print_command_help(const cli_command *cmd);

/* "retort: COMMAND: message" on stderr; return CLI_EXIT_FAILURE. */
int cli_fail(cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with a hint to `retort help COMMAND`; return CLI_EXIT_USAGE. */
int cli_usage(cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports the library's message for r; returns CLI_EXIT_FAILURE. */
int cli_lib_fail(cli *c, retort *r);
/* "; did you mean 'X'?" in out when a registered revision id or branch
 * label X of r is close to name[0..len) (a typo), else "".  Changes r's
 * message. */
void cli_did_you_mean(retort *r, const char *name, size_t len, char *out, size_t size);
/* msg with the library's API advice replaced by its "(command: ...)" form;
 * malloc'd, NULL on ENOMEM. */
char *cli_advice(const char *msg);
/* Prints to stdout unless -q. */
void cli_say(const cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Creates the context the configuration describes (URL, settings, log
 * level) and, when load is nonzero, registers the migrations directory
 * (load 2: a directory with no migrations yet is not an error, for the
 * commands that write the first one).  Does not connect.  On failure reports and returns CLI_EXIT_FAILURE with
 * *out NULL.
 */
int cli_open(cli *c, retort **out, int load);
/* Registers the migrations of every configured directory on r, as one
 * registry (load as for cli_open): each directory's C migrations first,
 * then every SQL migration (retort_load_dirs; an id in two directories
 * names both files), then the C migrations' labels and dependencies.
 * Reports and returns CLI_EXIT_FAILURE on failure.  Also for contexts
 * cli_open did not make. */
int cli_load_dirs(cli *c, retort *r, int load);
/* The migrations directories for a message: "'migrations'", or "'a' or
 * 'b'" when --dir was given several times.  Owned by c; never NULL. */
const char *cli_dirs_quoted(cli *c);
/* Calls fn (if not NULL) with the path of each file revision id was read
 * from, in every migrations directory; returns how many there are. */
int cli_revision_files(const cli *c, const char *id, void (*fn)(const char *path, void *user),
                       void *user);
/* C migrations are compiled into the application: the command cannot run
 * them.  Refuses (reports, returns CLI_EXIT_FAILURE) when the plan of
 * retort_upgrade (direction > 0) or retort_downgrade (< 0) to target would
 * run one, naming it and its file; CLI_EXIT_OK otherwise.  Reads the
 * database (retort_plan) only when a directory has C migrations. */
int cli_refuse_c_steps(cli *c, retort *r, int direction, const char *target);
/* The same, on a fresh, empty test target derived from the test URL when
 * fresh is nonzero (retort_new_fresh: created at the first operation). */
int cli_open_target(cli *c, retort **out, int load, int fresh);

/* Commands (commands_db.c, commands_graph.c, scaffold.c). */
int cmd_init(cli *c);
int cmd_revision(cli *c);
int cmd_index(cli *c);
int cmd_upgrade(cli *c);
int cmd_downgrade(cli *c);
int cmd_stamp(cli *c);
int cmd_adopt(cli *c);
int cmd_current(cli *c);
int cmd_check(cli *c);
int cmd_mark_applied(cli *c);
int cmd_mark_reverted(cli *c);
int cmd_heads(cli *c);
int cmd_history(cli *c);
int cmd_show(cli *c);
int cmd_branches(cli *c);
int cmd_merge(cli *c);
int cmd_schema(cli *c);
int cmd_test(cli *c);
int cmd_status(cli *c);
int cmd_log(cli *c);
int cmd_repair(cli *c);
int cmd_redo(cli *c);

/* commands_status.c: JSON strings and arrays on stdout, and the plan that
 * --dry-run prints for upgrade (direction 1) or downgrade (-1). */
void cli_json_str(const char *s);
void cli_json_list(const char *space_separated);
int cli_dry_run(cli *c, retort *r, int direction, const char *target);

#endif
