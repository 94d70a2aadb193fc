/*
 * template.c — the contents of the files `retort revision` writes: ids,
 * slugs, placeholder filling, the built-in templates and the generated index
 * of C migrations.  Writes files but never touches a database; the callers
 * in scaffold.c decide what to write where and undo it on failure.
 */
#include "template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strbuf.h"

/* Templates and declared schemas are small text files: anything larger is
 * a mistake, refused before it fills memory. */
#define TPL_MAX_FILE (16 << 20)

/* The placeholders are the whole interface of a project's own template, so
 * the built-in ones use nothing else.  The header lines are the loader's
 * directives; everything after "-- retort:up" is the migration's SQL. */
const char tpl_default_sql[] =
    "-- retort:parents {{parents}}\n"
    "-- retort:message {{message}}\n"
    "--\n"
    "-- Revision {{id}}, created {{date}}.\n"
    "-- Add \"-- retort:no-transaction\" above to run it outside a transaction\n"
    "-- (CREATE INDEX CONCURRENTLY); remove the down section to make it\n"
    "-- irreversible.\n"
    "\n"
    "-- retort:up\n"
    "\n"
    "\n"
    "-- retort:down\n"
    "\n";

const char tpl_default_c[] =
    "// retort:parents {{parents}}\n"
    "// retort:message {{message}}\n"
    "//\n"
    "// Revision {{id}}, created {{date}}.\n"
    "// Fill in the bodies of up and down: " TPL_INDEX_C ", regenerated\n"
    "// by `retort revision --lang c`, registers them.  Add\n"
    "// \"// retort:no-transaction\" above to run it outside a transaction.\n"
    "#include \"" TPL_INDEX_H "\"\n"
    "\n"
    "int migration_{{ident}}_up(retort_conn *conn, void *user)\n"
    "{\n"
    "    (void)user;\n"
    "    return retort_exec(conn, \"\");\n"
    "}\n"
    "\n"
    "int migration_{{ident}}_down(retort_conn *conn, void *user)\n"
    "{\n"
    "    (void)user;\n"
    "    return retort_exec(conn, \"\");\n"
    "}\n";

char *tpl_slug(const char *message)
{
    strbuf b = STRBUF_INIT;
    int gap = 0;
    for (const unsigned char *p = (const unsigned char *)message; *p; p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (gap && b.len)
                sb_addc(&b, '_');
            gap = 0;
            sb_addc(&b, (char)c);
        } else {
            gap = 1;
        }
    }
    if (!b.failed && b.len > TPL_SLUG_MAX) {
        /* Cut at a word boundary rather than mid-word when one is near. */
        int mid_word = b.data[TPL_SLUG_MAX] != '_';
        b.len = TPL_SLUG_MAX;
        b.data[b.len] = '\0';
        char *us = strrchr(b.data, '_');
        if (mid_word && us && us - b.data >= TPL_SLUG_MAX / 2)
            *us = '\0', b.len = (size_t)(us - b.data);
        while (b.len && b.data[b.len - 1] == '_')
            b.data[--b.len] = '\0';
    }
    if (!b.failed && b.len == 0)
        sb_add(&b, "revision");
    return sb_take(&b);
}

int tpl_now(time_t *out, char *err, size_t errlen)
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (!sde || !*sde) {
        *out = time(NULL);
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(sde, &end, 10);
    if (errno || *end || v < 0 || v > 253402300799LL) { /* up to year 9999 */
        snprintf(err, errlen, "SOURCE_DATE_EPOCH='%.40s' is not a number of seconds since 1970",
                 sde);
        return 1;
    }
    *out = (time_t)v;
    return 0;
}

void tpl_format_stamp(time_t t, char out[15])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}

void tpl_format_date(time_t t, char out[21])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int tpl_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 128 || strcmp(id, "base") == 0 || strcmp(id, "head") == 0 ||
        strcmp(id, "heads") == 0)
        return 0;
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

char *tpl_c_ident(const char *id)
{
    char *s = strdup(id);
    if (s)
        for (char *p = s; *p; p++)
            if (*p == '-' || *p == '.')
                *p = '_';
    return s;
}

static int char_class(char ch) { return ch < '0' ? 0 : ch <= '9' ? 1 : 2; }

/* Must agree with the library's loader (lib/loader.c) so that C and SQL
 * directories default their parents the same way. */
int tpl_id_cmp(const char *a0, const char *b0)
{
    const char *a = a0, *b = b0;
    int ca = char_class(a[0]), cb = char_class(b[0]);
    if (ca != cb)
        return ca < cb ? -1 : 1;
    if (ca == 1) {
        while (a[0] == '0' && a[1] >= '0' && a[1] <= '9')
            a++;
        while (b[0] == '0' && b[1] >= '0' && b[1] <= '9')
            b++;
        size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
        if (la != lb)
            return la < lb ? -1 : 1;
        int d = memcmp(a, b, la);
        if (d)
            return d < 0 ? -1 : 1;
    }
    int d = strcmp(a0, b0);
    return d < 0 ? -1 : d > 0;
}

int tpl_fill(const char *text, const char *name, const tpl_vars *v, char **out, char *err,
             size_t errlen)
{
    strbuf b = STRBUF_INIT;
    int line = 1;
    const char *p = text;
    while (*p) {
        if (p[0] == '{' && p[1] == '{') {
            const char *close = strstr(p + 2, "}}");
            const char *nl = strchr(p + 2, '\n');
            if (!close || (nl && nl < close)) {
                snprintf(err, errlen, "%s:%d: '{{' without a closing '}}' on the same line", name,
                         line);
                sb_free(&b);
                return 1;
            }
            size_t n = (size_t)(close - (p + 2));
            const char *val = NULL;
            if (n == 2 && memcmp(p + 2, "id", 2) == 0)
                val = v->id;
            else if (n == 7 && memcmp(p + 2, "parents", 7) == 0)
                val = v->parents;
            else if (n == 7 && memcmp(p + 2, "message", 7) == 0)
                val = v->message;
            else if (n == 4 && memcmp(p + 2, "date", 4) == 0)
                val = v->date;
            else if (n == 5 && memcmp(p + 2, "ident", 5) == 0)
                val = v->ident;
            if (!val) {
                snprintf(err, errlen, "%s:%d: unknown placeholder '{{%.*s}}' (known: {{id}}, "
                                      "{{parents}}, {{message}}, {{date}}, {{ident}})",
                         name, line, (int)(n > 40 ? 40 : n), p + 2);
                sb_free(&b);
                return 1;
            }
            sb_add(&b, val);
            p = close + 2;
            continue;
        }
        if (*p == '\n') {
            /* Drop trailing blanks: an empty {{parents}} would leave one. */
            while (b.len && (b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\t'))
                b.data[--b.len] = '\0';
            line++;
        }
        sb_addc(&b, *p++);
    }
    while (b.len && (b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\t'))
        b.data[--b.len] = '\0';
    if (!(*out = sb_take(&b))) {
        snprintf(err, errlen, "out of memory filling %s", name);
        return 1;
    }
    return 0;
}

int tpl_read_file(const char *path, char **out, char *err, size_t errlen)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then
     * refuses it, and devices such as /dev/zero, before any read. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        close(fd);
        return 1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "'%s' is not a regular file", path);
        close(fd);
        return 1;
    }
    strbuf b = STRBUF_INIT;
    char chunk[8192];
    ssize_t n;
    int bad = 0, big = 0;
    for (;;) {
        n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            bad = n < 0;
            break;
        }
        if (b.len + (size_t)n > TPL_MAX_FILE) { /* it may grow while we read */
            big = 1;
            break;
        }
        sb_add_n(&b, chunk, (size_t)n);
    }
    close(fd);
    if (bad || big) {
        if (big)
            snprintf(err, errlen, "'%s' is larger than %d MiB: not a template or schema file",
                     path, TPL_MAX_FILE >> 20);
        else
            snprintf(err, errlen, "cannot read '%s': read error", path);
        sb_free(&b);
        return 1;
    }
    if (b.len && memchr(b.data, '\0', b.len)) {
        snprintf(err, errlen, "'%s' contains a NUL byte: not a text file", path);
        sb_free(&b);
        return 1;
    }
    if (!(*out = sb_take(&b))) {
        snprintf(err, errlen, "out of memory reading '%s'", path);
        return 1;
    }
    return 0;
}

static int write_all(int fd, const char *text)
{
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

int tpl_write_new(const char *path, const char *text, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create '%s': %s", path, strerror(errno));
        return 1;
    }
    if (write_all(fd, text) != 0 || close(fd) != 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        unlink(path);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ C migrations */

static void cmig_clear(tpl_cmig *m)
{
    free(m->id);
    free(m->file);
    free(m->ident);
    free(m->parents);
    free(m->message);
    free(m->labels);
    free(m->depends);
    memset(m, 0, sizeof *m);
}

void tpl_cmig_free(tpl_cmig *v, int n)
{
    for (int i = 0; i < n; i++)
        cmig_clear(&v[i]);
    free(v);
}

/* Whether text starts like a C migration: among its leading comments
 * ("//" lines and block comments, such as a licence, before any code), a
 * "// retort:" directive line (the header `revision --lang c` writes). */
static int has_c_header(const char *text)
{
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (p[0] == '/' && p[1] == '/') {
            const char *q = p + 2;
            while (*q == ' ' || *q == '\t')
                q++;
            if (strncmp(q, "retort:", 7) == 0)
                return 1;
            p = strchr(p, '\n');
            if (!p)
                return 0;
        } else if (p[0] == '/' && p[1] == '*') {
            p = strstr(p + 2, "*/");
            if (!p)
                return 0;
            p += 2;
        } else {
            return 0;
        }
    }
}

static int cmig_cmp(const void *a, const void *b)
{
    return tpl_id_cmp(((const tpl_cmig *)a)->id, ((const tpl_cmig *)b)->id);
}

static char *join_path(const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    char *p = malloc(dl + strlen(name) + 2);
    if (p)
        sprintf(p, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name);
    return p;
}

static char *trimmed_dup(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    return strndup(s, n);
}

/* Reads the "// retort:NAME ARG" lines of one C migration. */
static int parse_c_header(tpl_cmig *m, const char *path, const char *text, int *has_parents,
                          char *err, size_t errlen)
{
    int line = 0, parents_line = 0, message_line = 0;
    for (const char *s = text; *s;) {
        const char *e = strchr(s, '\n');
        const char *next = e ? e + 1 : s + strlen(s);
        if (!e)
            e = next;
        line++;
        const char *p = s;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if (e - p >= 2 && p[0] == '/' && p[1] == '/') {
            p += 2;
            while (p < e && (*p == ' ' || *p == '\t'))
                p++;
            if ((size_t)(e - p) >= 7 && memcmp(p, "retort:", 7) == 0) {
                const char *name = p + 7, *ne = name;
                while (ne < e && *ne != ' ' && *ne != '\t' && *ne != '\r')
                    ne++;
                size_t nl = (size_t)(ne - name);
                char *arg = trimmed_dup(ne, (size_t)(e - ne));
                if (!arg) {
                    snprintf(err, errlen, "out of memory");
                    return 1;
                }
                int bad = 0;
                if (nl == 7 && memcmp(name, "parents", 7) == 0) {
                    if (*has_parents) {
                        snprintf(err, errlen, "%s:%d: second '// retort:parents' line (the "
                                              "first is line %d)", path, line, parents_line);
                        bad = 1;
                    } else {
                        *has_parents = 1;
                        parents_line = line;
                        m->parents = arg, arg = NULL;
                    }
                } else if (nl == 7 && memcmp(name, "message", 7) == 0) {
                    if (m->message) {
                        snprintf(err, errlen, "%s:%d: second '// retort:message' line (the "
                                              "first is line %d)", path, line, message_line);
                        bad = 1;
                    } else {
                        message_line = line;
                        m->message = arg, arg = NULL;
                    }
                } else if (nl == 14 && memcmp(name, "no-transaction", 14) == 0 && !*arg) {
                    m->no_transaction = 1;
                } else if ((nl == 13 && memcmp(name, "branch-labels", 13) == 0) ||
                           (nl == 10 && memcmp(name, "depends-on", 10) == 0)) {
                    char **slot = nl == 13 ? &m->labels : &m->depends;
                    if (*slot) {
                        snprintf(err, errlen, "%s:%d: second '// retort:%.*s' line", path, line,
                                 (int)nl, name);
                        bad = 1;
                    } else {
                        *slot = arg, arg = NULL;
                    }
                } else {
                    snprintf(err, errlen, "%s:%d: unknown directive '// retort:%.*s' (known in C "
                                          "migrations: parents, message, no-transaction, "
                                          "branch-labels, depends-on)",
                             path, line, (int)(nl > 60 ? 60 : nl), name);
                    bad = 1;
                }
                free(arg);
                if (bad)
                    return 1;
            }
        }
        s = next;
    }
    return 0;
}

int tpl_scan_c(const char *dir, tpl_cmig **out, int *nout, char *err, size_t errlen)
{
    *out = NULL;
    *nout = 0;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot open migrations directory '%s': %s", dir, strerror(errno));
        return 1;
    }
    tpl_cmig *v = NULL;
    int n = 0, rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t len = strlen(name);
        if (name[0] == '.' || len < 3 || strcmp(name + len - 2, ".c") != 0 ||
            strcmp(name, TPL_INDEX_C) == 0)
            continue;
        tpl_cmig *g = realloc(v, (size_t)(n + 1) * sizeof *g);
        if (!g) {
            snprintf(err, errlen, "out of memory");
            rc = 1;
            break;
        }
        v = g;
        memset(&v[n], 0, sizeof v[n]);
        v[n].id = strndup(name, len - 2);
        v[n].file = join_path(dir, name);
        n++;
        if (!v[n - 1].id || !v[n - 1].file) {
            snprintf(err, errlen, "out of memory");
            rc = 1;
        }
    }
    closedir(d);
    if (!rc && n)
        qsort(v, (size_t)n, sizeof *v, cmig_cmp);
    char **texts = rc || !n ? NULL : calloc((size_t)n, sizeof *texts);
    if (!rc && n && !texts) {
        snprintf(err, errlen, "out of memory");
        rc = 1;
    }
    /* A .c file without a "// retort:" header is a helper the migrations
     * share (or anything else): not a migration, and no one's default
     * parent. */
    int kept = 0;
    for (int i = 0; !rc && i < n; i++) {
        char *text = NULL;
        if (tpl_read_file(v[i].file, &text, err, errlen)) {
            rc = 1;
        } else if (!has_c_header(text)) {
            free(text);
            cmig_clear(&v[i]);
        } else if (!tpl_id_valid(v[i].id)) {
            snprintf(err, errlen, "'%s': '%s' is not a valid revision id (1-128 characters of "
                                  "[A-Za-z0-9_.-], not base, head or heads)",
                     v[i].file, v[i].id);
            free(text);
            rc = 1;
        } else {
            tpl_cmig t = v[i];
            memset(&v[i], 0, sizeof v[i]);
            texts[kept] = text;
            v[kept++] = t;
        }
    }
    if (!rc)
        n = kept;
    for (int i = 0; !rc && i < n; i++) {
        char *text = texts[i];
        texts[i] = NULL;
        int has_parents = 0;
        if (parse_c_header(&v[i], v[i].file, text, &has_parents, err, errlen)) {
            rc = 1;
        } else {
            if (!has_parents)
                v[i].parents = strdup(i ? v[i - 1].id : "");
            if (!v[i].message)
                v[i].message = strdup("");
            v[i].ident = tpl_c_ident(v[i].id);
            if (!v[i].parents || !v[i].message || !v[i].ident) {
                snprintf(err, errlen, "out of memory");
                rc = 1;
            }
        }
        free(text);
        /* Two ids with one identifier would define one function twice. */
        for (int j = 0; !rc && j < i; j++) {
            if (strcmp(v[j].ident, v[i].ident) == 0) {
                snprintf(err, errlen, "'%s' and '%s' map to the same C name migration_%s_*; "
                                      "rename one",
                         v[j].file, v[i].file, v[i].ident);
                rc = 1;
            }
        }
    }
    for (int i = 0; texts && i < n; i++)
        free(texts[i]);
    free(texts);
    if (rc) {
        tpl_cmig_free(v, n);
        return 1;
    }
    *out = v;
    *nout = n;
    return 0;
}

/* A C string literal's contents: quotes, backslashes, control characters and
 * '?' (trigraphs) escaped. */
static void add_c_string(strbuf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '?')
            sb_addc(b, '\\'), sb_addc(b, (char)*p);
        else if (*p < 0x20 || *p == 0x7f)
            sb_printf(b, "\\%03o", *p);
        else
            sb_addc(b, (char)*p);
    }
}

int tpl_render_index(const tpl_cmig *v, int n, char **c_text, char **h_text, char **list_text,
                     char *err, size_t errlen)
{
    strbuf h = STRBUF_INIT, c = STRBUF_INIT, l = STRBUF_INIT;
    /* For build systems that cannot glob (meson): every source to compile. */
    for (int i = 0; i < n; i++) {
        const char *base = strrchr(v[i].file, '/');
        sb_printf(&l, "%s\n", base ? base + 1 : v[i].file);
    }
    sb_add(&l, TPL_INDEX_C "\n");
    sb_add(&h, "/*\n"
               " * " TPL_INDEX_H " -- generated by `retort revision --lang c`; do not edit.\n"
               " * Declares the up and down steps of every C migration in this directory and\n"
               " * migrations_register(), which registers them all on a context.\n"
               " */\n"
               "#ifndef RETORT_MIGRATIONS_H\n"
               "#define RETORT_MIGRATIONS_H\n"
               "\n"
               "#include <retort/retort.h>\n"
               "\n"
               "/* Registers every migration below, in id order: RETORT_OK or the first\n"
               " * failing call's status (retort_errmsg says why). */\n"
               "int migrations_register(retort *r);\n");
    if (n)
        sb_add(&h, "\n");
    for (int i = 0; i < n; i++)
        sb_printf(&h, "int migration_%s_up(retort_conn *conn, void *user);\n"
                      "int migration_%s_down(retort_conn *conn, void *user);\n",
                  v[i].ident, v[i].ident);
    sb_add(&h, "\n#endif\n");

    sb_add(&c, "/*\n"
               " * " TPL_INDEX_C " -- generated by `retort revision --lang c` from the\n"
               " * \"// retort:\" header lines of the C migrations in this directory; do not\n"
               " * edit: it is rewritten whenever a migration is added.\n"
               " */\n"
               "#include <stddef.h>\n"
               "\n"
               "#include \"" TPL_INDEX_H "\"\n"
               "\n"
               "int migrations_register(retort *r)\n"
               "{\n"
               "    int rc = RETORT_OK;\n");
    for (int i = 0; i < n; i++) {
        sb_add(&c, "    if (rc == RETORT_OK)\n        rc = retort_add(r, \"");
        add_c_string(&c, v[i].id);
        sb_add(&c, "\", \"");
        add_c_string(&c, v[i].parents);
        sb_add(&c, "\", \"");
        add_c_string(&c, v[i].message);
        sb_printf(&c, "\",\n                        migration_%s_up,\n"
                      "                        migration_%s_down, NULL);\n",
                  v[i].ident, v[i].ident);
        if (v[i].no_transaction) {
            sb_add(&c, "    if (rc == RETORT_OK)\n"
                       "        rc = retort_revision_set_transactional(r, \"");
            add_c_string(&c, v[i].id);
            sb_add(&c, "\", 0);\n");
        }
        if (v[i].labels) {
            sb_add(&c, "    if (rc == RETORT_OK)\n"
                       "        rc = retort_revision_set_branch_labels(r, \"");
            add_c_string(&c, v[i].id);
            sb_add(&c, "\", \"");
            add_c_string(&c, v[i].labels);
            sb_add(&c, "\");\n");
        }
        if (v[i].depends) {
            sb_add(&c, "    if (rc == RETORT_OK)\n"
                       "        rc = retort_revision_set_depends_on(r, \"");
            add_c_string(&c, v[i].id);
            sb_add(&c, "\", \"");
            add_c_string(&c, v[i].depends);
            sb_add(&c, "\");\n");
        }
    }
    sb_add(&c, "    return rc;\n}\n");
    if (sb_failed(&c) || sb_failed(&h) || sb_failed(&l)) {
        sb_free(&c);
        sb_free(&h);
        sb_free(&l);
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    *c_text = sb_take(&c);
    *h_text = sb_take(&h);
    *list_text = sb_take(&l);
    return 0;
}

/* Writes path through path.tmp so readers never see half an index. */
static int write_tmp(const char *path, const char *text, char **tmp, char *err, size_t errlen)
{
    size_t n = strlen(path) + 5;
    if (!(*tmp = malloc(n))) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    snprintf(*tmp, n, "%s.tmp", path);
    unlink(*tmp); /* a leftover of an interrupted run */
    if (tpl_write_new(*tmp, text, err, errlen)) {
        free(*tmp);
        *tmp = NULL;
        return 1;
    }
    return 0;
}

int tpl_write_index(const char *dir, const tpl_cmig *v, int n, char *err, size_t errlen)
{
    enum { NFILES = 3 };
    static const char *const names[NFILES] = {TPL_INDEX_H, TPL_INDEX_C, TPL_INDEX_LIST};
    char *text[NFILES] = {NULL, NULL, NULL}, *path[NFILES], *tmp[NFILES] = {NULL, NULL, NULL};
    int rc = 0;
    for (int k = 0; k < NFILES; k++)
        if (!(path[k] = join_path(dir, names[k])))
            rc = 1;
    if (rc)
        snprintf(err, errlen, "out of memory");
    if (!rc)
        rc = tpl_render_index(v, n, &text[1], &text[0], &text[2], err, errlen);
    for (int k = 0; k < NFILES && !rc; k++)
        rc = write_tmp(path[k], text[k], &tmp[k], err, errlen);
    /* All three are written before any replaces its old version. */
    for (int k = 0; k < NFILES && !rc; k++) {
        if (rename(tmp[k], path[k]) != 0) {
            snprintf(err, errlen, "cannot replace '%s': %s", path[k], strerror(errno));
            rc = 1;
        } else {
            free(tmp[k]);
            tmp[k] = NULL;
        }
    }
    for (int k = 0; k < NFILES; k++) {
        if (tmp[k])
            unlink(tmp[k]);
        free(tmp[k]);
        free(text[k]);
        free(path[k]);
    }
    return rc;
}
