/*
 * main.c — the retort command's entry point: parses the command line
 * (global options anywhere, then the command's own), resolves the
 * configuration and dispatches to the command.  Owns the helpers that every
 * command uses to report errors and to open a context.  Options are parsed
 * here rather than with getopt so that "-1" stays a target (`downgrade -1`)
 * and every misuse gets a message naming the option and exit status 2.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "suggest.h"
#include "strbuf.h"
#include "template.h"

enum { G_URL = 1, G_DIR, G_CONFIG, G_VERBOSE, G_QUIET, G_HELP, G_VERSION, G_SET, C_OPTION };

typedef struct opt_spec {
    const char *lname;
    char sname;     /* 0: long only */
    int has_arg;
    int id;         /* G_* for global options, C_OPTION for command options */
    unsigned bit;   /* OPT_* for command options */
} opt_spec;

static const opt_spec options[] = {
    {"url", 0, 1, G_URL, 0},
    {"dir", 0, 1, G_DIR, 0},
    {"config", 0, 1, G_CONFIG, 0},
    {"verbose", 'v', 0, G_VERBOSE, 0},
    {"quiet", 'q', 0, G_QUIET, 0},
    {"help", 'h', 0, G_HELP, 0},
    {"version", 'V', 0, G_VERSION, 0},
    {"set", 0, 1, G_SET, 0},
    {"message", 'm', 1, C_OPTION, OPT_MESSAGE},
    {"parents", 0, 1, C_OPTION, OPT_PARENTS},
    {"lang", 0, 1, C_OPTION, OPT_LANG},
    {"rev-id", 0, 1, C_OPTION, OPT_REV_ID},
    {"template", 0, 1, C_OPTION, OPT_TEMPLATE},
    {"sql", 0, 0, C_OPTION, OPT_SQL},
    {"no-current", 0, 0, C_OPTION, OPT_NO_CURRENT},
    {"autogenerate", 0, 0, C_OPTION, OPT_AUTOGENERATE},
    {"schema", 0, 1, C_OPTION, OPT_SCHEMA},
    {"allow-out-of-order", 0, 0, C_OPTION, OPT_ALLOW_OUT_OF_ORDER},
    {"drop-templates", 0, 0, C_OPTION, OPT_DROP_TEMPLATES},
    {"test-url", 0, 1, C_OPTION, OPT_TEST_URL},
    {"purge", 0, 0, C_OPTION, OPT_PURGE},
    {"resolve-dependencies", 0, 0, C_OPTION, OPT_RESOLVE_DEPS},
    {"head", 0, 1, C_OPTION, OPT_HEAD},
    {"branch-label", 0, 1, C_OPTION, OPT_BRANCH_LABEL},
    {"depends-on", 0, 1, C_OPTION, OPT_DEPENDS_ON},
    {"splice", 0, 0, C_OPTION, OPT_SPLICE},
    {"edit", 0, 0, C_OPTION, OPT_EDIT},
    {"rev-range", 'r', 1, C_OPTION, OPT_REV_RANGE},
    {"dry-run", 0, 0, C_OPTION, OPT_DRY_RUN},
    {"format", 0, 1, C_OPTION, OPT_FORMAT},
    {"json", 0, 0, C_OPTION, OPT_FORMAT},
    {"revision", 0, 1, C_OPTION, OPT_REVISION},
    {"outcome", 0, 1, C_OPTION, OPT_OUTCOME},
    {"since", 0, 1, C_OPTION, OPT_SINCE},
    {"strict", 0, 0, C_OPTION, OPT_STRICT},
};
#define NOPTIONS (sizeof options / sizeof options[0])

static void vreport(const cli *c, const char *fmt, va_list ap)
{
    fputs("retort: ", stderr);
    if (c && c->command)
        fprintf(stderr, "%s: ", c->command);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_fail(cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(c, fmt, ap);
    va_end(ap);
    return CLI_EXIT_FAILURE;
}

int cli_usage(cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(c, fmt, ap);
    va_end(ap);
    if (c && c->command)
        fprintf(stderr, "Try 'retort help %s'.\n", c->command);
    else
        fputs("Try 'retort --help'.\n", stderr);
    return CLI_EXIT_USAGE;
}

int cli_exit_for(int code)
{
    switch (code) {
    case RETORT_OK: return CLI_EXIT_OK;
    case RETORT_EPENDING: return CLI_EXIT_PENDING;
    case RETORT_ECHECKSUM: return CLI_EXIT_CHECKSUM;
    case RETORT_EDRIFT: return CLI_EXIT_DRIFT;
    case RETORT_ELOCK: return CLI_EXIT_LOCK;
    case RETORT_ECONNECT: return CLI_EXIT_CONNECT;
    case RETORT_EDIRTY: return CLI_EXIT_DIRTY;
    case RETORT_EMIGRATION: return CLI_EXIT_MIGRATION;
    default: return CLI_EXIT_FAILURE;
    }
}

/*
 * The library's advice in command syntax: the library writes API advice
 * followed by "(command: TEXT)"; for a command user, the API part (from the
 * first "retort_" or "set " of its clause, a clause ending at ';', ':' or
 * '.') is replaced by TEXT.  malloc'd; NULL on ENOMEM.
 */
char *cli_advice(const char *msg)
{
    strbuf out = {0};
    const char *p = msg;
    for (;;) {
        const char *cmd = strstr(p, "(command: ");
        if (!cmd)
            break;
        const char *end = strchr(cmd, ')');
        /* the matching ')' of "(command: ...)": TEXT has no parentheses */
        if (!end)
            break;
        const char *clause = cmd;
        while (clause > p && !strchr(";:.", clause[-1]))
            clause--;
        const char *api = NULL;
        for (const char *q = clause; q < cmd; q++)
            if ((strncmp(q, "retort_", 7) == 0 || strncmp(q, "set ", 4) == 0 ||
                 strncmp(q, "Set ", 4) == 0) &&
                (q == clause || q[-1] == ' ')) {
                api = q;
                break;
            }
        if (!api) {
            sb_add_n(&out, p, (size_t)(end + 1 - p));
            p = end + 1;
            continue;
        }
        sb_add_n(&out, p, (size_t)(api - p));
        const char *text = cmd + strlen("(command: ");
        sb_add_n(&out, text, (size_t)(end - text));
        p = end + 1;
        /* "... (command: ...))": the clause's own closing parenthesis stays */
    }
    sb_add(&out, p);
    return sb_take(&out);
}

/* Whether candidate is closer to name[0..len) than *best (distance *bestd),
 * and close enough to be a typo of it: at most 2 edits, or a fifth of its
 * length for long ids. */
static void consider(const char *name, size_t len, const char *cand, size_t candlen,
                     char *best, size_t size, size_t *bestd)
{
    char one[256];
    if (candlen >= sizeof one)
        return;
    memcpy(one, cand, candlen);
    one[candlen] = '\0';
    size_t d = cli_edit_distance(name, len, one);
    if (d == 0 || (d > 2 && d * 5 > len) || d >= *bestd)
        return;
    *bestd = d;
    snprintf(best, size, "%s", one);
}

void cli_did_you_mean(retort *r, const char *name, size_t len, char *out, size_t size)
{
    char best[256] = "";
    size_t bestd = (size_t)-1;
    int n = 0;
    out[0] = '\0';
    if (!len || retort_revision_count(r, &n) != RETORT_OK)
        return;
    static const char *const words[] = {"head", "heads", "base"};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
        consider(name, len, words[k], strlen(words[k]), best, sizeof best, &bestd);
    for (int i = 0; i < n; i++) {
        const char *id, *labels = "", *depends;
        if (retort_revision_info(r, i, &id, NULL, NULL, NULL) != RETORT_OK)
            return;
        consider(name, len, id, strlen(id), best, sizeof best, &bestd);
        if (retort_revision_links(r, i, &labels, &depends) != RETORT_OK)
            continue;
        for (const char *l = labels; *l;) {
            size_t k = strcspn(l, " ");
            consider(name, len, l, k, best, sizeof best, &bestd);
            l += k;
            l += strspn(l, " ");
        }
    }
    if (*best)
        snprintf(out, size, "; did you mean '%s'?", best);
}

/* The revision name the library's message says is unknown ("unknown target
 * 'X'", "revision 'X' is not registered"): its start and length in msg. */
static const char *unknown_name(const char *msg, size_t *len)
{
    const char *p = strstr(msg, "unknown target '");
    if (p)
        p += strlen("unknown target '");
    else if ((p = strstr(msg, "revision '")) != NULL && strstr(p, "' is not registered"))
        p += strlen("revision '");
    const char *e = p ? strchr(p, '\'') : NULL;
    if (!e)
        return NULL;
    *len = (size_t)(e - p);
    return p;
}

int cli_lib_fail(cli *c, retort *r)
{
    int code = retort_errcode(r);
    char *advice = cli_advice(retort_errmsg(r));
    char *msg = advice ? advice : strdup(retort_errmsg(r));
    char hint[300] = "";
    size_t len = 0;
    const char *name = msg && (code == RETORT_ETARGET || code == RETORT_ENOTFOUND)
                           ? unknown_name(msg, &len)
                           : NULL;
    /* (reads the graph through r: msg is a copy of the message) */
    if (name)
        cli_did_you_mean(r, name, len, hint, sizeof hint);
    cli_fail(c, "%s%s", msg ? msg : "out of memory", hint);
    free(msg);
    int status = cli_exit_for(code);
    return status == CLI_EXIT_OK ? CLI_EXIT_FAILURE : status;
}

void cli_say(const cli *c, const char *fmt, ...)
{
    if (c->cfg.verbosity < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

/* The library's log, as its default writes it, except ERROR lines: the
 * command reports every failure itself, once, as "retort: COMMAND: ...". */
static void cli_log(int level, const char *message, void *user)
{
    (void)user;
    if (level == RETORT_LOG_ERROR)
        return;
    const char *name = level == RETORT_LOG_WARN   ? "warn"
                       : level == RETORT_LOG_INFO ? "info"
                                                  : "debug";
    fflush(stdout);
    char *advice = cli_advice(message);
    fprintf(stderr, "retort: %s: %s\n", name, advice ? advice : message);
    free(advice);
}

/* The step a C migration is registered with: the command has only its
 * place in the graph, never its code.  cli_refuse_c_steps refuses a plan
 * through one before anything runs; this is what an offline script (which
 * has no plan to ask for) and anything else that reaches it meets. */
static int c_step_refuses(retort_conn *conn, void *user)
{
    const tpl_cmig *m = user;
    char msg[1024];
    snprintf(msg, sizeof msg, "revision '%s' is a C migration (%s): the application that "
                              "compiles it must run it; the retort command runs only SQL "
                              "migrations", m->id, m->file);
    retort_conn_set_error(conn, msg);
    return 1;
}

int cli_refuse_c_steps(cli *c, retort *r, int direction, const char *target)
{
    if (!c->ncmig)
        return CLI_EXIT_OK;
    const char *ids;
    if (retort_plan(r, direction, target, &ids) != RETORT_OK)
        return cli_lib_fail(c, r);
    for (const char *p = ids; *p;) {
        size_t k = strcspn(p, " ");
        for (int i = 0; i < c->ncmig; i++) {
            const tpl_cmig *m = &c->cmig[i];
            if (strlen(m->id) == k && memcmp(m->id, p, k) == 0)
                return cli_fail(c, "revision '%s' is a C migration (%s): the retort command "
                                   "cannot %s it; the application that compiles it must (its "
                                   "migrations_register() and retort_%s()).  Nothing was %s; "
                                   "%s",
                                m->id, m->file, direction > 0 ? "apply" : "revert",
                                direction > 0 ? "upgrade" : "downgrade",
                                direction > 0 ? "applied" : "reverted",
                                direction > 0 ? "'retort upgrade ID' applies the SQL "
                                                "revisions before it"
                                              : "'retort downgrade ID' reverts the SQL "
                                                "revisions after it");
        }
        p += k;
        p += strspn(p, " ");
    }
    return CLI_EXIT_OK;
}

int cli_open(cli *c, retort **out, int load)
{
    return cli_open_target(c, out, load, 0);
}

int cli_open_target(cli *c, retort **out, int load, int fresh)
{
    *out = NULL;
    retort *r = NULL;
    char err[1024];
    /* Test targets: --test-url > RETORT_TEST_DATABASE_URL > retort.ini
     * test_url > the database URL (a scratch server for the tests). */
    const char *url = c->cfg.url, *source = c->cfg.url_source;
    const char *env = getenv("RETORT_TEST_DATABASE_URL");
    if (fresh && c->test_url)
        url = c->test_url, source = "--test-url";
    else if (fresh && env && *env)
        url = env, source = "RETORT_TEST_DATABASE_URL";
    else if (fresh && c->cfg.test_url)
        url = c->cfg.test_url, source = "retort.ini test_url";
    if ((fresh ? retort_new_fresh(&r, url) : retort_new(&r, url)) != RETORT_OK) {
        /* The library's message is redacted; the URL itself is never echoed. */
        cli_fail(c, "%s (database URL from %s)", retort_errmsg(r), source);
        retort_free(r);
        return CLI_EXIT_FAILURE;
    }
    c->cfg.allow_out_of_order = c->allow_out_of_order;
    retort_set_log(r, cli_log, NULL);
    if (cli_config_apply(&c->cfg, r, fresh, err, sizeof err) != RETORT_OK) {
        cli_fail(c, "%s", err);
        retort_free(r);
        return CLI_EXIT_FAILURE;
    }
    if (load && cli_load_dirs(c, r, load) != CLI_EXIT_OK) {
        retort_free(r);
        return CLI_EXIT_FAILURE;
    }
    *out = r;
    return CLI_EXIT_OK;
}

const char *cli_dirs_quoted(cli *c)
{
    if (c->dirs_quoted)
        return c->dirs_quoted;
    strbuf sb = STRBUF_INIT;
    for (int d = 0; d < c->cfg.ndirs; d++)
        sb_printf(&sb, "%s'%s'", d == 0 ? "" : d == c->cfg.ndirs - 1 ? " or " : ", ",
                  c->cfg.dirs[d]);
    c->dirs_quoted = sb_take(&sb);
    /* Out of memory: the first directory, as before several were allowed. */
    return c->dirs_quoted ? c->dirs_quoted : c->cfg.dir;
}

static const char *const rev_suffixes[] = {".sql",    ".up.sql",   ".down.sql",     ".c",
                                           "/up.sql", "/down.sql", "/metadata.toml"};

int cli_revision_files(const cli *c, const char *id, void (*fn)(const char *path, void *user),
                       void *user)
{
    int found = 0;
    for (int d = 0; d < c->cfg.ndirs; d++)
        for (size_t k = 0; k < sizeof rev_suffixes / sizeof rev_suffixes[0]; k++) {
            size_t n = strlen(c->cfg.dirs[d]) + strlen(id) + strlen(rev_suffixes[k]) + 2;
            char *path = malloc(n);
            if (!path)
                return found;
            snprintf(path, n, "%s/%s%s", c->cfg.dirs[d], id, rev_suffixes[k]);
            struct stat st;
            if (stat(path, &st) == 0) {
                found++;
                if (fn)
                    fn(path, user);
            }
            free(path);
        }
    return found;
}

/* Every directory's C migrations, read once per process, in directory
 * order and each directory's in id order (a C file's implicit parent is
 * the previous C id of its own directory).  c->ncmig_first: how many come
 * from the first directory, where `retort index` writes. */
static int scan_c_migrations(cli *c)
{
    char err[1024];
    if (c->cmig_read)
        return CLI_EXIT_OK;
    for (int d = 0; d < c->cfg.ndirs; d++) {
        tpl_cmig *v = NULL;
        int n = 0;
        if (tpl_scan_c(c->cfg.dirs[d], &v, &n, err, sizeof err) != 0)
            return cli_fail(c, "%s", err);
        if (n) {
            tpl_cmig *all = realloc(c->cmig, (size_t)(c->ncmig + n) * sizeof *all);
            if (!all) {
                tpl_cmig_free(v, n);
                return cli_fail(c, "out of memory");
            }
            /* Moved, not copied: only the array itself is freed here. */
            memcpy(all + c->ncmig, v, (size_t)n * sizeof *v);
            free(v);
            c->cmig = all;
            c->ncmig += n;
        } else {
            tpl_cmig_free(v, n);
        }
        if (d == 0)
            c->ncmig_first = c->ncmig;
    }
    c->cmig_read = 1;
    return CLI_EXIT_OK;
}

int cli_load_dirs(cli *c, retort *r, int load)
{
    for (int d = 0; d < c->cfg.ndirs; d++) {
        struct stat st;
        if (stat(c->cfg.dirs[d], &st) != 0 || !S_ISDIR(st.st_mode))
            return cli_fail(c, "migrations directory '%s' (from %s) does not exist; run 'retort "
                               "init' or pass --dir", c->cfg.dirs[d], c->cfg.dir_source);
    }
    /* C migrations first: a SQL file may name a C revision as its parent,
     * and the loader checks that parents exist. */
    if (scan_c_migrations(c) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    for (int i = 0; i < c->ncmig; i++) {
        tpl_cmig *m = &c->cmig[i];
        /* Not marked non-transactional even when it is: a refused step
         * must leave no dirty row behind. */
        if (retort_add(r, m->id, m->parents, m->message, c_step_refuses, c_step_refuses, m) !=
            RETORT_OK)
            return cli_fail(c, "%s: %s", m->file, retort_errmsg(r));
    }
    /* One registry from every directory (an id in two of them is an error
     * naming both files).  load 2: an empty directory is where the first
     * revision goes; C migrations alone are a registry too. */
    int rc = retort_load_dirs(r, (const char *const *)c->cfg.dirs, c->cfg.ndirs);
    if (rc != RETORT_OK && !(rc == RETORT_ENOTFOUND && (load == 2 || c->ncmig)))
        return cli_lib_fail(c, r);
    /* C labels and dependencies last: they may name SQL revisions. */
    for (int i = 0; i < c->ncmig; i++) {
        const tpl_cmig *m = &c->cmig[i];
        if ((m->labels && retort_revision_set_branch_labels(r, m->id, m->labels) != RETORT_OK) ||
            (m->depends && retort_revision_set_depends_on(r, m->id, m->depends) != RETORT_OK))
            return cli_fail(c, "%s: %s", m->file, retort_errmsg(r));
    }
    return CLI_EXIT_OK;
}

/* The command name closest to name (edit distance at most 2, or name a
 * prefix of exactly one), or NULL. */
static const char *closest_command(const char *name)
{
    const char *best = NULL;
    size_t bestd = 3, n = strlen(name);
    for (int i = 0; i < cli_ncommands; i++) {
        size_t d = cli_edit_distance(name, n, cli_commands[i].name);
        if (n >= 2 && strncmp(cli_commands[i].name, name, n) == 0)
            d = 1;
        if (d < bestd) {
            bestd = d;
            best = cli_commands[i].name;
        }
    }
    return best;
}

static int is_relative_target(const char *a)
{
    return a[0] == '-' && a[1] && strspn(a + 1, "0123456789") == strlen(a + 1);
}

typedef struct parse_state {
    cli *c;
    const char *cmd_name;
    char **pos;
    int npos;
    int help, version;
    unsigned seen;                 /* command option bits given */
    const char *seen_name[32];     /* as written, for "does not apply" */
    strbuf parents;
    int parents_given;
    const char **sets; /* --set NAME=VALUE values */
    int nsets;
    const char **dirs; /* --dir values */
    int ndirs;
} parse_state;

static int set_once(parse_state *ps, const char **slot, const char *value, const char *name)
{
    if (*slot)
        return cli_usage(ps->c, "option %s given twice", name);
    *slot = value;
    return 0;
}

static int apply_option(parse_state *ps, const opt_spec *o, const char *as_written,
                        const char *value)
{
    cli *c = ps->c;
    switch (o->id) {
    case G_URL:
        return set_once(ps, &c->flags.url, value, as_written);
    case G_DIR:
        /* Repeatable: every directory is read, as one registry. */
        if (!c->flags.dir)
            c->flags.dir = value;
        ps->dirs[ps->ndirs++] = value;
        return 0;
    case G_CONFIG:
        return set_once(ps, &c->flags.config, value, as_written);
    case G_VERBOSE:
        c->flags.verbose++;
        return 0;
    case G_QUIET:
        c->flags.quiet++;
        return 0;
    case G_HELP:
        ps->help = 1;
        return 0;
    case G_VERSION:
        ps->version = 1;
        return 0;
    case G_SET:
        /* Repeatable; validated when applied, by the library's retort_set. */
        ps->sets[ps->nsets++] = value;
        return 0;
    default:
        break;
    }
    for (int b = 0; b < 32; b++)
        if (o->bit == 1u << b && !ps->seen_name[b])
            ps->seen_name[b] = o->lname;
    ps->seen |= o->bit;
    switch (o->bit) {
    case OPT_MESSAGE:
        return set_once(ps, &c->message, value, as_written);
    case OPT_PARENTS:
        /* Repeatable: --parents A --parents B is a merge of A and B. */
        if (ps->parents_given)
            sb_addc(&ps->parents, ' ');
        sb_add(&ps->parents, value);
        ps->parents_given = 1;
        return 0;
    case OPT_LANG:
        return set_once(ps, &c->lang, value, as_written);
    case OPT_REV_ID:
        return set_once(ps, &c->rev_id, value, as_written);
    case OPT_TEMPLATE:
        return set_once(ps, &c->template_path, value, as_written);
    case OPT_ALLOW_OUT_OF_ORDER:
        c->allow_out_of_order = 1;
        return 0;
    case OPT_SQL:
        c->sql = 1;
        return 0;
    case OPT_PURGE:
        c->purge = 1;
        return 0;
    case OPT_RESOLVE_DEPS:
        c->resolve_deps = 1;
        return 0;
    case OPT_HEAD:
        return set_once(ps, &c->head_target, value, as_written);
    case OPT_BRANCH_LABEL:
        return set_once(ps, &c->branch_label, value, as_written);
    case OPT_DEPENDS_ON:
        return set_once(ps, &c->depends_on, value, as_written);
    case OPT_SPLICE:
        c->splice = 1;
        return 0;
    case OPT_EDIT:
        c->edit = 1;
        return 0;
    case OPT_REV_RANGE:
        return set_once(ps, &c->rev_range, value, as_written);
    case OPT_NO_CURRENT:
        c->no_current = 1;
        return 0;
    case OPT_AUTOGENERATE:
        c->autogenerate = 1;
        return 0;
    case OPT_SCHEMA:
        return set_once(ps, &c->schema_path, value, as_written);
    case OPT_DROP_TEMPLATES:
        c->drop_templates = 1;
        return 0;
    case OPT_STRICT:
        c->strict = 1;
        return 0;
    case OPT_TEST_URL:
        return set_once(ps, &c->test_url, value, as_written);
    case OPT_DRY_RUN:
        c->dry_run = 1;
        return 0;
    case OPT_FORMAT:
        if (!value || strcmp(value, "json") == 0)
            c->format_json = 1;
        else if (strcmp(value, "text") == 0)
            c->format_json = 0;
        else
            return cli_usage(c, "--format must be 'text' or 'json', not '%s'", value);
        return 0;
    case OPT_REVISION:
        return set_once(ps, &c->filter_revision, value, as_written);
    case OPT_OUTCOME:
        return set_once(ps, &c->filter_outcome, value, as_written);
    case OPT_SINCE:
        return set_once(ps, &c->filter_since, value, as_written);
    default:
        return 0;
    }
}

static int parse_args(parse_state *ps, int argc, char **argv)
{
    int dashdash = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (dashdash || a[0] != '-' || !a[1] || is_relative_target(a)) {
            if (!ps->cmd_name)
                ps->cmd_name = a;
            else
                ps->pos[ps->npos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            dashdash = 1;
            continue;
        }
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t nl = eq ? (size_t)(eq - name) : strlen(name);
            const opt_spec *o = NULL;
            for (size_t k = 0; k < NOPTIONS; k++)
                if (strlen(options[k].lname) == nl && memcmp(options[k].lname, name, nl) == 0)
                    o = &options[k];
            if (!o) {
                const char *best = NULL;
                size_t bestd = 3;
                for (size_t k = 0; k < NOPTIONS; k++) {
                    size_t d = cli_edit_distance(name, nl, options[k].lname);
                    if (d < bestd) {
                        bestd = d;
                        best = options[k].lname;
                    }
                }
                if (best)
                    return cli_usage(ps->c, "unknown option '%.*s'; did you mean '--%s'?",
                                     (int)(nl + 2), a, best);
                return cli_usage(ps->c, "unknown option '%.*s'", (int)(nl + 2), a);
            }
            const char *value = NULL;
            if (o->has_arg) {
                if (eq)
                    value = eq + 1;
                else if (i + 1 < argc)
                    value = argv[++i];
                else
                    return cli_usage(ps->c, "option --%s needs a value", o->lname);
            } else if (eq) {
                return cli_usage(ps->c, "option --%s takes no value", o->lname);
            }
            char written[64];
            snprintf(written, sizeof written, "--%s", o->lname);
            int rc = apply_option(ps, o, written, value);
            if (rc)
                return rc;
            continue;
        }
        /* A cluster of short options: -vq, -mMESSAGE, -m MESSAGE. */
        for (const char *p = a + 1; *p; p++) {
            const opt_spec *o = NULL;
            for (size_t k = 0; k < NOPTIONS; k++)
                if (options[k].sname && options[k].sname == *p)
                    o = &options[k];
            if (!o)
                return cli_usage(ps->c, "unknown option '-%c'", *p);
            const char *value = NULL;
            if (o->has_arg) {
                if (p[1])
                    value = p + 1;
                else if (i + 1 < argc)
                    value = argv[++i];
                else
                    return cli_usage(ps->c, "option -%c needs a value", *p);
            }
            char written[4] = {'-', *p, 0, 0};
            int rc = apply_option(ps, o, written, value);
            if (rc)
                return rc;
            if (o->has_arg)
                break;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    cli c;
    memset(&c, 0, sizeof c);
    parse_state ps;
    memset(&ps, 0, sizeof ps);
    ps.c = &c;
    ps.pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof *ps.pos);
    ps.sets = calloc((size_t)(argc > 0 ? argc : 1), sizeof *ps.sets);
    ps.dirs = calloc((size_t)(argc > 0 ? argc : 1), sizeof *ps.dirs);
    if (!ps.pos || !ps.sets || !ps.dirs) {
        free(ps.pos);
        free(ps.sets);
        free(ps.dirs);
        return cli_fail(NULL, "out of memory");
    }
    int status = parse_args(&ps, argc, argv);
    const cli_command *cmd = NULL;

    if (status == 0 && ps.cmd_name && strcmp(ps.cmd_name, "help") == 0) {
        /* retort help [COMMAND] */
        if (ps.npos == 0) {
            cli_print_overview();
        } else if (ps.npos > 1) {
            c.command = "help";
            status = cli_usage(&c, "unexpected argument '%s'", ps.pos[1]);
        } else if (!(cmd = cli_find_command(ps.pos[0]))) {
            c.command = "help";
            const char *best = closest_command(ps.pos[0]);
            status = best ? cli_usage(&c, "unknown command '%s'; did you mean '%s'?", ps.pos[0],
                                      best)
                          : cli_usage(&c, "unknown command '%s'", ps.pos[0]);
        } else {
            cli_print_command_help(cmd);
        }
        goto done;
    }
    if (status == 0 && ps.cmd_name && !(cmd = cli_find_command(ps.cmd_name))) {
        const char *best = closest_command(ps.cmd_name);
        status = best ? cli_usage(NULL, "unknown command '%s'; did you mean '%s'?", ps.cmd_name,
                                  best)
                      : cli_usage(NULL, "unknown command '%s'", ps.cmd_name);
    }
    if (status)
        goto done;
    if (cmd)
        c.command = cmd->name;
    if (ps.version) {
        printf("retort %s\n", retort_version());
        goto done;
    }
    if (ps.help) {
        if (cmd)
            cli_print_command_help(cmd);
        else
            cli_print_overview();
        goto done;
    }
    if (!cmd) {
        status = cli_usage(NULL, "no command given");
        goto done;
    }
    for (int b = 0; b < 32; b++) {
        if ((ps.seen & (1u << b)) && !(cmd->opts & (1u << b))) {
            status = cli_usage(&c, "option --%s does not apply to %s", ps.seen_name[b],
                               cmd->name);
            goto done;
        }
    }
    if (c.flags.verbose && c.flags.quiet) {
        status = cli_usage(&c, "-v and -q contradict each other");
        goto done;
    }
    if (ps.npos < cmd->min_args) {
        status = cli_usage(&c, "missing argument (usage: retort %s)", cmd->usage);
        goto done;
    }
    if (ps.npos > cmd->max_args) {
        status = cli_usage(&c, "unexpected argument '%s' (usage: retort %s)",
                           ps.pos[cmd->max_args], cmd->usage);
        goto done;
    }
    if (ps.parents_given) {
        if (!(c.parents = sb_take(&ps.parents))) {
            status = cli_fail(&c, "out of memory");
            goto done;
        }
    }
    c.args = ps.pos;
    c.nargs = ps.npos;

    char err[1024];
    c.flags.dirs = ps.dirs;
    c.flags.ndirs = ps.ndirs;
    if (cli_config_resolve(&c.cfg, &c.flags, err, sizeof err) != 0) {
        status = cli_fail(&c, "%s", err);
        goto done;
    }
    if (c.cfg.config_explicit && !c.cfg.config_exists && cmd->run != cmd_init) {
        status = cli_fail(&c, "configuration file '%s' (from %s) does not exist",
                          c.cfg.config_path, c.cfg.config_source);
        cli_config_free(&c.cfg);
        goto done;
    }
    c.cfg.set_args = ps.sets;
    c.cfg.nset_args = ps.nsets;
    status = cmd->run(&c);
    cli_config_free(&c.cfg);

done:
    sb_free(&ps.parents);
    free(c.parents);
    free(ps.pos);
    free(ps.sets);
    free(ps.dirs);
    tpl_cmig_free(c.cmig, c.ncmig);
    free(c.dirs_quoted);
    if (fflush(stdout) != 0 && status == CLI_EXIT_OK) {
        fputs("retort: cannot write to standard output\n", stderr);
        status = CLI_EXIT_FAILURE;
    }
    return status;
}
