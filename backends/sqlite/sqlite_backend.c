/*
 * sqlite_backend.c — the SQLite driver behind the vtable (libsqlite3).
 *
 * Owns one sqlite3 handle per context and a small cache of prepared
 * statements for the version-table templates, which run once per revision.
 * SQLite has no advisory locks: the driver leaves lock NULL and takes the
 * write lock with BEGIN IMMEDIATE, under the busy timeout, so the core
 * re-reads the state and re-plans inside each write transaction, unless
 * SQLite's data version shows that no other connection has committed since
 * it last knew it.
 *
 * A database file that does not exist yet is opened only when something is
 * about to write to it: read-only operations (current, check, plan) against
 * a mistyped path must not leave an empty file behind.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "buf.h"
#include "builtin_backends.h"
#include "memory.h"
#include "retort/backend.h"
#include "sqlite_snapshot.h"

#define CACHE_SIZE 16

typedef struct {
    char *sql;
    sqlite3_stmt *stmt;
} cached_stmt;

typedef struct {
    sqlite3 *db; /* NULL until opened (see open_db) */
    char *path;  /* for messages */
    int timeout_ms;
    cached_stmt cache[CACHE_SIZE];
    int next_slot; /* round-robin eviction */
    void *snap_cache; /* sqlite_snapshot.c's described tables */
} sqlite_conn;

void **rt_sqlite_snapshot_cache(void *db) { return &((sqlite_conn *)db)->snap_cache; }

/* Reports an SQLite failure and returns the status it maps to. */
static int report_db(retort_report *rep, sqlite_conn *c, int rc, const char *what)
{
    int primary = rc & 0xff;
    char msg[1024];
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        snprintf(msg, sizeof msg, "%s: database %s is locked by another connection (busy "
                                  "timeout of %d ms expired): %s",
                 what, c->path, c->timeout_ms, sqlite3_errmsg(c->db));
    else
        snprintf(msg, sizeof msg, "%s: %s", what, c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    int code = primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? RETORT_ELOCK
               : primary == SQLITE_NOMEM                          ? RETORT_ENOMEM
                                                                  : RETORT_EDB;
    retort_report_error(rep, code, msg);
    return code;
}

/* Maps the brief's URL forms to what sqlite3_open_v2 takes. */
static int parse_url(const char *url, char **path, retort_report *rep)
{
    /* After the scheme, whichever it was ("sqlite:", "sqlite3:"); the core
     * only hands over URLs whose scheme is one of ours. */
    const char *colon = strchr(url, ':');
    const char *rest = colon ? colon + 1 : url + strlen(url);
    if (strncmp(rest, "//", 2) == 0) {
        /* SQLAlchemy: sqlite:///relative.db, sqlite:////absolute.db */
        if (rest[2] != '/') {
            retort_report_error(rep, RETORT_EURL,
                                "sqlite URL with '//' must be sqlite:///relative/path or "
                                "sqlite:////absolute/path (SQLite has no host)");
            return RETORT_EURL;
        }
        rest += 3;
    }
    if (!*rest) {
        retort_report_error(rep, RETORT_EURL, "sqlite URL has no path: use sqlite:PATH or "
                                              "sqlite::memory:");
        return RETORT_EURL;
    }
    *path = rt_strdup(rest);
    if (!*path) {
        retort_report_error(rep, RETORT_ENOMEM, "out of memory");
        return RETORT_ENOMEM;
    }
    return RETORT_OK;
}

/* A database file retort creates holds the application's data: create it
 * owner-only instead of inheriting a permissive umask. */
static void precreate_private(const char *path)
{
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Opens the handle.  create: the caller is about to write, so a missing
 * file may be created (owner-only); otherwise a missing file stays missing
 * and the handle stays NULL. */
static int open_db(sqlite_conn *c, int create, retort_report *rep)
{
    if (c->db)
        return RETORT_OK;
    int special = strcmp(c->path, ":memory:") == 0 || strncmp(c->path, "file:", 5) == 0;
    if (!create && !special && !file_exists(c->path))
        return RETORT_OK;
    if (create)
        precreate_private(c->path);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX;
    /* A file: URI names its file only once SQLite has parsed it: try it
     * without creating first, so that a file created now is known to be
     * new and made owner-only like any other. */
    int created_by_uri = 0;
    int sqlrc = SQLITE_CANTOPEN;
    if (strncmp(c->path, "file:", 5) == 0) {
        sqlrc = sqlite3_open_v2(c->path, &c->db, flags, NULL);
        if (sqlrc != SQLITE_OK) {
            sqlite3_close_v2(c->db);
            c->db = NULL;
            created_by_uri = 1;
        }
    }
    if (sqlrc != SQLITE_OK)
        sqlrc = sqlite3_open_v2(c->path, &c->db, flags | SQLITE_OPEN_CREATE, NULL);
    if (sqlrc != SQLITE_OK) {
        char msg[1024];
        const char *why = c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(sqlrc);
        char *slash = strrchr(c->path, '/');
        int dir_missing = 0;
        if (slash && slash != c->path) {
            *slash = '\0';
            dir_missing = !file_exists(c->path);
            *slash = '/';
        }
        snprintf(msg, sizeof msg, "cannot open SQLite database '%s': %s%s", c->path, why,
                 dir_missing ? " (its directory does not exist)" : "");
        sqlite3_close_v2(c->db);
        c->db = NULL;
        retort_report_error(rep, RETORT_ECONNECT, msg);
        return RETORT_ECONNECT;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, c->timeout_ms);
    if (created_by_uri) {
        const char *file = sqlite3_db_filename(c->db, "main");
        if (file && *file)
            chmod(file, 0600);
    }
    return RETORT_OK;
}

static int sq_connect(const char *url, int timeout_ms, void **out, retort_report *rep)
{
    *out = NULL;
    sqlite_conn *c = rt_calloc(1, sizeof *c);
    if (!c) {
        retort_report_error(rep, RETORT_ENOMEM, "out of memory");
        return RETORT_ENOMEM;
    }
    *out = c;
    c->timeout_ms = timeout_ms;
    int rc = parse_url(url, &c->path, rep);
    if (rc != RETORT_OK)
        return rc;
    return open_db(c, 0, rep);
}

static void sq_disconnect(void *db)
{
    sqlite_conn *c = db;
    if (!c)
        return;
    for (int i = 0; i < CACHE_SIZE; i++) {
        sqlite3_finalize(c->cache[i].stmt);
        rt_free(c->cache[i].sql);
    }
    sqlite3_close_v2(c->db);
    rt_sqlite_snapshot_cache_free(c->snap_cache);
    rt_free(c->path);
    rt_free(c);
}

/* Whether a statement's text is a ROLLBACK (leading space and comments
 * skipped): the one way to end a transaction that commits nothing. */
static int is_rollback(const char *sql)
{
    for (;;) {
        while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r' || *sql == '\f')
            sql++;
        if (sql[0] == '-' && sql[1] == '-') {
            while (*sql && *sql != '\n')
                sql++;
        } else if (sql[0] == '/' && sql[1] == '*') {
            const char *end = strstr(sql + 2, "*/");
            sql = end ? end + 2 : sql + strlen(sql);
        } else {
            break;
        }
    }
    return sqlite3_strnicmp(sql, "ROLLBACK", 8) == 0;
}

/* Runs the statements one at a time through the tail pointer, as SQLite's
 * own parser splits them (triggers with BEGIN ... END included). */
static int sq_exec(void *db, const char *sql, int *done, retort_report *rep)
{
    sqlite_conn *c = db;
    *done = 0;
    int orc = open_db(c, 1, rep);
    if (orc != RETORT_OK)
        return orc;
    /* Statements inside retort's transaction must not end it: what
     * follows, the version row included, would commit on its own.  The
     * statement that ended it is the last one run; a COMMIT (or END) has
     * committed what ran before it, which the core must mark dirty
     * (RETORT_EDIRTY), a ROLLBACK has committed nothing. */
    int in_tx = !sqlite3_get_autocommit(c->db);
    const char *tail = sql;
    while (tail && *tail) {
        sqlite3_stmt *stmt = NULL;
        int rc = sqlite3_prepare_v2(c->db, tail, -1, &stmt, &tail);
        if (rc != SQLITE_OK) {
            return report_db(rep, c, rc, "statement failed");
        }
        if (!stmt) /* white space or a comment */
            continue;
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
            ;
        int ended = in_tx && rc == SQLITE_DONE && sqlite3_get_autocommit(c->db);
        int rolled_back = ended && is_rollback(sqlite3_sql(stmt));
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE) {
            return report_db(rep, c, rc, "statement failed");
        }
        (*done)++;
        if (ended) {
            retort_report_error(rep, rolled_back ? RETORT_EDB : RETORT_EDIRTY,
                                RT_ENDED_TRANSACTION);
            return rolled_back ? RETORT_EDB : RETORT_EDIRTY;
        }
    }
    return RETORT_OK;
}

static sqlite3_stmt *prepare_cached(sqlite_conn *c, const char *sql, int *rc)
{
    for (int i = 0; i < CACHE_SIZE; i++)
        if (c->cache[i].sql && strcmp(c->cache[i].sql, sql) == 0) {
            *rc = SQLITE_OK;
            return c->cache[i].stmt;
        }
    sqlite3_stmt *stmt = NULL;
    *rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (*rc != SQLITE_OK)
        return NULL;
    char *copy = rt_strdup(sql);
    if (!copy) {
        sqlite3_finalize(stmt);
        *rc = SQLITE_NOMEM;
        return NULL;
    }
    cached_stmt *slot = &c->cache[c->next_slot];
    c->next_slot = (c->next_slot + 1) % CACHE_SIZE;
    sqlite3_finalize(slot->stmt);
    rt_free(slot->sql);
    slot->sql = copy;
    slot->stmt = stmt;
    return stmt;
}

/* Binds $N, ?N, :N and @N by their number and bare ? by position, so
 * "$1, $2" means the same on SQLite as on PostgreSQL. */
static int bind_params(sqlite_conn *c, sqlite3_stmt *stmt, int nparams, const char *const *params,
                       retort_report *rep)
{
    int count = sqlite3_bind_parameter_count(stmt);
    for (int p = 1; p <= count; p++) {
        const char *name = sqlite3_bind_parameter_name(stmt, p);
        long n = p;
        if (name) {
            char *end = NULL;
            n = strtol(name + 1, &end, 10);
            if (!end || *end || n < 1) {
                char msg[256];
                snprintf(msg, sizeof msg, "parameter '%s' is not numbered: use $1, $2, ...",
                         name);
                retort_report_error(rep, RETORT_EINVAL, msg);
                return RETORT_EINVAL;
            }
        }
        if (n > nparams) {
            char msg[256];
            snprintf(msg, sizeof msg, "the statement uses parameter %ld but only %d %s given", n,
                     nparams, nparams == 1 ? "was" : "were");
            retort_report_error(rep, RETORT_EINVAL, msg);
            return RETORT_EINVAL;
        }
        const char *v = params[n - 1];
        int rc = v ? sqlite3_bind_text(stmt, p, v, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(stmt, p);
        if (rc != SQLITE_OK) {
            return report_db(rep, c, rc, "cannot bind a parameter");
        }
    }
    return RETORT_OK;
}

static int run_query(sqlite_conn *c, const char *sql, int nparams, const char *const *params,
                     retort_row_fn row, void *ctx, retort_report *rep)
{
    int rc;
    sqlite3_stmt *stmt = prepare_cached(c, sql, &rc);
    if (!stmt && rc == SQLITE_OK) {
        retort_report_error(rep, RETORT_EINVAL, "the statement is empty (only white space or "
                                                "comments)");
        return RETORT_EINVAL;
    }
    if (!stmt)
        return report_db(rep, c, rc, "statement failed");
    int result = bind_params(c, stmt, nparams, params, rep);
    if (result == RETORT_OK) {
        const char *small[16];
        int ncols = sqlite3_column_count(stmt);
        const char **values = ncols <= 16 ? small : rt_calloc((size_t)ncols, sizeof *values);
        if (!values) {
            retort_report_error(rep, RETORT_ENOMEM, "out of memory");
            result = RETORT_ENOMEM;
        }
        while (result == RETORT_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            for (int i = 0; i < ncols; i++)
                values[i] = (const char *)sqlite3_column_text(stmt, i);
            if (row && (result = row(ctx, ncols, values)) != 0) {
                if (result == RETORT_ENOMEM)
                    retort_report_error(rep, RETORT_ENOMEM, "out of memory");
                rc = SQLITE_DONE;
            }
        }
        if (result == RETORT_OK && rc != SQLITE_DONE) {
            result = report_db(rep, c, rc, "statement failed");
        }
        if (values != small)
            rt_free(values);
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}

static int sq_exec_params(void *db, const char *sql, int nparams, const char *const *params,
                          retort_report *rep)
{
    int rc = open_db(db, 1, rep);
    return rc != RETORT_OK ? rc : run_query(db, sql, nparams, params, NULL, NULL, rep);
}

static int sq_query(void *db, const char *sql, int nparams, const char *const *params,
                    retort_row_fn row, void *ctx, retort_report *rep)
{
    sqlite_conn *c = db;
    int rc = open_db(c, 0, rep);
    if (rc != RETORT_OK)
        return rc;
    if (!c->db) {
        /* No file, so no tables: what SQLite would say of any table. */
        retort_report_error(rep, RETORT_EDB, "no such table (the database file does not exist)");
        return RETORT_EDB;
    }
    return run_query(c, sql, nparams, params, row, ctx, rep);
}

static int simple(sqlite_conn *c, const char *sql, retort_report *rep)
{
    int orc = open_db(c, 1, rep);
    if (orc != RETORT_OK)
        return orc;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        return report_db(rep, c, rc, sql);
    }
    return RETORT_OK;
}

static int sq_begin(void *db, retort_report *rep)
{
    sqlite_conn *c = db;
    /* SQLite's own "cannot start a transaction within a transaction" does
     * not say whose it is: the core's begin after a migration that left one
     * open. */
    if (c->db && !sqlite3_get_autocommit(c->db)) {
        retort_report_error(rep, RETORT_EDB,
                            "BEGIN: a transaction is already open on this connection");
        return RETORT_EDB;
    }
    return simple(db, "BEGIN IMMEDIATE", rep);
}

static int sq_commit(void *db, retort_report *rep) { return simple(db, "COMMIT", rep); }

static int sq_rollback(void *db, retort_report *rep)
{
    sqlite_conn *c = db;
    /* SQLite may already have rolled back (e.g. after SQLITE_FULL). */
    if (!c->db || sqlite3_get_autocommit(c->db))
        return RETORT_OK;
    return simple(c, "ROLLBACK", rep);
}

/*
 * 'value' with ' doubled, SQLite having no escapes in literals; except that
 * a carriage return is written as char(13) outside the quotes, because the
 * sqlite3 shell drops a CR that ends an input line, and an offline script
 * is meant to be run by it: ('a' || char(13) || 'b') reads back exactly.
 */
static size_t sq_quote_literal(const char *value, char *out, size_t size)
{
    rt_buf b = RT_BUF_INIT;
    int cr = strchr(value, '\r') != NULL;
    if (cr)
        rt_buf_append_char(&b, '(');
    rt_buf_append_char(&b, '\'');
    for (const char *p = value; *p; p++) {
        if (*p == '\r') {
            rt_buf_append(&b, "' || char(13) || '");
            continue;
        }
        if (*p == '\'')
            rt_buf_append_char(&b, '\'');
        rt_buf_append_char(&b, *p);
    }
    rt_buf_append_char(&b, '\'');
    if (cr)
        rt_buf_append_char(&b, ')');
    /* Out of memory: a length no caller can allocate, so that it fails
     * rather than use a truncated literal. */
    size_t need = rt_buf_failed(&b) ? (size_t)-1 / 2 : b.len;
    if (size)
        snprintf(out, size, "%s", rt_buf_failed(&b) ? "" : rt_buf_str(&b));
    rt_buf_free(&b);
    return need;
}

static const char *sq_sql(int op)
{
    switch (op) {
    case RETORT_SQL_CREATE_VERSION_TABLE:
        return "CREATE TABLE IF NOT EXISTS {table} (\n"
               "    id TEXT PRIMARY KEY NOT NULL,\n"
               "    parents TEXT NOT NULL DEFAULT '',\n"
               "    message TEXT NOT NULL DEFAULT '',\n"
               "    checksum TEXT,\n"
               "    state TEXT NOT NULL DEFAULT 'applied',\n"
               "    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),\n"
               "    duration_ms INTEGER NOT NULL DEFAULT 0\n"
               ")";
    case RETORT_SQL_CREATE_LOG_TABLE:
        /* Append-only, so the rowid alias never reuses a number. */
        return "CREATE TABLE IF NOT EXISTS {log} (\n"
               "    seq INTEGER PRIMARY KEY,\n"
               "    revision TEXT NOT NULL,\n"
               "    direction TEXT NOT NULL,\n"
               "    started_at TEXT NOT NULL,\n"
               "    finished_at TEXT NOT NULL,\n"
               "    outcome TEXT NOT NULL,\n"
               "    error TEXT,\n"
               "    statements_done INTEGER\n"
               ")";
    case RETORT_SQL_SELECT_VERSIONS:
        /* rowid follows insertion order: a new row gets max(rowid) + 1. */
        return "SELECT id, parents, message, checksum, state, applied_at, "
               "CAST(duration_ms AS TEXT) FROM {table} ORDER BY rowid";
    case RETORT_SQL_SELECT_VERSION:
        return "SELECT state FROM {table} WHERE id = $1";
    case RETORT_SQL_INSERT_VERSION:
        return "INSERT INTO {table} (id, parents, message, checksum, state, duration_ms) "
               "VALUES ($1, $2, $3, $4, $5, CAST($6 AS INTEGER))";
    case RETORT_SQL_UPDATE_VERSION:
        return "UPDATE {table} SET state = $2, duration_ms = CAST($3 AS INTEGER) WHERE id = $1";
    case RETORT_SQL_DELETE_VERSION:
        return "DELETE FROM {table} WHERE id = $1";
    case RETORT_SQL_DELETE_ALL_VERSIONS:
        return "DELETE FROM {table}";
    case RETORT_SQL_INSERT_LOG:
        return "INSERT INTO {log} (revision, direction, started_at, finished_at, outcome, error, "
               "statements_done) VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS INTEGER))";
    case RETORT_SQL_UPDATE_CHECKSUM:
        return "UPDATE {table} SET checksum = $2 WHERE id = $1";
    case RETORT_SQL_SELECT_LOG:
        return "SELECT CAST(seq AS TEXT), revision, direction, started_at, finished_at, outcome, "
               "error, CAST(statements_done AS TEXT) FROM {log} ORDER BY seq";
    case RETORT_SQL_BEGIN:
        return "BEGIN";
    case RETORT_SQL_COMMIT:
        return "COMMIT";
    default:
        return NULL; /* RETORT_SQL_CREATE_SCHEMA: SQLite has no schemas to create */
    }
}

static int exists_row(void *ctx, int ncols, const char *const *values)
{
    (void)ncols;
    (void)values;
    *(int *)ctx = 1;
    return 0;
}

static int sq_table_exists(void *db, const char *schema, const char *table, int *exists,
                           retort_report *rep)
{
    (void)schema;
    *exists = 0;
    sqlite_conn *c = db;
    int rc = open_db(c, 0, rep);
    if (rc != RETORT_OK || !c->db)
        return rc;
    const char *params[] = {table};
    return run_query(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1", 1,
                     params, exists_row, exists, rep);
}

/* A callback asking for the handle is about to use it: open (and create)
 * the database now.  A failure to open surfaces at the next statement. */
static void *sq_native(void *db)
{
    sqlite_conn *c = db;
    retort_report *none = NULL;
    open_db(c, 1, none);
    return c->db;
}

/* SQLite's own counter: it moves on every commit to the file, ours or
 * another connection's, and a BEGIN IMMEDIATE refreshes it from the file
 * header as it takes the lock.  Reading it costs no I/O. */
static int sq_data_version(void *db, unsigned long long *version)
{
    sqlite_conn *c = db;
    unsigned int v = 0;
    if (!c->db || sqlite3_file_control(c->db, "main", SQLITE_FCNTL_DATA_VERSION, &v) != SQLITE_OK)
        return 0;
    *version = v;
    return 1;
}

static int report_oom_sq(retort_report *rep)
{
    retort_report_error(rep, RETORT_ENOMEM, "out of memory");
    return RETORT_ENOMEM;
}

/* ------------------------------------------------ fresh test databases */

/*
 * A fresh target is a private in-memory database (memdb VFS, named so that
 * another connection of the process can open it through its URL) or, when
 * the URL names a directory (ending in '/'), a new file there.  Templates
 * are database files: in that directory, or for in-memory targets in
 * $TMPDIR/retort-templates-UID (owner-only).  retort-tpl-KEY.db is a
 * published template, built as retort-tpb-KEY-PID.db and renamed, under an
 * flock on retort-templates.lock in the same directory; a fresh target
 * copies it with the backup API.
 */
typedef struct sq_fresh {
    sqlite3 *keep; /* holds an in-memory target alive; NULL for a file */
    char *path;    /* the file to remove; NULL in memory */
} sq_fresh;

static int report_errno(retort_report *rep, const char *what, const char *path)
{
    char msg[1200];
    snprintf(msg, sizeof msg, "%s '%.900s': %s", what, path, strerror(errno));
    retort_report_error(rep, RETORT_EIO, msg);
    return RETORT_EIO;
}

/* The directory part of a directory URL (with its '/'), or NULL when the
 * URL is not one; malloc'd. */
static char *fresh_dir_of(const char *url)
{
    const char *colon = strchr(url, ':');
    const char *rest = colon ? colon + 1 : url;
    if (strncmp(rest, "//", 2) == 0 && rest[2] == '/')
        rest += 3;
    size_t len = strlen(rest);
    if (len == 0 || rest[len - 1] != '/')
        return NULL;
    return rt_strdup(rest);
}

/* Where the templates of url live, with a trailing '/'; malloc'd. */
static int template_dir(const char *url, char **out, retort_report *rep)
{
    *out = fresh_dir_of(url);
    if (*out)
        return RETORT_OK;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    rt_buf b = RT_BUF_INIT;
    rt_buf_printf(&b, "%s/retort-templates-%ld/", tmp, (long)getuid());
    if (rt_buf_failed(&b)) {
        retort_report_error(rep, RETORT_ENOMEM, "out of memory");
        return RETORT_ENOMEM;
    }
    char *dir = rt_buf_take(&b);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int rc = report_errno(rep, "cannot create the template directory", dir);
        rt_free(dir);
        return rc;
    }
    /* Shared /tmp: only a directory of ours, closed to others, is trusted
     * to hold the images every test will copy. */
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
        (st.st_mode & 0022)) {
        char msg[1200];
        snprintf(msg, sizeof msg, "the template directory '%.900s' is not a directory owned "
                                  "by this user and closed to others; remove it", dir);
        rt_free(dir);
        retort_report_error(rep, RETORT_EIO, msg);
        return RETORT_EIO;
    }
    *out = dir;
    return RETORT_OK;
}

static uint64_t sq_unique_bits(const void *salt)
{
    uint64_t x = 0;
    sqlite3_randomness(sizeof x, &x);
    x ^= (uint64_t)(uintptr_t)salt ^ ((uint64_t)getpid() << 32);
    return x;
}

/* Copies the template file into db's main database. */
static int copy_template(sqlite3 *dest, const char *tpl, retort_report *rep)
{
    sqlite3 *src = NULL;
    int rc = sqlite3_open_v2(tpl, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_backup *b = sqlite3_backup_init(dest, "main", src, "main");
        if (!b)
            rc = sqlite3_errcode(dest);
        else {
            rc = sqlite3_backup_step(b, -1);
            int frc = sqlite3_backup_finish(b);
            rc = rc == SQLITE_DONE ? frc : rc;
        }
    }
    sqlite3_close_v2(src);
    if (rc != SQLITE_OK) {
        char msg[1200];
        snprintf(msg, sizeof msg, "cannot copy the test template '%.900s': %s", tpl,
                 sqlite3_errstr(rc));
        retort_report_error(rep, rc == SQLITE_NOMEM ? RETORT_ENOMEM : RETORT_EDB, msg);
        return rc == SQLITE_NOMEM ? RETORT_ENOMEM : RETORT_EDB;
    }
    return RETORT_OK;
}

static int sq_fresh_create(const char *url, const char *tmpl, int timeout_ms, void **out,
                           retort_line_fn url_out, void *ctx, retort_report *rep)
{
    *out = NULL;
    char *tdir = NULL, *tpl = NULL;
    int rc = RETORT_OK;
    if (tmpl) {
        rc = template_dir(url, &tdir, rep);
        if (rc != RETORT_OK)
            return rc;
        rt_buf b = RT_BUF_INIT;
        rt_buf_printf(&b, "%sretort-tpl-%s.db", tdir, tmpl);
        rt_free(tdir);
        if (rt_buf_failed(&b))
            return report_oom_sq(rep);
        tpl = rt_buf_take(&b);
        struct stat st;
        if (stat(tpl, &st) != 0) {
            int err = errno, code = err == ENOENT ? RETORT_ENOTFOUND : RETORT_EIO;
            char msg[1200];
            snprintf(msg, sizeof msg, "cannot read the test template '%.900s': %s", tpl,
                     strerror(err));
            retort_report_error(rep, code, msg);
            rt_free(tpl);
            return code;
        }
    }
    sq_fresh *f = rt_calloc(1, sizeof *f);
    rt_buf u = RT_BUF_INIT;
    char *dir = fresh_dir_of(url);
    if (!f) {
        rc = report_oom_sq(rep);
    } else if (dir) {
        /* Absolute, so that the drop removes the right file even if the
         * process changes directory meanwhile. */
        rt_buf file = RT_BUF_INIT;
        if (dir[0] != '/') {
            char cwd[4096];
            if (!getcwd(cwd, sizeof cwd))
                rc = report_errno(rep, "cannot create a fresh SQLite database file in directory",
                                  dir);
            else
                rt_buf_printf(&file, "%s/", cwd);
        }
        rt_buf_printf(&file, "%sretort-fresh-XXXXXX", dir);
        if (rc == RETORT_OK && rt_buf_failed(&file))
            rc = report_oom_sq(rep);
        int fd = rc == RETORT_OK ? mkstemp(file.data) : -1;
        if (rc == RETORT_OK && fd < 0)
            rc = report_errno(rep, "cannot create a fresh SQLite database file in directory",
                              dir);
        if (fd >= 0) {
            close(fd);
            f->path = rt_buf_take(&file);
        }
        rt_buf_free(&file);
        if (rc == RETORT_OK && tpl) {
            sqlite3 *dest = NULL;
            int src = sqlite3_open_v2(f->path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                      NULL);
            rc = src == SQLITE_OK ? copy_template(dest, tpl, rep)
                                  : report_errno(rep, "cannot open the fresh database", f->path);
            sqlite3_close_v2(dest);
        }
        /* sqlite:/// + PATH reads PATH back verbatim. */
        if (rc == RETORT_OK)
            rt_buf_printf(&u, "sqlite:///%s", f->path);
    } else {
        char name[64];
        snprintf(name, sizeof name, "/retort-fresh-%016llx",
                 (unsigned long long)sq_unique_bits(f));
        rt_buf_printf(&u, "sqlite:file:%s?vfs=memdb", name);
        if (rt_buf_failed(&u))
            rc = report_oom_sq(rep);
        else {
            int src = sqlite3_open_v2(rt_buf_str(&u) + 7, &f->keep,
                                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
                                      NULL);
            if (src != SQLITE_OK) {
                char msg[256];
                snprintf(msg, sizeof msg, "cannot create a fresh in-memory SQLite database: %s",
                         sqlite3_errstr(src));
                retort_report_error(rep, RETORT_EDB, msg);
                rc = RETORT_EDB;
            } else if (tpl) {
                sqlite3_busy_timeout(f->keep, timeout_ms);
                /* A copy into a new database needs no rollback journal:
                 * without it the pages are copied once, not twice. */
                sqlite3_exec(f->keep, "PRAGMA journal_mode = OFF", NULL, NULL, NULL);
                rc = copy_template(f->keep, tpl, rep);
                sqlite3_exec(f->keep, "PRAGMA journal_mode = MEMORY", NULL, NULL, NULL);
            }
        }
    }
    rt_free(dir);
    rt_free(tpl);
    if (rc == RETORT_OK && rt_buf_failed(&u))
        rc = report_oom_sq(rep);
    if (rc != RETORT_OK) {
        rt_buf_free(&u);
        if (f) {
            sqlite3_close_v2(f->keep);
            if (f->path)
                unlink(f->path);
            rt_free(f->path);
            rt_free(f);
        }
        return rc;
    }
    url_out(ctx, rt_buf_str(&u));
    rt_buf_free(&u);
    *out = f;
    return RETORT_OK;
}

static int sq_fresh_drop(void *vf, retort_report *rep)
{
    sq_fresh *f = vf;
    if (!f)
        return RETORT_OK;
    int rc = RETORT_OK;
    sqlite3_close_v2(f->keep);
    if (f->path) {
        static const char *const suffixes[] = {"", "-journal", "-wal", "-shm", NULL};
        for (int i = 0; suffixes[i]; i++) {
            rt_buf path = RT_BUF_INIT;
            rt_buf_printf(&path, "%s%s", f->path, suffixes[i]);
            if (!rt_buf_failed(&path) && unlink(rt_buf_str(&path)) != 0 && errno != ENOENT)
                rc = report_errno(rep, "could not remove the fresh test database file",
                                  rt_buf_str(&path));
            rt_buf_free(&path);
        }
    }
    rt_free(f->path);
    rt_free(f);
    return rc;
}

/* Removes the templates in dir whose names start with prefix, except
 * keep, reporting each through dropped. */
static void drop_templates_in(const char *dir, const char *prefix, const char *keep,
                              retort_line_fn dropped, void *ctx)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    size_t plen = strlen(prefix);
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, prefix, plen) != 0 || n < 3 || strcmp(e->d_name + n - 3, ".db") ||
            (keep && strcmp(e->d_name, keep) == 0))
            continue;
        rt_buf path = RT_BUF_INIT;
        rt_buf_printf(&path, "%s%s", dir, e->d_name);
        if (!rt_buf_failed(&path) && unlink(rt_buf_str(&path)) == 0 && dropped)
            dropped(ctx, e->d_name);
        rt_buf_free(&path);
    }
    closedir(d);
}

static int sq_template_ensure(const char *url, const char *key, int timeout_ms,
                              int (*build)(void *ctx, const char *build_url), void *ctx,
                              int *built, retort_report *rep)
{
    (void)timeout_ms; /* flock cannot time out; a builder is bounded by its migrations */
    *built = 0;
    char *dir = NULL;
    int rc = template_dir(url, &dir, rep);
    if (rc != RETORT_OK)
        return rc;
    rt_buf tpl = RT_BUF_INIT, tmp = RT_BUF_INIT, lockp = RT_BUF_INIT, bu = RT_BUF_INIT;
    rt_buf_printf(&tpl, "%sretort-tpl-%s.db", dir, key);
    rt_buf_printf(&tmp, "%sretort-tpb-%s-%ld.db", dir, key, (long)getpid());
    rt_buf_printf(&lockp, "%sretort-templates.lock", dir);
    /* Built in memory (no fsync per migration), then written out once. */
    rt_buf_printf(&bu, "sqlite:file:/retort-tpb-%s-%ld?vfs=memdb", key, (long)getpid());
    sqlite3 *keep = NULL;
    int fd = -1;
    struct stat st;
    if (rt_buf_failed(&tpl) || rt_buf_failed(&tmp) || rt_buf_failed(&lockp) ||
        rt_buf_failed(&bu)) {
        rc = report_oom_sq(rep);
        goto done;
    }
    if (stat(rt_buf_str(&tpl), &st) == 0)
        goto done; /* built already: the common case, no lock */
    fd = open(rt_buf_str(&lockp), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = report_errno(rep, "cannot open the template lock", rt_buf_str(&lockp));
        goto done;
    }
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR) {
            rc = report_errno(rep, "cannot lock", rt_buf_str(&lockp));
            goto done;
        }
    if (stat(rt_buf_str(&tpl), &st) == 0)
        goto done; /* another process built it while this one waited */
    unlink(rt_buf_str(&tmp));
    /* The in-memory database the build migrates, held open meanwhile. */
    if (sqlite3_open_v2(rt_buf_str(&bu) + 7, &keep,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI |
                            SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        retort_report_error(rep, RETORT_EDB, "cannot create the in-memory test template");
        rc = RETORT_EDB;
        goto done;
    }
    rc = build(ctx, rt_buf_str(&bu));
    if (rc == RETORT_OK) {
        /* An empty file, owner-only, then one copy of the built pages. */
        int bfd = open(rt_buf_str(&tmp), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (bfd < 0) {
            rc = report_errno(rep, "cannot create the template", rt_buf_str(&tmp));
            goto done;
        }
        close(bfd);
        sqlite3 *file = NULL;
        int src = sqlite3_open_v2(rt_buf_str(&tmp), &file,
                                  SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        sqlite3_backup *b = src == SQLITE_OK ? sqlite3_backup_init(file, "main", keep, "main")
                                             : NULL;
        src = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
        int frc = b ? sqlite3_backup_finish(b) : SQLITE_ERROR;
        sqlite3_close_v2(file);
        if (src != SQLITE_DONE || frc != SQLITE_OK) {
            char msg[1200];
            snprintf(msg, sizeof msg, "cannot write the test template '%.900s': %s",
                     rt_buf_str(&tmp), sqlite3_errstr(src != SQLITE_DONE ? src : frc));
            retort_report_error(rep, RETORT_EIO, msg);
            rc = RETORT_EIO;
        }
    }
    if (rc == RETORT_OK && rename(rt_buf_str(&tmp), rt_buf_str(&tpl)) != 0)
        rc = report_errno(rep, "cannot publish the template", rt_buf_str(&tpl));
    if (rc != RETORT_OK) {
        unlink(rt_buf_str(&tmp));
        goto done;
    }
    *built = 1;
    /* Stale: the same project's templates for other migrations. */
    const char *us = strchr(key, '_');
    char prefix[80], current[96];
    snprintf(prefix, sizeof prefix, "retort-tpl-%.*s_", (int)(us ? us - key : (long)strlen(key)),
             key);
    snprintf(current, sizeof current, "retort-tpl-%s.db", key);
    drop_templates_in(dir, prefix, current, NULL, NULL);
done:
    sqlite3_close_v2(keep);
    if (fd >= 0)
        close(fd); /* releases the flock */
    rt_free(dir);
    rt_buf_free(&tpl);
    rt_buf_free(&tmp);
    rt_buf_free(&lockp);
    rt_buf_free(&bu);
    return rc;
}

static int sq_template_drop(const char *url, retort_line_fn dropped, void *ctx,
                            retort_report *rep)
{
    char *dir = NULL;
    int rc = template_dir(url, &dir, rep);
    if (rc != RETORT_OK)
        return rc;
    drop_templates_in(dir, "retort-tpl-", NULL, dropped, ctx);
    rt_free(dir);
    return RETORT_OK;
}

static const char *const sqlite_schemes[] = {"sqlite", "sqlite3", NULL};

const retort_backend rt_sqlite_backend = {
    .abi_version = RETORT_BACKEND_ABI_VERSION,
    .struct_size = sizeof(retort_backend),
    .name = "sqlite",
    .schemes = sqlite_schemes,
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .exec = sq_exec,
    .exec_params = sq_exec_params,
    .query = sq_query,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .lock = NULL,
    .unlock = NULL,
    .quote_ident = NULL,
    .quote_literal = sq_quote_literal,
    .sql = sq_sql,
    .table_exists = sq_table_exists,
    .default_schema = NULL,
    .snapshot = rt_sqlite_snapshot,
    .native = sq_native,
    .exec_batch = NULL, /* no round trips to save */
    .data_version = sq_data_version,
    .fresh_create = sq_fresh_create,
    .fresh_drop = sq_fresh_drop,
    .template_ensure = sq_template_ensure,
    .template_drop = sq_template_drop,
};
