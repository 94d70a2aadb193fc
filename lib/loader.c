/*
 * loader.c — retort_load_dir(): registers the SQL migrations of a directory.
 *
 * Owns the two file formats and their header directives:
 *   ID.sql                 "-- retort:up" and "-- retort:down" sections (dbmate's
 *                          "-- migrate:up" / "-- migrate:down" are accepted too)
 *   ID.up.sql, ID.down.sql golang-migrate / dbmate pairs; no down file makes
 *                          the revision irreversible
 * and the rule that a file without "-- retort:parents" has the previous id in
 * sorted order as its parent.  Anything else in the directory (README.md,
 * template files, the C index) is not a migration and is ignored.
 *
 * The whole directory is read and validated before anything is registered,
 * and if registering any of its revisions fails (running out of memory
 * halfway included) the ones already added are removed again
 * (rt_registry_truncate): the context is left exactly as it was.  Graph-wide checks (cycles) stay with graph.c,
 * which reports them at the first operation.
 *
 * Sorting: ids are ordered by strcmp, except that a leading run of digits is
 * compared by its numeric value first, so that golang-migrate's unpadded
 * "1_a", "2_b", "10_c" keep their intended order.  For zero-padded numbers
 * and timestamps (equal-length digit runs) this is exactly strcmp.
 */
/* d_type in struct dirent: the directory listing already says which entries
 * are regular files, sparing a stat per migration on every startup. */
#define _DEFAULT_SOURCE 1

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "context.h"
#include "error.h"
#include "memory.h"
#include "registry.h"

enum { F_SINGLE, F_UP, F_DOWN };

/* One directory entry that names a migration file. */
typedef struct ld_entry {
    char *name; /* file name within the directory */
    char *id;
    int kind;   /* F_SINGLE, F_UP, F_DOWN */
} ld_entry;

/* One revision assembled from its file(s). */
typedef struct ld_rev {
    const char *id;        /* borrowed from its entry */
    const char *file;      /* the file holding the header: ID.sql or ID.up.sql */
    const char *down_file; /* ID.down.sql, or NULL */
    char *up_sql, *down_sql;
    char *parents;         /* the directive's text, or NULL for the default */
    int has_parents;
    int parents_line;
    char *message;         /* NULL: derived from the id */
    int no_transaction;
} ld_rev;

typedef struct ld_ctx {
    const char *dir;
    rt_buf err;
    int code;
    int dirfd;     /* dir, opened once for openat; -1 until then or if it failed */
    char *scratch; /* LD_SCRATCH bytes that each file is first read into */
} ld_ctx;

/* Larger than any migration file in practice: one read() with no fstat()
 * before it tells the whole size, because a short read of a regular file
 * means its end. */
#define LD_SCRATCH 65536

/* A migration file larger than this is refused, read no further: a
 * runaway file (a sparse 2 GB one, a device) must not be read whole. */
#define LD_MAX_FILE (128 << 20)

static int fail(ld_ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(ld_ctx *c, int code, const char *fmt, ...)
{
    if (c->code == RETORT_OK) {
        va_list ap;
        va_start(ap, fmt);
        rt_buf_vprintf(&c->err, fmt, ap);
        va_end(ap);
        c->code = code;
    }
    return c->code;
}

static int oom(ld_ctx *c) { return fail(c, RETORT_ENOMEM, "out of memory loading '%s'", c->dir); }

/* ------------------------------------------------------------ ordering */

static int char_class(char ch) { return ch < '0' ? 0 : ch <= '9' ? 1 : 2; }

/* See the file comment: the numeric value of leading digits first; 0 when
 * that does not decide (id_cmp_full then falls back to strcmp).  Together a
 * total order (class of the first character, number, whole string), so qsort
 * and bsearch can rely on it. */
static int id_cmp_num(const char *a, const char *b)
{
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
    return 0;
}

static int id_cmp_full(const char *a, const char *b)
{
    int d = id_cmp_num(a, b);
    return d ? d : strcmp(a, b);
}

static int entry_cmp(const void *pa, const void *pb)
{
    const ld_entry *a = pa, *b = pb;
    int d = id_cmp_full(a->id, b->id);
    return d ? d : a->kind - b->kind;
}

/* ------------------------------------------------------------ reading */

static int has_suffix(const char *name, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len > n && memcmp(name + len - n, suffix, n) == 0;
}

static void path_of(rt_buf *b, const char *dir, const char *name)
{
    rt_buf_append(b, dir);
    if (b->len && b->data[b->len - 1] != '/')
        rt_buf_append_char(b, '/');
    rt_buf_append(b, name);
}

/* Reads dir/name whole into *text (NUL-terminated).  A startup reads every
 * migration file, so each costs three system calls: openat (relative to the
 * directory, opened once), one read into the scratch buffer, close.  The
 * path is spelled out only for messages. */
static int read_file(ld_ctx *c, const char *name, char **text)
{
    if (!c->scratch && !(c->scratch = rt_malloc(LD_SCRATCH)))
        return oom(c);
    if (c->dirfd < 0)
        c->dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rt_buf path = RT_BUF_INIT;
    int fd;
    if (c->dirfd >= 0) {
        fd = openat(c->dirfd, name, O_RDONLY | O_CLOEXEC);
    } else {
        path_of(&path, c->dir, name);
        if (rt_buf_failed(&path))
            return oom(c);
        fd = open(rt_buf_str(&path), O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        int e = errno;
        rt_buf_reset(&path);
        path_of(&path, c->dir, name);
        fail(c, RETORT_EIO, "cannot read '%s': %s", rt_buf_str(&path), strerror(e));
        rt_buf_free(&path);
        return c->code;
    }
    rt_buf data = RT_BUF_INIT;
    int rerr = 0, too_big = 0;
    long nul_line = 0; /* the line of the first NUL byte, 0 if none */
    long lines = 1;
    ssize_t got;
    /* Each chunk is checked as it comes: a NUL byte or a size past the
     * limit stops the read there, not after a huge file was read whole. */
    for (size_t want = LD_SCRATCH;;) {
        while ((got = read(fd, c->scratch, want)) < 0 && errno == EINTR)
            ;
        if (got < 0) {
            rerr = 1;
            break;
        }
        const char *nul = memchr(c->scratch, '\0', (size_t)got);
        if (nul) {
            nul_line = lines;
            for (const char *p = c->scratch; p < nul; p++)
                nul_line += *p == '\n';
            break;
        }
        if (data.len + (size_t)got > LD_MAX_FILE) {
            too_big = 1;
            break;
        }
        for (ssize_t i = 0; i < got; i++)
            lines += c->scratch[i] == '\n';
        rt_buf_append_n(&data, c->scratch, (size_t)got);
        /* A short read of a regular file means its end. */
        if ((size_t)got < want || rt_buf_failed(&data))
            break;
    }
    close(fd);
    if (rerr || too_big || nul_line || rt_buf_failed(&data)) {
        rt_buf_reset(&path);
        path_of(&path, c->dir, name);
    }
    if (rerr) {
        fail(c, RETORT_EIO, "cannot read '%s': read error", rt_buf_str(&path));
    } else if (rt_buf_failed(&data) || rt_buf_failed(&path)) {
        oom(c);
    } else if (nul_line) {
        /* The text is handed on as a C string: a NUL would silently cut it. */
        fail(c, RETORT_EPARSE, "%s:%ld: the file contains a NUL byte (not a SQL text file?)",
             rt_buf_str(&path), nul_line);
    } else if (too_big) {
        fail(c, RETORT_EPARSE, "%s: the file is larger than %d MiB, the limit for a migration "
                               "file (load data with COPY from a server-side file instead)",
             rt_buf_str(&path), LD_MAX_FILE >> 20);
    } else {
        rt_buf_append(&data, ""); /* an empty file still gets a buffer */
        *text = rt_buf_take(&data);
        if (!*text)
            oom(c);
    }
    rt_buf_free(&data);
    rt_buf_free(&path);
    return c->code;
}

/* ------------------------------------------------------------ directives */

enum { D_NONE, D_UP, D_DOWN, D_PARENTS, D_MESSAGE, D_NO_TX, D_UNKNOWN };

typedef struct ld_directive {
    int kind;
    const char *name; /* for messages: the directive as written, up to its argument */
    size_t name_len;
    const char *arg;  /* trimmed argument, not NUL-terminated */
    size_t arg_len;
    int dbmate;       /* "-- migrate:up/down", whose argument is dbmate's options */
} ld_directive;

static int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

/* Recognises "-- retort:NAME ARG" (and dbmate's "-- migrate:up|down") in the
 * line [s, e).  Anything else is ordinary SQL or comment text. */
static void parse_directive(const char *s, const char *e, ld_directive *d)
{
    memset(d, 0, sizeof *d);
    d->kind = D_NONE;
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    if (e - s < 2 || s[0] != '-' || s[1] != '-')
        return;
    const char *p = s + 2;
    while (p < e && is_blank(*p))
        p++;
    const char *name;
    if ((size_t)(e - p) >= 7 && memcmp(p, "retort:", 7) == 0) {
        name = p + 7;
    } else if ((size_t)(e - p) >= 8 && memcmp(p, "migrate:", 8) == 0) {
        const char *q = p + 8, *qe = q;
        while (qe < e && !is_blank(*qe))
            qe++;
        int up = qe - q == 2 && memcmp(q, "up", 2) == 0;
        int down = qe - q == 4 && memcmp(q, "down", 4) == 0;
        if (!up && !down)
            return; /* dbmate has no other markers: leave it a comment */
        d->kind = up ? D_UP : D_DOWN;
        d->dbmate = 1;
        d->name = p;
        d->name_len = (size_t)(qe - p);
        while (qe < e && is_blank(*qe))
            qe++;
        d->arg = qe;
        d->arg_len = (size_t)(e - qe);
        return;
    } else {
        return;
    }
    const char *ne = name;
    while (ne < e && !is_blank(*ne))
        ne++;
    size_t nl = (size_t)(ne - name);
    d->name = p;
    d->name_len = (size_t)(ne - p);
    while (ne < e && is_blank(*ne))
        ne++;
    d->arg = ne;
    d->arg_len = (size_t)(e - ne);
    if (nl == 2 && memcmp(name, "up", 2) == 0)
        d->kind = D_UP;
    else if (nl == 4 && memcmp(name, "down", 4) == 0)
        d->kind = D_DOWN;
    else if (nl == 7 && memcmp(name, "parents", 7) == 0)
        d->kind = D_PARENTS;
    else if (nl == 7 && memcmp(name, "message", 7) == 0)
        d->kind = D_MESSAGE;
    else if (nl == 14 && memcmp(name, "no-transaction", 14) == 0)
        d->kind = D_NO_TX;
    else if ((nl == 6 && memcmp(name, "review", 6) == 0) ||
             (nl == 11 && memcmp(name, "destructive", 11) == 0))
        d->kind = D_NONE; /* autogenerate's notes to the author: comments */
    else
        d->kind = D_UNKNOWN;
}

/* The location prefix "DIR/FILE:LINE" of messages. */
typedef struct ld_where {
    ld_ctx *c;
    const char *file;
    int line;
} ld_where;

static int failw(ld_where *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int failw(ld_where *w, const char *fmt, ...)
{
    if (w->c->code != RETORT_OK)
        return w->c->code;
    rt_buf *b = &w->c->err;
    path_of(b, w->c->dir, w->file);
    if (w->line > 0)
        rt_buf_printf(b, ":%d", w->line);
    rt_buf_append(b, ": ");
    va_list ap;
    va_start(ap, fmt);
    rt_buf_vprintf(b, fmt, ap);
    va_end(ap);
    w->c->code = RETORT_EPARSE;
    return RETORT_EPARSE;
}

/* Handles a header directive (parents, message, no-transaction) wherever the
 * format allows one. */
static int header_directive(ld_where *w, const ld_directive *d, ld_rev *rev, int *message_line,
                            int *notx_line)
{
    switch (d->kind) {
    case D_PARENTS:
        if (rev->has_parents)
            return failw(w, "second '-- retort:parents' line (the first is line %d)",
                         rev->parents_line);
        rev->has_parents = 1;
        rev->parents_line = w->line;
        if (!(rev->parents = rt_strndup(d->arg, d->arg_len)))
            return oom(w->c);
        return RETORT_OK;
    case D_MESSAGE:
        if (rev->message)
            return failw(w, "second '-- retort:message' line (the first is line %d)",
                         *message_line);
        *message_line = w->line;
        if (!(rev->message = rt_strndup(d->arg, d->arg_len)))
            return oom(w->c);
        return RETORT_OK;
    case D_NO_TX:
        if (d->arg_len)
            return failw(w, "'-- retort:no-transaction' takes no argument, found '%.*s'",
                         (int)(d->arg_len > 80 ? 80 : d->arg_len), d->arg);
        if (rev->no_transaction)
            return failw(w, "second '-- retort:no-transaction' line (the first is line %d)",
                         *notx_line);
        *notx_line = w->line;
        rev->no_transaction = 1;
        return RETORT_OK;
    default:
        return RETORT_OK;
    }
}

static int unknown_directive(ld_where *w, const ld_directive *d)
{
    return failw(w, "unknown directive '-- %.*s' (known: retort:up, retort:down, "
                    "retort:parents, retort:message, retort:no-transaction)",
                 (int)(d->name_len > 80 ? 80 : d->name_len), d->name);
}

/* Checks the arguments of an up/down marker: none for retort's, dbmate's
 * "transaction:false" option for "-- migrate:up". */
static int marker_args(ld_where *w, const ld_directive *d, ld_rev *rev)
{
    if (!d->arg_len)
        return RETORT_OK;
    if (d->dbmate && d->arg_len == 17 && memcmp(d->arg, "transaction:false", 17) == 0) {
        if (d->kind == D_UP)
            rev->no_transaction = 1;
        return RETORT_OK;
    }
    return failw(w, "'-- %.*s' takes no argument, found '%.*s'", (int)d->name_len, d->name,
                 (int)(d->arg_len > 80 ? 80 : d->arg_len), d->arg);
}

/* Whether [s, e) is blank or a "--" comment: what may precede the up marker. */
static int is_comment_or_blank(const char *s, const char *e)
{
    while (s < e && is_blank(*s))
        s++;
    return s == e || (e - s >= 2 && s[0] == '-' && s[1] == '-');
}

static int parse_single(ld_ctx *c, ld_rev *rev, const char *text)
{
    ld_where w = {c, rev->file, 0};
    enum { HEADER, UP, DOWN } state = HEADER;
    const char *up_start = NULL, *up_end = NULL, *down_start = NULL;
    int up_line = 0, down_line = 0, message_line = 0, notx_line = 0;
    for (const char *s = text; *s;) {
        const char *e = strchr(s, '\n');
        const char *next = e ? e + 1 : s + strlen(s);
        if (!e)
            e = next;
        w.line++;
        ld_directive d;
        parse_directive(s, e, &d);
        switch (d.kind) {
        case D_NONE:
            if (state == HEADER && !is_comment_or_blank(s, e))
                return failw(&w, "SQL before '-- retort:up' (the up statements go after that "
                                 "line, the down statements after '-- retort:down')");
            break;
        case D_UP:
            if (state != HEADER)
                return failw(&w, "second up marker '-- %.*s' (the first is line %d)",
                             (int)d.name_len, d.name, up_line);
            if (marker_args(&w, &d, rev) != RETORT_OK)
                return c->code;
            state = UP;
            up_line = w.line;
            up_start = next;
            break;
        case D_DOWN:
            if (state == HEADER)
                return failw(&w, "'-- %.*s' before '-- retort:up'", (int)d.name_len, d.name);
            if (state == DOWN)
                return failw(&w, "second down marker '-- %.*s' (the first is line %d)",
                             (int)d.name_len, d.name, down_line);
            if (marker_args(&w, &d, rev) != RETORT_OK)
                return c->code;
            state = DOWN;
            down_line = w.line;
            up_end = s;
            down_start = next;
            break;
        case D_UNKNOWN:
            return unknown_directive(&w, &d);
        default:
            if (state != HEADER)
                return failw(&w, "'-- %.*s' belongs in the header, before '-- retort:up' "
                                 "(line %d)", (int)d.name_len, d.name, up_line);
            if (header_directive(&w, &d, rev, &message_line, &notx_line) != RETORT_OK)
                return c->code;
            break;
        }
        s = next;
    }
    if (state == HEADER) {
        w.line = 0;
        return failw(&w, "missing up section: no '-- retort:up' line (a single-file "
                         "migration has '-- retort:up', then the up SQL, then optionally "
                         "'-- retort:down' and the down SQL)");
    }
    const char *end = text + strlen(text);
    if (!up_end)
        up_end = end;
    rev->up_sql = rt_strndup(up_start, (size_t)(up_end - up_start));
    if (down_start)
        rev->down_sql = rt_strndup(down_start, (size_t)(end - down_start));
    if (!rev->up_sql || (down_start && !rev->down_sql))
        return oom(c);
    return RETORT_OK;
}

/* ID.up.sql: all of it is the up SQL; header directives may appear anywhere
 * as comments.  ID.down.sql: all of it is the down SQL, no directives. */
static int parse_pair_file(ld_ctx *c, ld_rev *rev, const char *file, const char *text, int up)
{
    ld_where w = {c, file, 0};
    int message_line = 0, notx_line = 0;
    for (const char *s = text; *s;) {
        const char *e = strchr(s, '\n');
        const char *next = e ? e + 1 : s + strlen(s);
        if (!e)
            e = next;
        w.line++;
        ld_directive d;
        parse_directive(s, e, &d);
        if (d.kind == D_UNKNOWN)
            return unknown_directive(&w, &d);
        if ((d.kind == D_UP || d.kind == D_DOWN) && !d.dbmate)
            return failw(&w, "'-- %.*s' is for single-file migrations (ID.sql); in "
                             "ID.up.sql / ID.down.sql the whole file is the section",
                         (int)d.name_len, d.name);
        if (d.kind != D_NONE && d.kind != D_UP && d.kind != D_DOWN) {
            if (!up)
                return failw(&w, "'-- %.*s' belongs in %s.up.sql, not in the down file",
                             (int)d.name_len, d.name, rev->id);
            if (header_directive(&w, &d, rev, &message_line, &notx_line) != RETORT_OK)
                return c->code;
        }
        s = next;
    }
    return RETORT_OK;
}

/* "001_create_users" -> "create users": golang-migrate names carry their
 * message after the number. */
static char *message_from_id(const char *id)
{
    size_t digits = strspn(id, "0123456789");
    if (!digits || (id[digits] != '_' && id[digits] != '-') || !id[digits + 1])
        return rt_strdup("");
    char *m = rt_strdup(id + digits + 1);
    if (m)
        for (char *p = m; *p; p++)
            if (*p == '_')
                *p = ' ';
    return m;
}

/* ------------------------------------------------------------ the directory */

static void entries_free(ld_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rt_free(v[i].name);
        rt_free(v[i].id);
    }
    rt_free(v);
}

static int scan_dir(ld_ctx *c, ld_entry **out, size_t *nout)
{
    DIR *d = opendir(c->dir);
    if (!d)
        return fail(c, RETORT_EIO, "cannot open migrations directory '%s': %s", c->dir,
                    strerror(errno));
    ld_entry *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    rt_buf path = RT_BUF_INIT;
    errno = 0;
    while (c->code == RETORT_OK && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t len = strlen(name);
        if (name[0] == '.') /* ".", "..", editors' and VCS's hidden files */
            continue;
        int kind;
        size_t stem;
        if (has_suffix(name, len, ".up.sql")) {
            kind = F_UP;
            stem = len - 7;
        } else if (has_suffix(name, len, ".down.sql")) {
            kind = F_DOWN;
            stem = len - 9;
        } else if (has_suffix(name, len, ".sql")) {
            kind = F_SINGLE;
            stem = len - 4;
        } else {
            continue;
        }
        /* The path is spelled out only where it is needed: a stat, or a
         * message. */
        int regular = de->d_type == DT_REG;
        int valid = rt_id_valid(name, stem) && !rt_id_reserved(name, stem);
        if (!regular || !valid) {
            rt_buf_reset(&path);
            path_of(&path, c->dir, name);
            if (rt_buf_failed(&path)) {
                oom(c);
                break;
            }
        }
        struct stat st;
        /* Ask the file itself only where the listing cannot tell (some file
         * systems) or names a link, which may point at a regular file. */
        if (!regular && (de->d_type == DT_UNKNOWN || de->d_type == DT_LNK)) {
            if (stat(rt_buf_str(&path), &st) != 0) {
                fail(c, RETORT_EIO, "cannot read '%s': %s", rt_buf_str(&path),
                     strerror(errno));
                break;
            }
            regular = S_ISREG(st.st_mode);
        }
        if (!regular) {
            fail(c, RETORT_EPARSE, "'%s' is not a regular file (only migration files may end "
                                   "in .sql)", rt_buf_str(&path));
            break;
        }
        if (!valid) {
            fail(c, RETORT_EPARSE, "'%s': '%.*s' is not a valid revision id (1-128 characters "
                                   "of [A-Za-z0-9_.-], not base, head or heads)",
                 rt_buf_str(&path), (int)(stem > 200 ? 200 : stem), name);
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            ld_entry *g = rt_reallocarray(v, ncap, sizeof *g);
            if (!g) {
                oom(c);
                break;
            }
            v = g;
            cap = ncap;
        }
        v[n].name = rt_strdup(name);
        v[n].id = rt_strndup(name, stem);
        v[n].kind = kind;
        n++;
        if (!v[n - 1].name || !v[n - 1].id)
            oom(c);
        errno = 0;
    }
    if (c->code == RETORT_OK && errno != 0)
        fail(c, RETORT_EIO, "cannot list migrations directory '%s': %s", c->dir,
             strerror(errno));
    closedir(d);
    rt_buf_free(&path);
    if (c->code != RETORT_OK) {
        entries_free(v, n);
        return c->code;
    }
    if (n)
        qsort(v, n, sizeof *v, entry_cmp);
    *out = v;
    *nout = n;
    return RETORT_OK;
}

static void revs_free(ld_rev *revs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rt_free(revs[i].up_sql);
        rt_free(revs[i].down_sql);
        rt_free(revs[i].parents);
        rt_free(revs[i].message);
    }
    rt_free(revs);
}

/* Pairs the sorted entries into revisions, rejecting two files for one id
 * and down files without their up file. */
static int group(ld_ctx *c, const rt_registry *reg, ld_entry *v, size_t n, ld_rev **out,
                 size_t *nout)
{
    ld_rev *revs = n ? rt_calloc(n, sizeof *revs) : NULL;
    if (n && !revs)
        return oom(c);
    size_t nr = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(v[j].id, v[i].id) == 0)
            j++;
        /* v[i..j) share one id, sorted F_SINGLE, F_UP, F_DOWN. */
        ld_rev *rev = &revs[nr];
        rev->id = v[i].id;
        rt_buf p1 = RT_BUF_INIT, p2 = RT_BUF_INIT;
        if (v[i].kind == F_SINGLE && j - i > 1) {
            path_of(&p1, c->dir, v[i].name);
            path_of(&p2, c->dir, v[i + 1].name);
            fail(c, RETORT_EPARSE, "two files define revision '%s': '%s' and '%s' (use either "
                                   "ID.sql or the pair ID.up.sql / ID.down.sql)",
                 v[i].id, rt_buf_str(&p1), rt_buf_str(&p2));
        } else if (v[i].kind == F_DOWN) {
            path_of(&p1, c->dir, v[i].name);
            fail(c, RETORT_EPARSE, "'%s' has no matching '%s.up.sql' (a down file needs its up "
                                   "file)", rt_buf_str(&p1), v[i].id);
        } else {
            rev->file = v[i].name;
            rev->down_file = j - i > 1 ? v[i + 1].name : NULL;
        }
        if (c->code == RETORT_OK && rt_registry_find(reg, v[i].id, strlen(v[i].id)) >= 0) {
            path_of(&p1, c->dir, v[i].name);
            fail(c, RETORT_EEXIST, "'%s': revision '%s' is already registered", rt_buf_str(&p1),
                 v[i].id);
        }
        rt_buf_free(&p1);
        rt_buf_free(&p2);
        nr++;
        if (c->code != RETORT_OK) {
            revs_free(revs, nr);
            return c->code;
        }
        i = j;
    }
    *out = revs;
    *nout = nr;
    return RETORT_OK;
}

static int find_rev(const ld_rev *revs, size_t n, const char *id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = id_cmp_full(revs[mid].id, id);
        if (d == 0)
            return (int)mid;
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Checks an explicit parents list: valid ids, each one in the directory or
 * already registered, not the revision itself. */
static int check_parents(ld_ctx *c, const rt_registry *reg, const ld_rev *revs, size_t n,
                         const ld_rev *rev)
{
    ld_where w = {c, rev->file, rev->parents_line};
    rt_buf where = RT_BUF_INIT;
    path_of(&where, c->dir, rev->file);
    rt_buf_printf(&where, ":%d: '-- retort:parents'", rev->parents_line);
    if (rt_buf_failed(&where))
        return oom(c);
    char **ids = NULL;
    int nids = 0;
    rt_buf perr = RT_BUF_INIT;
    int rc = rt_parse_id_list(rev->parents, &ids, &nids, rt_buf_str(&where), &perr);
    rt_buf_free(&where);
    if (rc == RETORT_ENOMEM) {
        rt_buf_free(&perr);
        return oom(c);
    }
    if (rc != RETORT_OK) {
        fail(c, RETORT_EPARSE, "%s", rt_buf_str(&perr));
        rt_buf_free(&perr);
        return c->code;
    }
    rt_buf_free(&perr);
    for (int i = 0; i < nids && c->code == RETORT_OK; i++) {
        if (strcmp(ids[i], rev->id) == 0)
            failw(&w, "revision '%s' lists itself as a parent", rev->id);
        else if (find_rev(revs, n, ids[i]) < 0 &&
                 rt_registry_find(reg, ids[i], strlen(ids[i])) < 0)
            failw(&w, "parent '%s' does not exist (no migration file in '%s' has that id and "
                      "no registered revision has it)", ids[i], c->dir);
    }
    rt_free_id_list(ids, nids);
    return c->code;
}

static int parse_all(ld_ctx *c, const rt_registry *reg, ld_rev *revs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ld_rev *rev = &revs[i];
        char *text = NULL;
        if (read_file(c, rev->file, &text) != RETORT_OK)
            return c->code;
        if (!rev->down_file && has_suffix(rev->file, strlen(rev->file), ".up.sql")) {
            parse_pair_file(c, rev, rev->file, text, 1);
            rev->up_sql = text; /* irreversible: no down file */
            text = NULL;
        } else if (rev->down_file) {
            parse_pair_file(c, rev, rev->file, text, 1);
            rev->up_sql = text;
            text = NULL;
            if (c->code == RETORT_OK && read_file(c, rev->down_file, &text) == RETORT_OK) {
                parse_pair_file(c, rev, rev->down_file, text, 0);
                rev->down_sql = text;
                text = NULL;
            }
        } else {
            parse_single(c, rev, text);
        }
        rt_free(text);
        if (c->code != RETORT_OK)
            return c->code;
        if (!rev->message && !(rev->message = message_from_id(rev->id)))
            return oom(c);
    }
    for (size_t i = 0; i < n; i++)
        if (revs[i].has_parents && check_parents(c, reg, revs, n, &revs[i]) != RETORT_OK)
            return c->code;
    return RETORT_OK;
}

/* Builds the registry that will replace reg: a copy of it followed by the
 * directory's revisions.  Registering into a copy is what makes failure
 * halfway (out of memory) leave the context untouched. */
/* Registers the parsed revisions; on any failure, removes every one of
 * them again so that the registry is as it was. */
static int register_all(ld_ctx *c, rt_registry *reg, const ld_rev *revs, size_t n)
{
    int before = reg->n;
    rt_buf err = RT_BUF_INIT;
    int rc = RETORT_OK;
    for (size_t i = 0; i < n && rc == RETORT_OK; i++) {
        const ld_rev *rev = &revs[i];
        const char *parents = rev->has_parents ? rev->parents : i ? revs[i - 1].id : "";
        rc = rt_registry_add(reg, rev->id, parents, rev->message, NULL, NULL, NULL, rev->up_sql,
                             rev->down_sql, &err);
        if (rc == RETORT_OK && rev->no_transaction)
            reg->revs[reg->n - 1].flags |= RETORT_REV_NO_TRANSACTION;
        else if (rc != RETORT_OK && rc != RETORT_ENOMEM) {
            rt_buf p = RT_BUF_INIT;
            path_of(&p, c->dir, rev->file);
            fail(c, rc == RETORT_EEXIST ? rc : RETORT_EPARSE, "%s: %s", rt_buf_str(&p),
                 rt_buf_str(&err));
            rt_buf_free(&p);
        }
    }
    if (rc == RETORT_ENOMEM)
        oom(c);
    rt_buf_free(&err);
    if (c->code != RETORT_OK)
        rt_registry_truncate(reg, before);
    return c->code;
}

RETORT_API int retort_load_dir(retort *r, const char *path)
{
    if (!r)
        return RETORT_EINVAL;
    RT_GUARD(r);
    rt_clear_error(r);
    if (!path || !*path)
        return rt_fail(r, RETORT_EINVAL, "retort_load_dir: the directory path is %s",
                       path ? "empty" : "NULL");
    if (r->in_callback)
        return rt_fail(r, RETORT_EMISUSE,
                       "retort_load_dir called from inside a migration callback");

    ld_ctx c = {path, RT_BUF_INIT, RETORT_OK, -1, NULL};
    ld_entry *entries = NULL;
    size_t nentries = 0, nrevs = 0;
    ld_rev *revs = NULL;
    if (scan_dir(&c, &entries, &nentries) == RETORT_OK &&
        group(&c, &r->reg, entries, nentries, &revs, &nrevs) == RETORT_OK &&
        parse_all(&c, &r->reg, revs, nrevs) == RETORT_OK &&
        register_all(&c, &r->reg, revs, nrevs) == RETORT_OK) {
        rt_graph_invalidate(&r->graph);
        rt_state_forget(&r->state);
    }
    revs_free(revs, nrevs);
    entries_free(entries, nentries);
    if (c.dirfd >= 0)
        close(c.dirfd);
    rt_free(c.scratch);
    int code = c.code;
    if (code != RETORT_OK) {
        if (rt_buf_failed(&c.err))
            rt_fail(r, RETORT_ENOMEM, "out of memory loading '%s'", path);
        else
            rt_fail(r, code, "%s", rt_buf_str(&c.err));
    }
    rt_buf_free(&c.err);
    return code;
}
