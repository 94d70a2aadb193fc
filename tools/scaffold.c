/*
 * scaffold.c — the commands that write files instead of touching a
 * database: init (a project's first files) and revision (a new migration
 * from a template, and for C migrations the regenerated index).  Both check
 * everything before writing and remove what they wrote if a later step
 * fails, so an error leaves the project as it was.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "history.h"
#include "strbuf.h"
#include "template.h"

static int path_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static char *join(const char *dir, const char *name)
{
    strbuf b = STRBUF_INIT;
    sb_add(&b, dir);
    if (b.len && b.data[b.len - 1] != '/')
        sb_addc(&b, '/');
    sb_add(&b, name);
    return sb_take(&b);
}

/* ------------------------------------------------------------------ init */

/* mkdir -p that records the directories it made (outermost first) so a
 * later failure can remove exactly those. */
static int make_dirs(const char *dir, char ***made, int *nmade, char *err, size_t errlen)
{
    char *copy = strdup(dir);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    int rc = 0;
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (!path_exists(copy)) {
            if (mkdir(copy, 0777) != 0) {
                snprintf(err, errlen, "cannot create directory '%s': %s", copy, strerror(errno));
                rc = 1;
            } else {
                char **g = realloc(*made, (size_t)(*nmade + 1) * sizeof *g);
                char *d = strdup(copy);
                if (!g || !d) {
                    free(d);
                    if (g)
                        *made = g;
                    rmdir(copy);
                    snprintf(err, errlen, "out of memory");
                    rc = 1;
                } else {
                    *made = g;
                    (*made)[(*nmade)++] = d;
                }
            }
        }
        *p = saved;
        if (rc || !saved)
            break;
    }
    free(copy);
    return rc;
}

static void remove_dirs(char **made, int nmade, int remove)
{
    for (int i = nmade - 1; i >= 0; i--) {
        if (remove)
            rmdir(made[i]);
        free(made[i]);
    }
    free(made);
}

static const char ini_text[] =
    "# retort.ini -- configuration of the retort command; see retort(1).\n"
    "# Precedence: command-line flags > environment (RETORT_DATABASE_URL,\n"
    "# RETORT_DIR, RETORT_CONFIG) > this file > built-in defaults.\n"
    "[retort]\n"
    "# Database URL: sqlite:PATH, sqlite::memory:, postgresql://user@host/db,\n"
    "# postgresql:key=value...  Keep passwords out of this file: use\n"
    "# RETORT_DATABASE_URL or ~/.pgpass instead.\n"
    "url = sqlite:retort.db\n"
    "\n"
    "# The migrations directory, relative to this file.\n"
    "dir = %s\n"
    "\n"
    "# The template `retort revision` fills for SQL migrations (default:\n"
    "# DIR/template.sql.tmpl if it exists, else the built-in one).\n"
    "# template = %s/" TPL_DIR_SQL_TEMPLATE "\n"
    "\n"
    "# Library settings (the values shown are the defaults):\n"
    "# version_table = retort_version\n"
    "# schema =\n"
    "# lock_timeout = 30000\n"
    "# transaction_mode = per-migration\n"
    "# checksum_policy = warn\n"
    "# log_level = warn\n"
    "# tolerate_unknown = false\n";

int cmd_init(cli *c)
{
    const char *dir = c->nargs ? c->args[0] : c->cfg.dir;
    const char *ini = c->cfg.config_path;
    char err[1024];
    if (path_exists(ini))
        return cli_fail(c, "'%s' already exists; init changes nothing (edit it, or pass "
                           "--config to write another file)", ini);
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
        return cli_fail(c, "'%s' exists and is not a directory", dir);
    char *tpl = join(dir, TPL_DIR_SQL_TEMPLATE);
    if (!tpl)
        return cli_fail(c, "out of memory");
    if (path_exists(tpl)) {
        cli_fail(c, "'%s' already exists; init changes nothing", tpl);
        free(tpl);
        return CLI_EXIT_FAILURE;
    }

    char **made = NULL;
    int nmade = 0, ok = 0;
    char *dir_value = NULL, *text = NULL;
    if (make_dirs(dir, &made, &nmade, err, sizeof err) != 0) {
        cli_fail(c, "%s", err);
    } else if (tpl_write_new(tpl, tpl_default_sql, err, sizeof err) != 0) {
        cli_fail(c, "%s", err);
    } else {
        /* The ini's dir is relative to the ini file: write it as given when
         * the file is in the working directory, absolute otherwise. */
        char cwd[PATH_MAX];
        if (dir[0] == '/' || !strchr(ini, '/'))
            dir_value = strdup(dir);
        else if (getcwd(cwd, sizeof cwd))
            dir_value = join(cwd, dir);
        strbuf b = STRBUF_INIT;
        if (dir_value)
            sb_printf(&b, ini_text, dir_value, dir_value);
        if (!dir_value || !(text = sb_take(&b)))
            cli_fail(c, "out of memory");
        else if (tpl_write_new(ini, text, err, sizeof err) != 0)
            cli_fail(c, "%s", err);
        else
            ok = 1;
        if (!ok)
            unlink(tpl);
    }
    remove_dirs(made, nmade, !ok);
    if (ok) {
        cli_say(c, "Created %s/\n", dir);
        cli_say(c, "Created %s\n", tpl);
        cli_say(c, "Created %s\n", ini);
        cli_say(c, "Next: edit %s, then 'retort revision -m \"first migration\"'.\n", ini);
    }
    free(text);
    free(dir_value);
    free(tpl);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* -------------------------------------------------------------- revision */

int cmd_index(cli *c)
{
    retort *r;
    if (cli_open(c, &r, 2) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    const tpl_cmig *cm = c->cmig; /* cli_open registered them */
    int ncm = c->ncmig_first;     /* the index is the first directory's */
    char err[1024];
    const char *heads;
    int status = CLI_EXIT_OK;
    /* An index whose parents do not resolve would only fail in the
     * application: refuse it here. */
    if (status == CLI_EXIT_OK && retort_heads(r, &heads) != RETORT_OK)
        status = cli_lib_fail(c, r);
    if (status == CLI_EXIT_OK && tpl_write_index(c->cfg.dir, cm, ncm, err, sizeof err) != 0)
        status = cli_fail(c, "%s", err);
    if (status == CLI_EXIT_OK)
        cli_say(c, "Updated %s/%s, %s and %s (%d C migration%s)\n", c->cfg.dir, TPL_INDEX_C,
                TPL_INDEX_H, TPL_INDEX_LIST, ncm, ncm == 1 ? "" : "s");
    retort_free(r);
    return status;
}

/* The message on one line: control characters become spaces, ends trimmed. */
static char *clean_message(const char *m)
{
    while (*m == ' ' || *m == '\t' || *m == '\n' || *m == '\r')
        m++;
    char *s = strdup(m);
    if (!s)
        return NULL;
    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

/* Normalises --parents to "A B", checking each id exists in the graph. */
static int resolve_parents(cli *c, const hist_graph *g, const char *list, char **out)
{
    strbuf b = STRBUF_INIT;
    for (const char *p = list; *p;) {
        p += strspn(p, " ,\t");
        size_t k = strcspn(p, " ,\t"), adv = k;
        if (!k)
            break;
        char *id = strndup(p, k);
        if (!id) {
            sb_free(&b);
            return cli_fail(c, "out of memory");
        }
        int at = hist_resolve(g, id, k);
        if (at == -2) {
            int st = cli_fail(c, "--parents: '%s' is ambiguous: it is a prefix of several "
                                 "revisions", id);
            free(id);
            sb_free(&b);
            return st;
        }
        if (at >= 0 && strcmp(g->revs[at].id, id) != 0) {
            free(id);
            if (!(id = strdup(g->revs[at].id))) {
                sb_free(&b);
                return cli_fail(c, "out of memory");
            }
            k = strlen(id);
        }
        int known = at >= 0;
        int dup = 0;
        for (const char *q = sb_str(&b); *q;) {
            size_t qk = strcspn(q, " ");
            dup |= qk == k && memcmp(q, id, k) == 0;
            q += qk;
            q += strspn(q, " ");
        }
        if (!known || dup) {
            int st = !tpl_id_valid(id) ? cli_usage(c, "--parents: '%s' is not a valid revision "
                                                      "id", id)
                     : dup ? cli_usage(c, "--parents: '%s' is listed twice", id)
                           : cli_fail(c, "--parents: no revision '%s' in %s", id, cli_dirs_quoted(c));
            free(id);
            sb_free(&b);
            return st;
        }
        if (b.len)
            sb_addc(&b, ' ');
        sb_add(&b, id);
        free(id);
        p += adv;
    }
    if (!(*out = sb_take(&b)))
        return cli_fail(c, "out of memory");
    return CLI_EXIT_OK;
}

/* The template text and its name for messages. */
static int load_template(cli *c, int lang_c, char **text, char **name)
{
    char err[1024];
    const char *path = c->template_path;
    char *dir_tpl = NULL;
    if (!path && !lang_c)
        path = c->cfg.template_path;
    if (!path) {
        dir_tpl = join(c->cfg.dir, lang_c ? TPL_DIR_C_TEMPLATE : TPL_DIR_SQL_TEMPLATE);
        if (!dir_tpl)
            return cli_fail(c, "out of memory");
        if (path_exists(dir_tpl))
            path = dir_tpl;
    }
    int status = CLI_EXIT_OK;
    if (path) {
        if (tpl_read_file(path, text, err, sizeof err) != 0)
            status = cli_fail(c, "template: %s", err);
        else if (!(*name = strdup(path)))
            status = cli_fail(c, "out of memory");
    } else {
        *text = strdup(lang_c ? tpl_default_c : tpl_default_sql);
        *name = strdup(lang_c ? "built-in C template" : "built-in SQL template");
        if (!*text || !*name)
            status = cli_fail(c, "out of memory");
    }
    free(dir_tpl);
    return status;
}

/* revision --edit: $VISUAL, else $EDITOR (as git and Alembic choose), or
 * NULL when neither is set. */
static const char *editor(void)
{
    const char *e = getenv("VISUAL");
    if (!e || !*e)
        e = getenv("EDITOR");
    return e && *e ? e : NULL;
}

/* Runs the editor on path through the shell, as git does, so that a value
 * with arguments ("code --wait") works; path is passed as "$1", never
 * spliced into the command.  Returns CLI_EXIT_OK when it exited 0. */
static int run_editor(cli *c, const char *ed, const char *path)
{
    strbuf b = STRBUF_INIT;
    sb_add(&b, ed);
    sb_add(&b, " \"$1\"");
    char *cmd = sb_take(&b);
    if (!cmd)
        return cli_fail(c, "out of memory");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, "sh", path, (char *)NULL);
        _exit(127);
    }
    free(cmd);
    int wst = 0;
    if (pid < 0)
        return cli_fail(c, "cannot start the editor '%s': %s; %s is written: edit it yourself",
                        ed, strerror(errno), path);
    while (waitpid(pid, &wst, 0) < 0)
        if (errno != EINTR)
            return cli_fail(c, "waiting for the editor '%s': %s", ed, strerror(errno));
    if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0)
        return cli_fail(c, "the editor '%s' failed (%s %d); %s is kept as written: edit it "
                           "yourself",
                        ed, WIFEXITED(wst) ? "exit status" : "signal",
                        WIFEXITED(wst) ? WEXITSTATUS(wst) : WTERMSIG(wst), path);
    return CLI_EXIT_OK;
}

/* Re-reads the directory with the new file in it: a project's template that
 * produces a file the loader rejects is reported now, not at the next run. */
static int validate_sql_dir(cli *c)
{
    retort *r = NULL;
    int rc = retort_new(&r, "sqlite::memory:");
    if (rc != RETORT_OK) {
        /* Without the SQLite backend, validate with the configured URL. */
        retort_free(r);
        r = NULL;
        rc = retort_new(&r, c->cfg.url);
    }
    if (rc == RETORT_OK) {
        /* The C migrations too: the new file's parent may be one. */
        if (cli_load_dirs(c, r, 1) != CLI_EXIT_OK) {
            retort_free(r);
            return cli_fail(c, "the new file is not a valid migration, removed it");
        }
        const char *heads;
        rc = retort_heads(r, &heads);
    }
    if (rc != RETORT_OK)
        cli_fail(c, "the new file is not a valid migration, removed it: %s", retort_errmsg(r));
    retort_free(r);
    return rc == RETORT_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* The start of the line after the first line of text that is exactly
 * marker (blanks around it allowed), or NULL. */
static char *after_marker_line(char *text, const char *marker)
{
    size_t ml = strlen(marker);
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        char *s = line, *e = end ? end : line + strlen(line);
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        if ((size_t)(e - s) == ml && memcmp(s, marker, ml) == 0)
            return end ? end + 1 : line + strlen(line);
        if (!end)
            break;
        line = end + 1;
    }
    return NULL;
}

/* Puts up and down into the filled template, after its "-- retort:up" and
 * "-- retort:down" lines; a template without both cannot hold them. */
static int insert_sections(cli *c, const char *tpl_name, char **filled, const char *up,
                           const char *down)
{
    char *u = after_marker_line(*filled, "-- retort:up");
    char *d = u ? after_marker_line(u, "-- retort:down") : NULL;
    if (!u || !d)
        return cli_fail(c, "--autogenerate: the template %s has no '-- retort:up' line followed "
                           "by a '-- retort:down' line to put the statements after",
                        tpl_name);
    strbuf b = STRBUF_INIT;
    sb_add_n(&b, *filled, (size_t)(u - *filled));
    sb_add(&b, up);
    sb_add_n(&b, u, (size_t)(d - u));
    sb_add(&b, down);
    sb_add(&b, d);
    char *text = sb_take(&b);
    if (!text)
        return cli_fail(c, "out of memory");
    free(*filled);
    *filled = text;
    return CLI_EXIT_OK;
}

/* The database must be at head: the migration autogenerate writes goes on
 * top of it.  Fills *up and *down (malloc'd); both "" when nothing differs. */
static int autogenerate(cli *c, retort *r, char **up, char **down)
{
    char err[1024];
    char *declared = NULL;
    if (tpl_read_file(c->schema_path, &declared, err, sizeof err) != 0)
        return cli_fail(c, "--schema: %s", err);
    int rc = retort_check(r), status = CLI_EXIT_OK;
    if (rc == RETORT_EPENDING) {
        status = cli_fail(c, "--autogenerate compares the declared schema with the database at "
                             "head, but %s; run 'retort upgrade' first", retort_errmsg(r));
    } else if (rc != RETORT_OK && rc != RETORT_ECHECKSUM) {
        status = cli_lib_fail(c, r);
    } else {
        const char *u, *d;
        if (retort_autogenerate(r, declared, &u, &d) != RETORT_OK)
            status = cli_fail(c, "%s: %s", c->schema_path, retort_errmsg(r));
        else if (!(*up = strdup(u)) || !(*down = strdup(d)))
            status = cli_fail(c, "out of memory");
    }
    free(declared);
    return status;
}

/* revision --head TARGET: base, head, heads, ID (a head unless --splice),
 * LABEL or ID, or X@head. */
static int resolve_head(cli *c, const hist_graph *g, const char *t, char **out)
{
    strbuf b = STRBUF_INIT;
    const char *at = strchr(t, '@');
    int single = 1;
    if (strcmp(t, "base") == 0) {
        sb_add(&b, "");
    } else if (strcmp(t, "head") == 0 || strcmp(t, "heads") == 0 ||
               (at && strcmp(at, "@head") == 0)) {
        int from = -1;
        single = strcmp(t, "heads") != 0;
        if (at && (from = hist_resolve(g, t, (size_t)(at - t))) < 0)
            return cli_fail(c, "--head: '%.*s' is %s", (int)(at - t), t,
                            from == -2 ? "an ambiguous prefix" : "not a revision or label");
        unsigned char *in = calloc((size_t)g->n + 1, 1);
        if (!in)
            return cli_fail(c, "out of memory");
        for (int i = 0; i < g->n; i++)
            in[i] = from < 0 || i == from;
        for (int i = from < 0 ? 0 : from; i < g->n; i++)
            if (in[i])
                for (int k = 0; k < g->revs[i].nchildren; k++)
                    in[g->revs[i].children[k]] = 1;
        int n = 0;
        for (int i = 0; i < g->n; i++)
            if (in[i] && !g->revs[i].nchildren) {
                if (b.len)
                    sb_addc(&b, ' ');
                sb_add(&b, g->revs[i].id);
                n++;
            }
        free(in);
        if (single && n > 1) {
            int st = cli_fail(c, "--head %s is ambiguous: several heads (%s); name one, or "
                                 "merge them with 'retort merge'", t, sb_str(&b));
            sb_free(&b);
            return st;
        }
    } else if (at) {
        return cli_usage(c, "--head takes base, head, heads, an id, a label or X@head, not "
                            "'%s'", t);
    } else {
        int i = hist_resolve(g, t, strlen(t));
        if (i < 0)
            return cli_fail(c, "--head: %s '%s' in %s", i == -2 ? "ambiguous prefix"
                                                                  : "no revision",
                            t, cli_dirs_quoted(c));
        if (g->revs[i].nchildren && !c->splice)
            return cli_fail(c, "--head: revision '%s' is not a head; pass --splice to start "
                               "a new branch from it", g->revs[i].id);
        sb_add(&b, g->revs[i].id);
    }
    if (!(*out = sb_take(&b)))
        return cli_fail(c, "out of memory");
    return CLI_EXIT_OK;
}

/* Adds the --branch-label / --depends-on header lines after the parents
 * line of a filled SQL template (at the top when it has none). */
static int add_graph_headers(cli *c, int lang_c, char **filled)
{
    if (!c->branch_label && !c->depends_on)
        return CLI_EXIT_OK;
    const char *text = *filled, *lead = lang_c ? "// retort:" : "-- retort:";
    const char *line = strstr(text, lang_c ? "// retort:parents" : "-- retort:parents");
    size_t at = 0;
    if (line && (line == text || line[-1] == '\n')) {
        const char *nl = strchr(line, '\n');
        at = nl ? (size_t)(nl + 1 - text) : strlen(text);
    }
    strbuf b = STRBUF_INIT;
    sb_add_n(&b, text, at);
    if (at && text[at - 1] != '\n')
        sb_addc(&b, '\n');
    if (c->branch_label) {
        sb_add(&b, lead);
        sb_add(&b, "branch-labels ");
        sb_add(&b, c->branch_label);
        sb_addc(&b, '\n');
    }
    if (c->depends_on) {
        sb_add(&b, lead);
        sb_add(&b, "depends-on ");
        sb_add(&b, c->depends_on);
        sb_addc(&b, '\n');
    }
    sb_add(&b, text + at);
    char *out = sb_take(&b);
    if (!out)
        return cli_fail(c, "out of memory");
    free(*filled);
    *filled = out;
    return CLI_EXIT_OK;
}

int cmd_revision(cli *c)
{
    if (c->head_target && c->parents)
        return cli_usage(c, "--head and --parents do not combine (--head names the one "
                            "revision to build on)");
    if (c->splice && !c->head_target)
        return cli_usage(c, "--splice needs --head ID");
    for (const char *l = c->branch_label; l && *l; l++)
        if (strchr("\r\n", *l))
            return cli_usage(c, "--branch-label must be one line");
    for (const char *l = c->depends_on; l && *l; l++)
        if (strchr("\r\n", *l))
            return cli_usage(c, "--depends-on must be one line");
    if (c->autogenerate && !c->schema_path)
        return cli_usage(c, "--autogenerate needs --schema FILE (the declared schema's DDL)");
    if (c->schema_path && !c->autogenerate)
        return cli_usage(c, "--schema FILE is only used with --autogenerate");
    if (c->autogenerate && c->lang && strcmp(c->lang, "c") == 0)
        return cli_usage(c, "--autogenerate writes SQL migrations, not --lang c");
    if (!c->message)
        return cli_usage(c, "-m MESSAGE is required (what the revision does)");
    const char *ed = NULL;
    if (c->edit && !(ed = editor()))
        return cli_usage(c, "--edit opens the new file in $VISUAL or $EDITOR, and neither is "
                            "set: set one (e.g. EDITOR=vi), or leave out --edit and edit the "
                            "file it prints");
    int lang_c = 0;
    if (c->lang && strcmp(c->lang, "c") == 0)
        lang_c = 1;
    else if (c->lang && strcmp(c->lang, "sql") != 0)
        return cli_usage(c, "--lang must be 'sql' or 'c', not '%s'", c->lang);
    if (c->rev_id && !tpl_id_valid(c->rev_id))
        return cli_usage(c, "--rev-id '%s' is not a valid revision id (1-128 characters of "
                            "[A-Za-z0-9_.-], not base, head or heads)", c->rev_id);
    char *message = clean_message(c->message);
    if (!message)
        return cli_fail(c, "out of memory");
    if (!*message) {
        free(message);
        return cli_usage(c, "-m MESSAGE is empty");
    }
    size_t ml = strlen(message);
    if (lang_c && (message[ml - 1] == '\\' || (ml >= 3 && strcmp(message + ml - 3, "?\?/") == 0))) {
        /* It goes on a // line, where a final backslash would swallow the
         * next line. */
        free(message);
        return cli_usage(c, "-m MESSAGE must not end with a backslash in a C migration");
    }

    char err[1024];
    int status = CLI_EXIT_OK;
    retort *r = NULL;
    int graph_loaded = 0;
    hist_graph g;
    char *depends = NULL;
    char *parents = NULL, *slug = NULL, *id = NULL, *tpl_text = NULL, *tpl_name = NULL,
         *filled = NULL, *path = NULL, *ident = NULL, *auto_up = NULL, *auto_down = NULL;
    const char *heads;

    if (cli_open(c, &r, 2) != CLI_EXIT_OK) {
        free(message);
        return CLI_EXIT_FAILURE;
    }
    if (retort_heads(r, &heads) != RETORT_OK)
        status = cli_lib_fail(c, r);
    if (status == CLI_EXIT_OK) {
        int rc = hist_load(r, NULL, &g);
        if (rc != RETORT_OK)
            status = rc == RETORT_ENOMEM ? cli_fail(c, "out of memory") : cli_lib_fail(c, r);
        else
            graph_loaded = 1;
    }
    if (status == CLI_EXIT_OK) {
        if (c->depends_on && (status = resolve_parents(c, &g, c->depends_on, &depends)) ==
                                 CLI_EXIT_OK)
            c->depends_on = depends; /* prefixes and labels as full ids */
        if (status != CLI_EXIT_OK) {
            /* reported */
        } else if (c->head_target) {
            status = resolve_head(c, &g, c->head_target, &parents);
        } else if (c->parents) {
            status = resolve_parents(c, &g, c->parents, &parents);
        } else {
            /* heads was invalidated by hist_load's calls: ask again. */
            if (retort_heads(r, &heads) != RETORT_OK)
                status = cli_lib_fail(c, r);
            else if (!(parents = strdup(heads)))
                status = cli_fail(c, "out of memory");
            else if (strchr(parents, ' '))
                cli_say(c, "Merging heads: %s\n", parents);
        }
    }

    int nothing_to_do = 0;
    if (status == CLI_EXIT_OK && c->autogenerate) {
        status = autogenerate(c, r, &auto_up, &auto_down);
        nothing_to_do = status == CLI_EXIT_OK && !*auto_up && !*auto_down;
        if (nothing_to_do)
            cli_say(c, "No changes: the database at head already has the schema %s declares; "
                       "nothing written\n", c->schema_path);
    }

    time_t now = 0;
    char stamp[15], date[21];
    if (nothing_to_do)
        goto done;
    if (status == CLI_EXIT_OK && tpl_now(&now, err, sizeof err) != 0)
        status = cli_fail(c, "%s", err);
    if (status == CLI_EXIT_OK) {
        tpl_format_stamp(now, stamp);
        tpl_format_date(now, date);
        if (c->rev_id) {
            id = strdup(c->rev_id);
        } else if ((slug = tpl_slug(message)) != NULL) {
            size_t n = strlen(stamp) + strlen(slug) + 2;
            if ((id = malloc(n)))
                snprintf(id, n, "%s_%s", stamp, slug);
        }
        if (!id || !(ident = tpl_c_ident(id)))
            status = cli_fail(c, "out of memory");
        else if (hist_find(&g, id) >= 0)
            status = cli_fail(c, "revision '%s' already exists in %s%s", id, cli_dirs_quoted(c),
                              c->rev_id ? "" : " (created within the same second with the same "
                                               "message; wait a second or pass --rev-id)");
    }
    if (status == CLI_EXIT_OK)
        status = load_template(c, lang_c, &tpl_text, &tpl_name);
    if (status == CLI_EXIT_OK) {
        tpl_vars v = {id, parents, message, date, ident};
        if (tpl_fill(tpl_text, tpl_name, &v, &filled, err, sizeof err) != 0)
            status = cli_fail(c, "%s", err);
    }
    if (status == CLI_EXIT_OK)
        status = add_graph_headers(c, lang_c, &filled);
    if (status == CLI_EXIT_OK && c->autogenerate)
        status = insert_sections(c, tpl_name, &filled, auto_up, auto_down);
    if (status == CLI_EXIT_OK) {
        strbuf b = STRBUF_INIT;
        sb_add(&b, id);
        sb_add(&b, lang_c ? ".c" : ".sql");
        char *name = sb_take(&b);
        if (!name || !(path = join(c->cfg.dir, name)))
            status = cli_fail(c, "out of memory");
        free(name);
    }
    if (status == CLI_EXIT_OK && tpl_write_new(path, filled, err, sizeof err) != 0)
        status = cli_fail(c, "%s", err);
    if (status == CLI_EXIT_OK) {
        if (lang_c) {
            tpl_cmig *all = NULL;
            int nall = 0;
            if (tpl_scan_c(c->cfg.dir, &all, &nall, err, sizeof err) != 0 ||
                tpl_write_index(c->cfg.dir, all, nall, err, sizeof err) != 0) {
                status = cli_fail(c, "%s (removed %s)", err, path);
                unlink(path);
            }
            tpl_cmig_free(all, nall);
        } else if (validate_sql_dir(c) != CLI_EXIT_OK) {
            unlink(path);
            status = CLI_EXIT_FAILURE;
        }
    }
    if (status == CLI_EXIT_OK) {
        cli_say(c, "Created %s\n", path);
        if (lang_c)
            cli_say(c, "Updated %s/%s, %s and %s\n", c->cfg.dir, TPL_INDEX_C, TPL_INDEX_H,
                    TPL_INDEX_LIST);
        if (c->autogenerate && (strstr(auto_up, "-- retort:review") ||
                                strstr(auto_down, "-- retort:review") ||
                                strstr(auto_up, "-- retort:destructive") ||
                                strstr(auto_down, "-- retort:destructive")))
            cli_say(c, "Review it: it has '-- retort:review' or '-- retort:destructive' "
                       "comments\n");
        /* The file is complete and valid before the editor opens it: a
         * failing editor leaves it for the user, not half written. */
        if (ed)
            status = run_editor(c, ed, path);
    }
done:
    if (graph_loaded)
        hist_free(&g);
    retort_free(r);
    free(message);
    free(parents);
    free(depends);
    free(slug);
    free(id);
    free(ident);
    free(tpl_text);
    free(tpl_name);
    free(filled);
    free(path);
    free(auto_up);
    free(auto_down);
    return status;
}
