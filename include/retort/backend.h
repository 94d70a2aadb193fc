/*
 * retort/backend.h — the driver vtable, for third-party backends.
 *
 * Applications never need this header.  A backend is a const
 * retort_backend struct whose first two members are the ABI version it was
 * built against and its own size; members are only ever appended, in blocks
 * marked "members from version N on", and the core calls a member only when
 * the driver's abi_version and struct_size say it has it and it is non-NULL.
 *
 * A driver owns one opaque connection object ("db") per context.  Every
 * member that can fail returns RETORT_OK or a RETORT_E* code and, on failure,
 * describes the failure with retort_report_error() so that messages look the
 * same whatever the backend.  The core never calls a driver concurrently on
 * the same db; different dbs may be used from different threads at once.
 */
#ifndef RETORT_BACKEND_H
#define RETORT_BACKEND_H

#include <stddef.h>

#include <retort/retort.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RETORT_BACKEND_ABI_VERSION 3

/* Where a driver reports a failure; owned by the core, valid during the call
 * it was passed to. */
typedef struct retort_report retort_report;

/*
 * Records a failure: code (RETORT_EDB, RETORT_ECONNECT, RETORT_ELOCK,
 * RETORT_ENOMEM, ...) and the database's own message, copied.  The core adds
 * the context (which revision, which operation).  The last report wins.  A
 * driver must never put a password in message.
 */
RETORT_API void retort_report_error(retort_report *rep, int code, const char *message);

/*
 * Hands the core a credential (a password) the driver found in the URL as
 * its own parser reads it, from connect, before it reports anything: the
 * core hides that value, in each way it may be written, in every message
 * and log line of the context from then on, the one being reported
 * included.  value is copied; NULL or "" is ignored.  Call it once per
 * value; it cannot fail (out of memory, the core withholds messages rather
 * than risk showing the value).  Since release 0.2 (RETORT_0.2).
 */
RETORT_API void retort_report_secret(retort_report *rep, const char *value);

/* Receives one result row; values[i] is NULL for SQL NULL, valid only during
 * the call.  Return nonzero to stop (the query then returns that value). */
typedef int (*retort_row_fn)(void *ctx, int ncols, const char *const *values);

/* Receives one line of text (no newline), valid only during the call. */
typedef int (*retort_line_fn)(void *ctx, const char *line);

/*
 * Statement templates a driver provides through its sql member: the dialect
 * of the version table, the audit log and transaction brackets, used online
 * (with parameters) and offline (with literals).  In a template, {table}
 * stands for the quoted, schema-qualified version table, {log} for the audit
 * log table, {schema} for the quoted schema (identifiers, through
 * quote_ident); {schema_name} for the schema's name as a string literal
 * (through quote_literal; from version 3 on); {tag} for a dollar-quote tag
 * that occurs nowhere else in the expanded statement, so that a body
 * written $tag$ ... $tag$ holds whatever the names hold (version 3 on);
 * $1..$n are parameters.  A placeholder stands for a name that may come
 * from the server (current_schema()) and hold any character: a template
 * must put each placeholder only in the context it is quoted for.
 */
enum {
    RETORT_SQL_CREATE_SCHEMA = 1,        /* NULL when the dialect has no schemas */
    RETORT_SQL_CREATE_VERSION_TABLE = 2, /* idempotent (IF NOT EXISTS) */
    RETORT_SQL_CREATE_LOG_TABLE = 3,     /* idempotent (IF NOT EXISTS) */
    /* columns: id, parents, message, checksum, state, applied_at, duration_ms,
     * in the order the revisions were applied */
    RETORT_SQL_SELECT_VERSIONS = 4,
    /* $1 id, $2 parents, $3 message, $4 checksum (NULL for callbacks),
     * $5 state ("applied" | "dirty"), $6 duration_ms */
    RETORT_SQL_INSERT_VERSION = 5,
    RETORT_SQL_UPDATE_VERSION = 6, /* $1 id, $2 state, $3 duration_ms */
    RETORT_SQL_DELETE_VERSION = 7, /* $1 id */
    RETORT_SQL_DELETE_ALL_VERSIONS = 8,
    /* $1 revision, $2 direction ("up" | "down" | "stamp" | "mark-applied" |
     * "mark-reverted"), $3 started_at, $4 finished_at (ISO 8601 UTC),
     * $5 outcome ("ok" | "failed"), $6 error text (NULL if none),
     * $7 statements completed (NULL unless non-transactional) */
    RETORT_SQL_INSERT_LOG = 9,
    RETORT_SQL_BEGIN = 10, /* offline transaction brackets */
    RETORT_SQL_COMMIT = 11,
    /* $1 id; one column: state.  One row's lookup (mark-applied,
     * mark-reverted). */
    RETORT_SQL_SELECT_VERSION = 12,
    /* columns, as text: seq, revision, direction, started_at, finished_at
     * (ISO 8601 UTC), outcome, error (NULL if none), statements_done (NULL
     * if not recorded); oldest first.  For retort_audit_log(). */
    RETORT_SQL_SELECT_LOG = 13,
    /* $1 id, $2 checksum: re-records an applied revision's checksum
     * (retort_repair). */
    RETORT_SQL_UPDATE_CHECKSUM = 14
};

typedef struct retort_backend retort_backend;

struct retort_backend {
    int abi_version;    /* RETORT_BACKEND_ABI_VERSION the driver was built with */
    size_t struct_size; /* sizeof(retort_backend) as the driver saw it */

    /* ---- members from version 1 on ---- */

    const char *name;           /* "sqlite": shown in messages and by retort_conn_backend */
    const char *const *schemes; /* NULL-terminated URL schemes it serves */

    /* Opens a connection for url (the whole URL, scheme included).
     * timeout_ms is the busy/lock timeout setting.  On failure *db may be
     * left NULL; the core calls disconnect on a non-NULL *db either way. */
    int (*connect)(const char *url, int timeout_ms, void **db, retort_report *rep);
    void (*disconnect)(void *db);

    /* Executes one or more statements.  *done (never NULL) receives how
     * many completed, for the audit log of non-transactional revisions.
     * Outside a transaction each statement must run and commit by itself
     * (PostgreSQL's CREATE INDEX CONCURRENTLY needs this). */
    int (*exec)(void *db, const char *sql, int *done, retort_report *rep);
    /* One statement with text parameters $1..$n (NULL = SQL NULL). */
    int (*exec_params)(void *db, const char *sql, int nparams, const char *const *params,
                       retort_report *rep);
    /* One statement with parameters; row is called for each result row. */
    int (*query)(void *db, const char *sql, int nparams, const char *const *params,
                 retort_row_fn row, void *ctx, retort_report *rep);

    /* Write transactions.  begin must take the write lock at once where the
     * database has one (SQLite: BEGIN IMMEDIATE, honouring the timeout). */
    int (*begin)(void *db, retort_report *rep);
    int (*commit)(void *db, retort_report *rep);
    int (*rollback)(void *db, retort_report *rep);

    /* The migration lock for one version table, held across transactions
     * until unlock; waits at most timeout_ms, then RETORT_ELOCK.  *exclusive
     * receives 1 when holding it excludes every other migrator (the core then
     * trusts the state read under it), 0 when the driver relies on begin's
     * write lock instead (the core then re-checks inside each transaction).
     * NULL member: no lock, as if *exclusive were 0. */
    int (*lock)(void *db, const char *schema, const char *table, int timeout_ms,
                int *exclusive, retort_report *rep);
    int (*unlock)(void *db, const char *schema, const char *table, retort_report *rep);

    /* Writes ident quoted for the dialect into out (size bytes, NUL
     * included) and returns the length it needs without the NUL, like
     * snprintf.  NULL member: ANSI double quotes. */
    size_t (*quote_ident)(const char *ident, char *out, size_t size);

    /* The dialect's template for a RETORT_SQL_* operation, or NULL where the
     * dialect has no such statement.  Static strings. */
    const char *(*sql)(int op);

    /* Whether table exists in schema (NULL: the default schema). */
    int (*table_exists)(void *db, const char *schema, const char *table, int *exists,
                        retort_report *rep);

    /* The schema the connection uses when none is set, copied into out
     * (size bytes); "" when the dialect has no schemas.  May query once. */
    int (*default_schema)(void *db, char *out, size_t size, retort_report *rep);

    /* Describes every object of schema (NULL: the default) except the
     * tables named in exclude (NULL-terminated), one canonical line per
     * column, constraint, index or view, in any order (the core sorts). */
    int (*snapshot)(void *db, const char *schema, const char *const *exclude,
                    retort_line_fn line, void *ctx, retort_report *rep);

    /* The native handle (sqlite3 *, PGconn *) for retort_native(). */
    void *(*native)(void *db);

    /* ---- members from version 2 on ---- */

    /* Runs n statements inside the open transaction, statement i being
     * sql[i] with nparams[i] text parameters params[i] as exec_params takes
     * them, then commits when commit is nonzero: in one round trip where
     * the protocol allows (libpq's pipeline mode), which is the point of the
     * member.  Stops at the first failure, reports it, and sets *failed (never
     * NULL) to its index, n meaning the commit; the core then rolls back.
     * On success *failed is -1.  NULL member: the core calls exec_params for
     * each statement, then commit. */
    int (*exec_batch)(void *db, int n, const char *const *sql, const int *nparams,
                      const char *const *const *params, int commit, int *failed,
                      retort_report *rep);

    /* Reads a counter into *version that changes whenever another
     * connection commits to the database (it may move on this connection's
     * own commits too: the core reads it again after each), and returns 1;
     * returns 0 when it cannot tell.  Called right after begin, under its
     * write lock, and after the core's own reads and commits: when the value
     * after begin is the one the core last saw, nothing changed under it and
     * the per-transaction re-check (re-read and re-plan) of a driver whose
     * lock is not exclusive is skipped.  Must not fail or touch the database (SQLite:
     * SQLITE_FCNTL_DATA_VERSION).  NULL member: the core always re-checks. */
    int (*data_version)(void *db, unsigned long long *version);

    /* ---- members from version 3 on ---- */

    /* Writes value as a string literal of the dialect into out (size bytes,
     * NUL included) and returns the length it needs without the NUL, like
     * snprintf.  The literal must read back as exactly value whatever the
     * session's settings (PostgreSQL: standard_conforming_strings).  Used
     * for offline scripts and the {schema_name} placeholder.  NULL member:
     * 'value' with ' doubled (the SQL standard's literal). */
    size_t (*quote_literal)(const char *value, char *out, size_t size);
    /*
     * Fresh test databases (retort_new_fresh) and their templates.  All four
     * are optional together: a driver without fresh_create has no fresh
     * targets.  url is the URL retort_new_fresh was given (the server, or a
     * SQLite directory ending in '/', or any other SQLite URL for private
     * in-memory databases); the driver owns every name it makes there.
     *
     * fresh_create makes a new database no other caller can reach, empty
     * when tmpl is NULL, else a copy of the template tmpl (a key that
     * template_ensure made exist), and calls url_out once with a URL that
     * connect opens, credentials as in url.  *fresh receives a handle the
     * driver owns (never NULL on success) until fresh_drop.  A template
     * tmpl that does not exist is RETORT_ENOTFOUND, with nothing created:
     * the core tries the copy first and calls template_ensure only then.
     */
    int (*fresh_create)(const char *url, const char *tmpl, int timeout_ms, void **fresh,
                        retort_line_fn url_out, void *ctx, retort_report *rep);
    /* Drops the database fresh_create made and frees the handle, whatever
     * it returns.  Called after the core closed its own connection to it. */
    int (*fresh_drop)(void *fresh, retort_report *rep);
    /*
     * Makes the template named key exist (key: [a-z0-9_], at most 40
     * characters; the characters up to the first '_' identify the project,
     * the rest its migrations).  When it exists, returns at once with
     * *built = 0.  Otherwise, under a lock that other processes building
     * the same url's templates wait for (at most timeout_ms where the
     * driver can bound the wait), it creates an empty database, calls
     * build(ctx, build_url), which migrates it and closes every connection
     * to it, publishes it under key only when build returned RETORT_OK,
     * drops the templates of the same project with another key (stale:
     * older migrations), and sets *built = 1.  A build failure is returned
     * as is, with nothing published.
     */
    int (*template_ensure)(const char *url, const char *key, int timeout_ms,
                           int (*build)(void *ctx, const char *build_url), void *ctx,
                           int *built, retort_report *rep);
    /* Drops every template of url's server or directory (made by any
     * project), calling dropped once with each one's name. */
    int (*template_drop)(const char *url, retort_line_fn dropped, void *ctx, retort_report *rep);
};

/*
 * Registers a driver for its schemes, for every context created afterwards.
 * backend is borrowed and must stay valid for the life of the process (a
 * static struct).  Thread-safe.  Errors (nothing registered): RETORT_EINVAL
 * (NULL; a missing name, schemes, connect, disconnect, exec, exec_params,
 * query, begin, commit, rollback, sql or table_exists; abi_version newer than
 * this library or struct_size too small for it), RETORT_EBACKEND (a scheme or
 * name already served by another driver, or the registry is full).
 */
RETORT_API int retort_register_backend(const retort_backend *backend);

/* The registered driver serving scheme (or named name), built-in or
 * third-party, or NULL: lets a driver wrap another.  Thread-safe. */
RETORT_API const retort_backend *retort_backend_find(const char *scheme);

/* Writes the schemes that can be used now, space-separated, into out (size
 * bytes, NUL included; out may be NULL when size is 0) and returns the
 * length needed without the NUL, like snprintf.  Thread-safe. */
RETORT_API size_t retort_backend_schemes(char *out, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* RETORT_BACKEND_H */
