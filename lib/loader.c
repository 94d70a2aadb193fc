/*
 * loader.c — retort_load_dir(): registers the SQL migrations of a directory.
 *
 * Owns the directory walk and retort's own formats with their header
 * directives:
 *   ID.sql                 "-- retort:up" and "-- retort:down" sections (dbmate's
 *                          "-- migrate:up" / "-- migrate:down" are accepted too)
 *   ID.up.sql, ID.down.sql golang-migrate / dbmate / sqlx / morph pairs; no down
 *                          file makes the revision irreversible
 * and the rule that a file without "-- retort:parents" has the previous id in
 * order as its parent.  Other tools' formats (goose, sql-migrate, Flyway,
 * diesel, the flags of morph and sqlx) live in lib/formats/, one file each:
 * the walk sorts entries into single files, pairs (Flyway's V/U files,
 * diesel's DIR/up.sql + DIR/down.sql) and entries that are not migrations,
 * which are listed at info level; a directory with no migration, and files
 * another tool could run but retort cannot (goose .go, Pop .fizz), are
 * errors.  A single file's markers choose its parser; one without section
 * markers is one up-only migration.  A retort single file whose up section
 * is empty (the template, not yet filled in) is registered with its path in
 * rt_rev.unfilled, which upgrade plans refuse (planner.c).
 *
 * The whole directory is read and validated before anything is registered,
 * and if registering any of its revisions fails (running out of memory
 * halfway included) the ones already added are removed again
 * (rt_registry_truncate): the context is left exactly as it was.  Graph-wide checks (cycles) stay with graph.c,
 * which reports them at the first operation.
 *
 * Sorting: ids are ordered by strcmp, except that a leading run of digits is
 * compared by its numeric value first, so that golang-migrate's unpadded
 * "1_a", "2_b", "10_c" keep their intended order; dashes in that run are
 * skipped, so diesel's "2024-01-01-000000_x" is 20240101000000 and sorts
 * among undashed timestamps as diesel sorts it.  For zero-padded numbers
 * and timestamps (equal-length digit runs) this is exactly strcmp.  Flyway's
 * "V<version>__<desc>" ids come after all others, in Flyway's version order.
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

#include "checksum.h"
#include "context.h"
#include "error.h"
#include "formats/formats.h"
#include "log.h"
#include "memory.h"
#include "registry.h"

enum { F_SINGLE, F_UP, F_DOWN };

/* One directory entry that names a migration file. */
typedef struct ld_entry {
    char *name; /* file name within the directory ("DIR/up.sql" for diesel) */
    char *id;
    int kind;   /* F_SINGLE, F_UP, F_DOWN */
    const rt_format *fmt; /* Flyway or diesel by its name; NULL: read from the text */
    int metadata;         /* diesel: the directory has a metadata.toml */
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
    const rt_format *fmt;  /* whose markers or layout the revision is written in */
    int metadata;          /* diesel: read DIR/metadata.toml */
    char *up_raw, *down_raw; /* goose ENVSUB: the text before substitution, for the checksum */
    char *labels, *depends; /* "-- retort:branch-labels", "-- retort:depends-on", or NULL */
    int labels_line, depends_line;
    int empty_up;          /* retort's single file with nothing but comments under the up marker */
} ld_rev;

typedef struct ld_dir ld_dir;

typedef struct ld_ctx {
    retort *r;     /* for info-level notes on skipped entries */
    const char *dir;
    rt_buf err;
    int code;
    int dirfd;     /* dir, opened once for openat; -1 until then or if it failed */
    char *scratch; /* LD_SCRATCH bytes that each file is first read into */
    /* retort_load_dirs: every directory loaded together, whose revisions
     * may be parents of this one's; NULL for one directory */
    const ld_dir *all;
    int nall;
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
/* The leading version of an id: its run of digits and '-', whose digits
 * are the number (diesel's "2024-01-01-000000" is 20240101000000, as diesel
 * removes the dashes).  Sets *start past leading zeros and returns how many
 * digits remain. */
static size_t lead_digits(const char **start)
{
    const char *p = *start;
    while (*p == '0' || *p == '-')
        p++;
    if (!(*p >= '1' && *p <= '9')) { /* the number is zero */
        *start = p;
        return 0;
    }
    *start = p;
    size_t n = 0;
    for (; (*p >= '0' && *p <= '9') || *p == '-'; p++)
        n += *p != '-';
    return n;
}

/* See the file comment: the numeric value of leading digits first (dashes
 * among them skipped, as diesel does); 0 when that does not decide
 * (id_cmp_full then falls back to strcmp).  Together a total order (class of
 * the first character, number, whole string), so qsort and bsearch can rely
 * on it. */
static int id_cmp_num(const char *a, const char *b)
{
    int ca = char_class(a[0]), cb = char_class(b[0]);
    if (ca != cb)
        return ca < cb ? -1 : 1;
    if (ca == 1) {
        size_t la = lead_digits(&a), lb = lead_digits(&b);
        if (la != lb)
            return la < lb ? -1 : 1;
        for (size_t i = 0; i < la; a++, b++) {
            while (*a == '-')
                a++;
            while (*b == '-')
                b++;
            if (*a != *b)
                return *a < *b ? -1 : 1;
            i++;
        }
    }
    return 0;
}

static int id_cmp_full(const char *a, const char *b)
{
    int d = id_cmp_num(a, b);
    return d ? d : strcmp(a, b);
}

/* The order of revisions: Flyway's "V<version>__<desc>" ids by Flyway's
 * version rules, after every other id; the others as id_cmp_full.  A total
 * order, so that qsort and the binary search of find_rev agree. */
static int rev_cmp(const char *a, const char *b)
{
    size_t va = 0, vb = 0;
    int fa = a[0] == 'V' && rt_flyway_kind(a, strlen(a), &va) == RT_FLYWAY_VERSIONED;
    int fb = b[0] == 'V' && rt_flyway_kind(b, strlen(b), &vb) == RT_FLYWAY_VERSIONED;
    if (fa != fb)
        return fa ? 1 : -1;
    if (fa) {
        int d = rt_flyway_version_cmp(a + 1, va, b + 1, vb);
        return d ? d : strcmp(a, b);
    }
    return id_cmp_full(a, b);
}

static int entry_cmp(const void *pa, const void *pb)
{
    const ld_entry *a = pa, *b = pb;
    int d = rev_cmp(a->id, b->id);
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
        if (nul) { /* its line, counted only now: the text before it is here */
            nul_line = 1;
            for (size_t i = 0; i < data.len; i++)
                nul_line += data.data[i] == '\n';
            for (const char *p = c->scratch; p < nul; p++)
                nul_line += *p == '\n';
            break;
        }
        if (data.len + (size_t)got > LD_MAX_FILE) {
            too_big = 1;
            break;
        }
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

enum { D_NONE, D_UP, D_DOWN, D_PARENTS, D_MESSAGE, D_NO_TX, D_LABELS, D_DEPENDS, D_UNKNOWN };

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
        /* dbmate has no other markers: "-- migrate:dwon" is a typo that
         * would otherwise fold the down section into the up. */
        d->kind = up ? D_UP : down ? D_DOWN : D_UNKNOWN;
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
    else if (nl == 13 && memcmp(name, "branch-labels", 13) == 0)
        d->kind = D_LABELS;
    else if (nl == 10 && memcmp(name, "depends-on", 10) == 0)
        d->kind = D_DEPENDS;
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
    case D_LABELS:
    case D_DEPENDS: {
        int labels = d->kind == D_LABELS;
        char **slot = labels ? &rev->labels : &rev->depends;
        int *line = labels ? &rev->labels_line : &rev->depends_line;
        if (*slot)
            return failw(w, "second '-- retort:%s' line (the first is line %d)",
                         labels ? "branch-labels" : "depends-on", *line);
        *line = w->line;
        if (!(*slot = rt_strndup(d->arg, d->arg_len)))
            return oom(w->c);
        return RETORT_OK;
    }
    default:
        return RETORT_OK;
    }
}

static int unknown_directive(ld_where *w, const ld_directive *d)
{
    if (d->dbmate)
        return failw(w, "unknown dbmate marker '-- %.*s' (known: migrate:up, migrate:down)",
                     (int)(d->name_len > 80 ? 80 : d->name_len), d->name);
    return failw(w, "unknown directive '-- %.*s' (known: retort:up, retort:down, "
                    "retort:parents, retort:message, retort:no-transaction, "
                    "retort:branch-labels, retort:depends-on)",
                 (int)(d->name_len > 80 ? 80 : d->name_len), d->name);
}

/* Another tool's marker on a line that retort's and dbmate's grammar call a
 * comment: a near miss is an error, a flag (morph's, sqlx's no-transaction)
 * marks the revision, a section marker does not belong in this file. */
static int foreign_marker(ld_where *w, const char *s, const char *e, ld_rev *rev,
                          const char *where, int allow_flags)
{
    int kind, no_tx;
    const rt_format *f = rt_format_of_line(s, e, &kind, &no_tx);
    if (!f)
        return RETORT_OK;
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    int len = (int)((e - s) > 80 ? 80 : (e - s));
    if (kind == RT_MARK_INVALID)
        return failw(w, "'%.*s' is not a valid %s marker (known: %s)", len, s, f->name,
                     f->known);
    if (kind == RT_MARK_NO_TX && !f->sections && allow_flags) {
        rev->no_transaction = 1;
        if (rev->fmt == &rt_format_plain)
            rev->fmt = f;
        return RETORT_OK;
    }
    return failw(w, "'%.*s' is a %s marker, which does not belong in %s", len, s, f->name,
                 where);
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
            if (foreign_marker(&w, s, e, rev, "a file with retort or dbmate markers (write "
                                              "'-- retort:no-transaction' there)", 0) != RETORT_OK)
                return c->code;
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
            rev->fmt = d.dbmate ? &rt_format_dbmate : &rt_format_retort;
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
    /* The template `retort revision` writes has an empty up section: one
     * left so is a file not yet written, not a migration that does
     * nothing (register_all marks it; upgrades refuse it). */
    if (rev->fmt == &rt_format_retort) {
        rev->empty_up = 1;
        for (const char *s = up_start; s < up_end && rev->empty_up;) {
            const char *e = memchr(s, '\n', (size_t)(up_end - s));
            if (!e)
                e = up_end;
            rev->empty_up = is_comment_or_blank(s, e);
            s = e < up_end ? e + 1 : up_end;
        }
    }
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
        if (d.kind == D_NONE &&
            foreign_marker(&w, s, e, rev, "a file whose whole text is one section", 1) !=
                RETORT_OK)
            return c->code;
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

/* A single file ID.sql: its markers say whose format it is.  retort's and
 * dbmate's go to parse_single (as they always have), goose's and
 * sql-migrate's to the shared section parser, and a file with no section
 * markers at all is one up-only (irreversible) migration, as sqlx and
 * Flyway write them. */
static int parse_single_any(ld_ctx *c, ld_rev *rev, const char *text)
{
    ld_where w = {c, rev->file, 0};
    const rt_format *sections = NULL;
    int sections_line = 0, retort_line = 0;
    for (const char *s = text; *s;) {
        const char *e = strchr(s, '\n');
        const char *next = e ? e + 1 : s + strlen(s);
        if (!e)
            e = next;
        w.line++;
        ld_directive d;
        parse_directive(s, e, &d);
        int kind, no_tx;
        const rt_format *f = d.kind == D_NONE ? rt_format_of_line(s, e, &kind, &no_tx) : NULL;
        if (d.kind != D_NONE && !retort_line)
            retort_line = w.line;
        if (f && f->sections && !sections) {
            sections = f;
            sections_line = w.line;
        }
        s = next;
    }
    if (retort_line && sections) {
        w.line = retort_line > sections_line ? retort_line : sections_line;
        return failw(&w, "retort/dbmate markers and %s markers in one file (lines %d and %d): "
                         "one file uses one tool's markers",
                     sections->name, retort_line, sections_line);
    }
    if (retort_line)
        return parse_single(c, rev, text);
    if (!sections) {
        /* No section markers: the whole file is the up, and the rest of
         * its lines are checked as a pair's up file is. */
        rev->fmt = &rt_format_plain;
        /* Without markers nothing says the file is SQL: control bytes say
         * it is not (a binary file that happens to end in .sql). */
        w.line = 1;
        for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
            if (*p == '\n')
                w.line++;
            else if ((*p < 0x20 && *p != '\t' && *p != '\r' && *p != '\f') || *p == 0x7f)
                return failw(&w, "byte 0x%02x is not SQL text (a binary file?)", *p);
        }
        if (parse_pair_file(c, rev, rev->file, text, 1) != RETORT_OK)
            return c->code;
        if (!(rev->up_sql = rt_strdup(text)))
            return oom(c);
        return RETORT_OK;
    }
    rev->fmt = sections;
    rt_sections sec;
    rt_buf err = RT_BUF_INIT;
    if (rt_sections_parse(sections, text, &sec, &err) != 0) {
        if (sec.nomem || rt_buf_failed(&err)) {
            rt_buf_free(&err);
            return oom(c);
        }
        w.line = sec.err_line;
        failw(&w, "%s", rt_buf_str(&err));
        rt_buf_free(&err);
        return c->code;
    }
    rt_buf_free(&err);
    rev->up_sql = sec.up;
    rev->down_sql = sec.down;
    rev->up_raw = sec.up_raw;
    rev->down_raw = sec.down_raw;
    rev->no_transaction = sec.no_tx;
    return RETORT_OK;
}

/* "001_create_users" -> "create users": golang-migrate names carry their
 * message after the number. */
static char *message_from_id(const char *id, const rt_format *fmt)
{
    /* Flyway's description follows "__", diesel's the version's "_". */
    if (fmt == &rt_format_flyway_repeatable)
        fmt = &rt_format_flyway;
    const char *sep = fmt == &rt_format_flyway ? strstr(id, "__")
                    : fmt == &rt_format_diesel ? strchr(id, '_') : NULL;
    if (sep) {
        char *m = rt_strdup(sep + (fmt == &rt_format_flyway ? 2 : 1));
        if (m)
            for (char *p = m; *p; p++)
                if (*p == '_')
                    *p = ' ';
        return m;
    }
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

/* An entry that is not a migration: noted at info level, and named in the
 * error if nothing in the directory is one. */
static void skip_entry(ld_ctx *c, rt_buf *seen, int *nseen, const char *name, const char *why)
{
    if (rt_log_enabled(c->r, RETORT_LOG_INFO)) {
        rt_buf p = RT_BUF_INIT;
        path_of(&p, c->dir, name);
        rt_log(c->r, RETORT_LOG_INFO, "skipped '%s': %s", rt_buf_str(&p), why);
        rt_buf_free(&p);
    }
    if (*nseen < 5)
        rt_buf_printf(seen, "%s'%s'", *nseen ? ", " : "", name);
    ++*nseen;
}

static int add_entry(ld_ctx *c, ld_entry **v, size_t *n, size_t *cap, const char *name,
                     const char *id, size_t idlen, int kind, const rt_format *fmt, int metadata)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        ld_entry *g = rt_reallocarray(*v, ncap, sizeof *g);
        if (!g)
            return oom(c);
        *v = g;
        *cap = ncap;
    }
    ld_entry *en = &(*v)[(*n)++];
    en->name = rt_strdup(name);
    en->id = rt_strndup(id, idlen);
    en->kind = kind;
    en->fmt = fmt;
    en->metadata = metadata;
    if (!en->name || !en->id)
        return oom(c);
    return RETORT_OK;
}

/* Whether dir/sub/file exists, relative to the listed directory. */
static int has_file(int dfd, const char *sub, const char *file)
{
    char rel[600];
    int k = snprintf(rel, sizeof rel, "%s/%s", sub, file);
    return k > 0 && (size_t)k < sizeof rel && faccessat(dfd, rel, F_OK, 0) == 0;
}

/* Flyway's undo files name their version, not their V file: each takes the
 * id of the V file with the same version, so that the two pair up. */
static int flyway_pair_undo(ld_ctx *c, ld_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].fmt != &rt_format_flyway || v[i].kind != F_DOWN)
            continue;
        size_t ul, vl;
        rt_flyway_kind(v[i].id, strlen(v[i].id), &ul);
        size_t j = 0;
        for (; j < n; j++)
            if (v[j].fmt == &rt_format_flyway && v[j].kind == F_UP &&
                rt_flyway_kind(v[j].id, strlen(v[j].id), &vl) &&
                rt_flyway_version_cmp(v[i].id + 1, ul, v[j].id + 1, vl) == 0)
                break;
        if (j == n) {
            rt_buf p = RT_BUF_INIT;
            path_of(&p, c->dir, v[i].name);
            fail(c, RETORT_EPARSE, "'%s' is a Flyway undo migration for version %.*s, but no "
                                   "V%.*s__*.sql file has that version (an undo needs its "
                                   "versioned migration)",
                 rt_buf_str(&p), (int)ul, v[i].id + 1, (int)ul, v[i].id + 1);
            rt_buf_free(&p);
            return c->code;
        }
        char *id = rt_strdup(v[j].id);
        if (!id)
            return oom(c);
        rt_free(v[i].id);
        v[i].id = id;
    }
    return RETORT_OK;
}

/* After sorting: two Flyway files with one version (V1.1 and V1_1). */
static int flyway_duplicates(ld_ctx *c, const ld_entry *v, size_t n)
{
    const ld_entry *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        if (v[i].fmt != &rt_format_flyway || v[i].kind != F_UP)
            continue;
        size_t a, b;
        if (prev && rt_flyway_kind(prev->id, strlen(prev->id), &a) &&
            rt_flyway_kind(v[i].id, strlen(v[i].id), &b) &&
            rt_flyway_version_cmp(prev->id + 1, a, v[i].id + 1, b) == 0) {
            rt_buf p1 = RT_BUF_INIT, p2 = RT_BUF_INIT;
            path_of(&p1, c->dir, prev->name);
            path_of(&p2, c->dir, v[i].name);
            fail(c, RETORT_EPARSE, "'%s' and '%s' have the same Flyway version (segments "
                                   "are compared as numbers, '.' and '_' alike)",
                 rt_buf_str(&p1), rt_buf_str(&p2));
            rt_buf_free(&p1);
            rt_buf_free(&p2);
            return c->code;
        }
        prev = &v[i];
    }
    return RETORT_OK;
}

static int scan_dir(ld_ctx *c, ld_entry **out, size_t *nout)
{
    DIR *d = opendir(c->dir);
    if (!d)
        return fail(c, RETORT_EIO, "cannot open migrations directory '%s': %s", c->dir,
                    strerror(errno));
    int dfd = dirfd(d);
    ld_entry *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    rt_buf path = RT_BUF_INIT, seen = RT_BUF_INIT, unrunnable = RT_BUF_INIT;
    int nseen = 0, nunrunnable = 0;
    errno = 0;
    while (c->code == RETORT_OK && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t len = strlen(name);
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (name[0] == '.') { /* editors' and VCS's hidden files */
            skip_entry(c, &seen, &nseen, name, "a hidden file");
            errno = 0;
            continue;
        }
        const char *why;
        if (rt_format_unrunnable(name, len, &why)) {
            if (nunrunnable < 10) {
                rt_buf_reset(&path);
                path_of(&path, c->dir, name);
                rt_buf_printf(&unrunnable, "%s'%s' is %s", nunrunnable ? "; " : "",
                              rt_buf_str(&path), why);
            }
            nunrunnable++;
            errno = 0;
            continue;
        }
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
            /* diesel: a directory "<version>_<name>" holding up.sql. */
            int isdir = de->d_type == DT_DIR;
            struct stat st;
            if ((de->d_type == DT_UNKNOWN || de->d_type == DT_LNK) &&
                fstatat(dfd, name, &st, 0) == 0)
                isdir = S_ISDIR(st.st_mode);
            if (isdir && has_file(dfd, name, "up.sql")) {
                if (!rt_id_valid(name, len) || rt_id_reserved(name, len)) {
                    rt_buf_reset(&path);
                    path_of(&path, c->dir, name);
                    fail(c, RETORT_EPARSE, "'%s' (a diesel migration directory): '%.*s' is "
                                           "not a valid revision id (1-128 characters of "
                                           "[A-Za-z0-9_.-], not base, head or heads)",
                         rt_buf_str(&path), (int)(len > 200 ? 200 : len), name);
                    break;
                }
                char sub[600];
                snprintf(sub, sizeof sub, "%s/up.sql", name);
                int md = has_file(dfd, name, "metadata.toml");
                if (add_entry(c, &v, &n, &cap, sub, name, len, F_UP, &rt_format_diesel, md) !=
                    RETORT_OK)
                    break;
                if (has_file(dfd, name, "down.sql")) {
                    snprintf(sub, sizeof sub, "%s/down.sql", name);
                    if (add_entry(c, &v, &n, &cap, sub, name, len, F_DOWN, &rt_format_diesel,
                                  md) != RETORT_OK)
                        break;
                }
            } else {
                skip_entry(c, &seen, &nseen, name,
                           isdir ? "a directory without up.sql (not a diesel migration)"
                                 : "not a migration file");
            }
            errno = 0;
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
        const rt_format *fmt = NULL;
        if (kind == F_SINGLE &&
            (name[0] == 'V' || name[0] == 'U' || name[0] == 'R' || name[0] == 'B')) {
            size_t vlen;
            int fk = rt_flyway_kind(name, stem, &vlen);
            if (fk == RT_FLYWAY_REPEATABLE)
                fmt = &rt_format_flyway_repeatable; /* the whole file is its SQL */
            if (fk == RT_FLYWAY_BASELINE) {
                /* Flyway runs it on a new database instead of the versions
                 * up to its own; as an ordinary file it would run before
                 * V1 and collide with it. */
                rt_buf_reset(&path);
                path_of(&path, c->dir, name);
                fail(c, RETORT_EPARSE, "'%s' is a Flyway baseline migration (B<version>__), "
                                       "which retort does not run: retort runs the versioned "
                                       "migrations it stands for; move it out of the directory "
                                       "(keeping every V file up to its version)",
                     rt_buf_str(&path));
                break;
            }
            if (fk == RT_FLYWAY_VERSIONED || fk == RT_FLYWAY_UNDO) {
                kind = fk == RT_FLYWAY_VERSIONED ? F_UP : F_DOWN;
                fmt = &rt_format_flyway;
            }
        }
        if (add_entry(c, &v, &n, &cap, name, name, stem, kind, fmt, 0) != RETORT_OK)
            break;
        errno = 0;
    }
    if (c->code == RETORT_OK && errno != 0)
        fail(c, RETORT_EIO, "cannot list migrations directory '%s': %s", c->dir,
             strerror(errno));
    closedir(d);
    if (c->code == RETORT_OK && nunrunnable)
        fail(c, RETORT_EPARSE, "%d file%s in '%s' cannot run: %s%s", nunrunnable,
             nunrunnable == 1 ? "" : "s", c->dir, rt_buf_str(&unrunnable),
             nunrunnable > 10 ? "; ..." : "");
    if (c->code == RETORT_OK && n == 0) {
        if (!nseen)
            fail(c, RETORT_ENOTFOUND, "no migrations in '%s': the directory is empty", c->dir);
        else
            fail(c, RETORT_ENOTFOUND, "no migrations in '%s': it holds %s%s, none of them a "
                                      "migration (retort reads ID.sql, ID.up.sql with "
                                      "ID.down.sql, Flyway's V<version>__<desc>.sql and "
                                      "diesel's <version>_<name>/up.sql)",
                 c->dir, rt_buf_str(&seen), nseen > 5 ? " and more" : "");
    }
    rt_buf_free(&path);
    rt_buf_free(&seen);
    rt_buf_free(&unrunnable);
    if (c->code == RETORT_OK)
        flyway_pair_undo(c, v, n);
    if (c->code == RETORT_OK && n)
        qsort(v, n, sizeof *v, entry_cmp);
    if (c->code == RETORT_OK)
        flyway_duplicates(c, v, n);
    if (c->code != RETORT_OK) {
        entries_free(v, n);
        return c->code;
    }
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
        rt_free(revs[i].up_raw);
        rt_free(revs[i].down_raw);
        rt_free(revs[i].labels);
        rt_free(revs[i].depends);
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
            rev->fmt = v[i].fmt;
            rev->metadata = v[i].metadata;
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
        int d = rev_cmp(revs[mid].id, id);
        if (d == 0)
            return (int)mid;
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* One directory of retort_load_dirs, scanned and grouped. */
struct ld_dir {
    ld_ctx c;
    ld_entry *entries;
    size_t nentries;
    ld_rev *revs;
    size_t nrevs;
};

/* Whether id is a revision of another directory loaded with c's. */
static int in_other_dir(const ld_ctx *c, const char *id)
{
    for (int d = 0; d < c->nall; d++)
        if (&c->all[d].c != c && find_rev(c->all[d].revs, c->all[d].nrevs, id) >= 0)
            return 1;
    return 0;
}

/* Checks an explicit parents list: valid ids, each one in the directory (or
 * another one loaded with it) or already registered, not the revision
 * itself. */
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
                 rt_registry_find(reg, ids[i], strlen(ids[i])) < 0 && !in_other_dir(c, ids[i]))
            failw(&w, "parent '%s' does not exist (no migration file in '%s'%s has that id and "
                      "no registered revision has it)", ids[i], c->dir,
                  c->nall > 1 ? " or the other directories" : "");
    }
    rt_free_id_list(ids, nids);
    return c->code;
}

/* Go and Pop templates ("{{ .Var }}") are filled in by their tool before
 * the SQL runs; retort would send the braces to the database. */
static int template_check(ld_ctx *c, const char *file, const char *text)
{
    int line;
    if (!strstr(text, "{{") || !rt_format_has_template(text, &line))
        return RETORT_OK;
    ld_where w = {c, file, line};
    return failw(&w, "a template action '{{ ... }}' (a Pop/Go template, which its tool fills "
                     "in before running): retort runs SQL as written; replace it with the SQL "
                     "it stands for");
}

/* diesel's DIR/metadata.toml: "run_in_transaction = false". */
static int diesel_metadata(ld_ctx *c, ld_rev *rev)
{
    rt_buf name = RT_BUF_INIT;
    rt_buf_append(&name, rev->id);
    rt_buf_append(&name, "/metadata.toml");
    if (rt_buf_failed(&name))
        return oom(c);
    char *text = NULL;
    if (read_file(c, rt_buf_str(&name), &text) == RETORT_OK) {
        int no_tx, line;
        rt_buf err = RT_BUF_INIT;
        if (rt_diesel_metadata(text, &no_tx, &line, &err) != 0) {
            ld_where w = {c, rt_buf_str(&name), line};
            failw(&w, "%s", rt_buf_str(&err));
        } else if (no_tx) {
            rev->no_transaction = 1;
        }
        rt_buf_free(&err);
    }
    rt_free(text);
    rt_buf_free(&name);
    return c->code;
}

static int parse_all(ld_ctx *c, const rt_registry *reg, ld_rev *revs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ld_rev *rev = &revs[i];
        char *text = NULL;
        if (read_file(c, rev->file, &text) != RETORT_OK)
            return c->code;
        if (template_check(c, rev->file, text) != RETORT_OK) {
            rt_free(text);
            return c->code;
        }
        int pair = rev->down_file || has_suffix(rev->file, strlen(rev->file), ".up.sql") ||
                   rev->fmt == &rt_format_flyway || rev->fmt == &rt_format_diesel ||
                   rev->fmt == &rt_format_flyway_repeatable;
        if (pair && !rev->fmt)
            rev->fmt = &rt_format_plain;
        if (!rev->down_file && pair) {
            parse_pair_file(c, rev, rev->file, text, 1);
            rev->up_sql = text; /* irreversible: no down file */
            text = NULL;
        } else if (rev->down_file) {
            parse_pair_file(c, rev, rev->file, text, 1);
            rev->up_sql = text;
            text = NULL;
            if (c->code == RETORT_OK && read_file(c, rev->down_file, &text) == RETORT_OK &&
                template_check(c, rev->down_file, text) == RETORT_OK) {
                parse_pair_file(c, rev, rev->down_file, text, 0);
                rev->down_sql = text;
                text = NULL;
            }
        } else {
            parse_single_any(c, rev, text);
        }
        rt_free(text);
        if (c->code == RETORT_OK && rev->metadata)
            diesel_metadata(c, rev);
        if (c->code != RETORT_OK)
            return c->code;
        if (!rev->message && !(rev->message = message_from_id(rev->id, rev->fmt)))
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
static int register_all(ld_ctx *c, rt_registry *reg, rt_registry *rreg, const ld_rev *revs,
                        size_t n)
{
    int before = reg->n, rbefore = rreg->n;
    rt_buf err = RT_BUF_INIT;
    int rc = RETORT_OK;
    const char *prev = NULL; /* the previous revision in order: the default parent */
    for (size_t i = 0; i < n && rc == RETORT_OK; i++) {
        const ld_rev *rev = &revs[i];
        /* A Flyway repeatable migration is no revision: it has no place in
         * the graph and is no revision's parent (repeatable.c runs it). */
        int repeatable = rev->fmt == &rt_format_flyway_repeatable;
        rt_registry *into = repeatable ? rreg : reg;
        const char *parents = repeatable        ? ""
                              : rev->has_parents ? rev->parents
                              : prev            ? prev
                                                : "";
        rc = rt_registry_add(into, rev->id, parents, rev->message, NULL, NULL, NULL, rev->up_sql,
                             rev->down_sql, &err);
        if (rc == RETORT_OK) {
            if (!repeatable)
                prev = rev->id;
            rt_rev *added = &into->revs[into->n - 1];
            if (rev->no_transaction)
                added->flags |= RETORT_REV_NO_TRANSACTION;
            added->no_tx_hint = rev->fmt ? rev->fmt->no_tx_hint : NULL;
            /* A merge may be empty: joining heads is its whole work. */
            if (rev->empty_up && added->nparents < 2) {
                rt_buf p = RT_BUF_INIT;
                path_of(&p, c->dir, rev->file);
                if (rt_buf_failed(&p) || !(added->unfilled = rt_strdup(rt_buf_str(&p))))
                    rc = RETORT_ENOMEM;
                rt_buf_free(&p);
            }
            /* goose ENVSUB: the checksum is of the file's text, so that a
             * different environment is not a changed migration. */
            if (rev->up_raw || rev->down_raw)
                rt_checksum_sql(rev->up_raw ? rev->up_raw : rev->up_sql,
                                rev->down_raw ? rev->down_raw : rev->down_sql,
                                added->checksum);
        }
        int line = 0;
        if (rc == RETORT_OK && rev->labels &&
            (rc = rt_registry_set_labels(reg, reg->n - 1, rev->labels, &err)) != RETORT_OK)
            line = rev->labels_line;
        if (rc == RETORT_OK && rev->depends &&
            (rc = rt_registry_set_depends(reg, reg->n - 1, rev->depends, &err)) != RETORT_OK)
            line = rev->depends_line;
        if (rc != RETORT_OK && rc != RETORT_ENOMEM) {
            rt_buf p = RT_BUF_INIT;
            path_of(&p, c->dir, rev->file);
            if (line)
                rt_buf_printf(&p, ":%d", line);
            fail(c, rc == RETORT_EEXIST ? rc : RETORT_EPARSE, "%s: %s", rt_buf_str(&p),
                 rt_buf_str(&err));
            rt_buf_free(&p);
        }
    }
    if (rc == RETORT_ENOMEM)
        oom(c);
    rt_buf_free(&err);
    if (c->code != RETORT_OK) {
        rt_registry_truncate(reg, before);
        rt_registry_truncate(rreg, rbefore);
    }
    return c->code;
}

/*
 * Loads the directories paths[0..n) as one registry: each is scanned and
 * parsed, an id in two of them is an error naming both files, parents may
 * be in any of them, and on any error nothing is registered.  A directory
 * without migrations is skipped when another one has some.
 */
static int load_dirs(retort *r, const char *op, const char *const *paths, int n)
{
    if (!r)
        return RETORT_EINVAL;
    RT_GUARD(r);
    rt_clear_error(r);
    if (n < 1 || !paths)
        return rt_fail(r, RETORT_EINVAL, "%s: no directory given", op);
    for (int d = 0; d < n; d++)
        if (!paths[d] || !*paths[d])
            return rt_fail(r, RETORT_EINVAL, "%s: the directory path is %s", op,
                           paths[d] ? "empty" : "NULL");
    if (r->in_callback)
        return rt_fail(r, RETORT_EMISUSE, "%s called from inside a migration callback", op);

    ld_dir *dirs = rt_calloc((size_t)n, sizeof *dirs);
    if (!dirs)
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    for (int d = 0; d < n; d++) {
        dirs[d].c = (ld_ctx){r, paths[d], RT_BUF_INIT, RETORT_OK, -1, NULL, dirs, n};
    }
    int code = RETORT_OK, failed = -1, empty = 0;
    for (int d = 0; d < n && code == RETORT_OK; d++) {
        ld_dir *e = &dirs[d];
        if (scan_dir(&e->c, &e->entries, &e->nentries) == RETORT_ENOTFOUND && n > 1 &&
            ++empty < n) {
            /* no migration here: another directory has them (or the last
             * empty one reports) */
            rt_buf_reset(&e->c.err);
            e->c.code = RETORT_OK;
            continue;
        }
        if (e->c.code == RETORT_OK)
            group(&e->c, &r->reg, e->entries, e->nentries, &e->revs, &e->nrevs);
        if ((code = e->c.code) != RETORT_OK)
            failed = d;
    }
    /* An id in two directories: name both files. */
    for (int d = 1; d < n && code == RETORT_OK; d++)
        for (size_t i = 0; i < dirs[d].nrevs && code == RETORT_OK; i++)
            for (int e = 0; e < d && code == RETORT_OK; e++) {
                int k = find_rev(dirs[e].revs, dirs[e].nrevs, dirs[d].revs[i].id);
                if (k < 0)
                    continue;
                rt_buf a = RT_BUF_INIT, b = RT_BUF_INIT;
                path_of(&a, paths[e], dirs[e].revs[k].file);
                path_of(&b, paths[d], dirs[d].revs[i].file);
                code = fail(&dirs[d].c, RETORT_EEXIST,
                            "revision '%s' is defined twice: in %s and in %s (an id must be "
                            "unique across the migrations directories)",
                            dirs[d].revs[i].id, rt_buf_str(&a), rt_buf_str(&b));
                failed = d;
                rt_buf_free(&a);
                rt_buf_free(&b);
            }
    for (int d = 0; d < n && code == RETORT_OK; d++)
        if ((code = parse_all(&dirs[d].c, &r->reg, dirs[d].revs, dirs[d].nrevs)) != RETORT_OK)
            failed = d;
    int before = r->reg.n, rbefore = r->rreg.n;
    for (int d = 0; d < n && code == RETORT_OK; d++)
        if ((code = register_all(&dirs[d].c, &r->reg, &r->rreg, dirs[d].revs,
                                 dirs[d].nrevs)) != RETORT_OK)
            failed = d;
    if (code == RETORT_OK) {
        rt_graph_invalidate(&r->graph);
        rt_state_forget(&r->state);
        rt_state_forget(&r->rstate);
    } else {
        /* a later directory failed: the earlier ones go too */
        rt_registry_truncate(&r->reg, before);
        rt_registry_truncate(&r->rreg, rbefore);
    }
    if (code != RETORT_OK) {
        ld_ctx *c = &dirs[failed].c;
        if (rt_buf_failed(&c->err))
            rt_fail(r, RETORT_ENOMEM, "out of memory loading '%s'", c->dir);
        else
            rt_fail(r, code, "%s", rt_buf_str(&c->err));
    }
    for (int d = 0; d < n; d++) {
        revs_free(dirs[d].revs, dirs[d].nrevs);
        entries_free(dirs[d].entries, dirs[d].nentries);
        if (dirs[d].c.dirfd >= 0)
            close(dirs[d].c.dirfd);
        rt_free(dirs[d].c.scratch);
        rt_buf_free(&dirs[d].c.err);
    }
    rt_free(dirs);
    return code;
}

RETORT_API int retort_load_dir(retort *r, const char *path)
{
    return load_dirs(r, "retort_load_dir", &path, 1);
}

RETORT_API int retort_load_dirs(retort *r, const char *const *paths, int npaths)
{
    return load_dirs(r, "retort_load_dirs", paths, npaths);
}
