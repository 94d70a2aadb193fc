/*
 * postgres_backend.c — the PostgreSQL driver behind the vtable (libpq).
 *
 * Owns one PGconn per context, the dialect's statement templates, and the
 * migration lock: a session-level advisory lock polled with
 * pg_try_advisory_lock, so that a timeout is ours to enforce and a waiting
 * migrator never holds a transaction open.  Statements go one at a time
 * outside a transaction block (CREATE INDEX CONCURRENTLY refuses to share a
 * query string with others) and in one round trip inside one, with the
 * BEGIN in front; the version row, the audit entry and the COMMIT that end a
 * step go in one pipeline (exec_batch).  Messages are
 * built from libpq's fields, never from the connection string, and every
 * password libpq reads in the URL is handed to the core
 * (retort_report_secret), which hides it wherever libpq's text or ours
 * would show it.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pq_api.h" /* after libpq-fe.h: calls go through the loaded table */
#include "buf.h"
#include "builtin_backends.h"
#include "memory.h"
#include "retort/backend.h"
#include "postgres_snapshot.h"
#include "quote.h"
#include "sql_split.h"

/* Between two pg_try_advisory_lock attempts: short enough that a waiter
 * starts soon after the holder finishes, long enough to cost the server
 * nothing measurable with many waiters. */
#define LOCK_POLL_FIRST_MS 20
#define LOCK_POLL_MAX_MS 50

typedef struct pg_db {
    PGconn *conn;
    char *default_schema; /* current_schema(), read once */
    /* begin was called and BEGIN not sent yet: it travels with the next
     * statement, saving a round trip per transaction.  PostgreSQL's BEGIN
     * takes no lock, so sending it late changes nothing else. */
    int begin_pending;
    /* The transaction the core opened carries a marker, SET LOCAL
     * retort.tx = tx_serial, set by the same query as its BEGIN.  A body's
     * COMMIT or ROLLBACK resets it even when a BEGIN after it opens a new
     * transaction, which the transaction status alone cannot show; a query
     * riding behind the body reads it back.  marked: the open transaction
     * has one. */
    unsigned long tx_serial;
    int marked;
} pg_db;

/* ------------------------------------------------------------ messages */

#define NO_LINE (-1L)

static long line_base_of(const char *sql) { return strchr(sql, '\n') ? 0 : NO_LINE; }

/* Appends text as one line: libpq and server messages carry newlines, tabs
 * and double spaces ("ERROR:  ..."), which a log line should not. */
static void append_one_line(rt_buf *b, const char *text)
{
    int pending_space = 0;
    for (const char *p = text; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            pending_space = 1;
            continue;
        }
        if (pending_space && b->len > 0)
            rt_buf_append_char(b, ' ');
        pending_space = 0;
        rt_buf_append_char(b, *p);
    }
}

static int report_oom(retort_report *rep)
{
    retort_report_error(rep, RETORT_ENOMEM, "out of memory");
    return RETORT_ENOMEM;
}

/* Hands a finished message to the core; the buffer is freed either way. */
static int report_buf(retort_report *rep, int code, rt_buf *b)
{
    if (rt_buf_failed(b)) {
        rt_buf_free(b);
        return report_oom(rep);
    }
    retort_report_error(rep, code, rt_buf_str(b));
    rt_buf_free(b);
    return code;
}

/*
 * The 1-based line of text holding the 1-based character position the
 * server reported.  The server counts characters in the client encoding;
 * UTF-8 is the one multibyte encoding worth counting exactly, the rest are
 * counted in bytes (exact for single-byte encodings).
 */
static long line_of_position(PGconn *conn, const char *text, long position)
{
    int utf8 = strcmp(pg_encoding_to_char(PQclientEncoding(conn)), "UTF8") == 0;
    long line = 1;
    long chars = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (utf8 && (*p & 0xC0) == 0x80)
            continue;
        if (++chars >= position)
            break;
        if (*p == '\n')
            line++;
    }
    return line;
}

/*
 * Reports a failed command.  res may be NULL (libpq could not even send
 * it).  text is the SQL as sent and line_base the number of lines before it
 * in what the caller was given, to turn the server's position into a line
 * the author can find, or NO_LINE where a line number would be noise (one-
 * line SQL); prefix (may be NULL) says which statement failed.
 */
static int report_pg(pg_db *db, const PGresult *res, const char *text, long line_base,
                     const char *prefix, retort_report *rep)
{
    rt_buf b = RT_BUF_INIT;
    if (prefix)
        rt_buf_append(&b, prefix);
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (primary) {
        append_one_line(&b, primary);
        const char *position = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
        const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (position && text && line_base != NO_LINE) {
            long line = line_base + line_of_position(db->conn, text, strtol(position, NULL, 10));
            rt_buf_printf(&b, " (line %ld%s%s)", line, sqlstate ? ", SQLSTATE " : "",
                          sqlstate ? sqlstate : "");
        } else if (sqlstate) {
            rt_buf_printf(&b, " (SQLSTATE %s)", sqlstate);
        }
        static const struct {
            int field;
            const char *label;
        } extra[] = {{PG_DIAG_MESSAGE_DETAIL, "detail"},
                     {PG_DIAG_MESSAGE_HINT, "hint"},
                     {PG_DIAG_CONTEXT, "context"}};
        for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
            const char *v = PQresultErrorField(res, extra[i].field);
            if (v) {
                rt_buf_printf(&b, "; %s: ", extra[i].label);
                append_one_line(&b, v);
            }
        }
    } else {
        /* No server error: a client-side failure, usually the connection. */
        if (PQstatus(db->conn) == CONNECTION_BAD)
            rt_buf_append(&b, "the connection to the server was lost: ");
        const char *msg = res ? PQresultErrorMessage(res) : "";
        append_one_line(&b, *msg ? msg : PQerrorMessage(db->conn));
    }
    /* A session the server ended (or a lost link) is not a statement's
     * fault: RETORT_ECONNECT tells the core to reconnect for the next
     * operation instead of failing every call from now on. */
    return report_buf(rep, PQstatus(db->conn) == CONNECTION_BAD ? RETORT_ECONNECT : RETORT_EDB,
                      &b);
}

/* Reports an unexpected status of a statement the driver wrote itself. */
static int check_command(pg_db *db, PGresult *res, const char *what, retort_report *rep)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return RETORT_OK;
    rt_buf prefix = RT_BUF_INIT;
    rt_buf_printf(&prefix, "%s: ", what);
    int rc = rt_buf_failed(&prefix) ? report_oom(rep)
                                    : report_pg(db, res, NULL, NO_LINE, rt_buf_str(&prefix), rep);
    rt_buf_free(&prefix);
    return rc;
}

/* ---------------------------------------------------------- connection */

static void ignore_notice(void *arg, const char *message)
{
    /* "relation ... already exists, skipping" and friends: expected, and
     * libpq would otherwise print them on stderr of the host application. */
    (void)arg;
    (void)message;
}

/*
 * libpq's parse errors quote pieces of the connection string, and a piece
 * may be the password, quotes and all.  Keeps the wording, drops everything
 * from the first '"' to the last: pairing quotes would cut a piece that
 * holds one and show the rest of it.  (The core also hides every password
 * value; this keeps the pieces it could not know of, a host or a key
 * mistyped into the middle of one, out too.)
 */
static void append_redacted_parse_error(rt_buf *b, const char *msg)
{
    const char *open = strchr(msg, '"'), *close = strrchr(msg, '"');
    if (!open || close == open) {
        /* No quoted piece, or an unbalanced one: drop from its quote on. */
        if (open)
            rt_buf_append_n(b, msg, (size_t)(open - msg));
        else
            append_one_line(b, msg);
        return;
    }
    rt_buf_append_n(b, msg, (size_t)(open - msg));
    rt_buf_append(b, "\"...\"");
    append_one_line(b, close + 1);
}

static int scheme_is(const char *url, const char *scheme)
{
    size_t n = strlen(scheme);
    for (size_t i = 0; i < n; i++) {
        char c = url[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != scheme[i])
            return 0;
    }
    return url[n] == ':';
}

/*
 * What libpq gets: a URI as written (libpq parses postgresql:// and
 * postgres:// itself, but only in lower case), or the key=value text after
 * the scheme, "" meaning everything from PG* environment variables.
 */
static char *conninfo_of(const char *url)
{
    size_t scheme_len = scheme_is(url, "postgresql") ? strlen("postgresql")
                        : scheme_is(url, "postgres") ? strlen("postgres")
                                                     : 0;
    if (scheme_len == 0)
        return NULL;
    const char *rest = url + scheme_len + 1;
    if (strncmp(rest, "//", 2) != 0)
        return rt_strdup(rest);
    char *copy = rt_strdup(url);
    if (copy)
        for (size_t i = 0; i < scheme_len; i++)
            if (copy[i] >= 'A' && copy[i] <= 'Z')
                copy[i] = (char)(copy[i] - 'A' + 'a');
    return copy;
}

static const char *or_default(const char *s, const char *fallback)
{
    return s && *s ? s : fallback;
}

static int pg_connect(const char *url, int timeout_ms, void **out, retort_report *rep)
{
    (void)timeout_ms; /* the lock timeout; lock() receives it again */
    *out = NULL;
    const char *why = NULL;
    if (!rt_pq_load(&why)) {
        retort_report_error(rep, RETORT_ECONNECT, why);
        return RETORT_ECONNECT;
    }
    if (!url || (!scheme_is(url, "postgresql") && !scheme_is(url, "postgres"))) {
        retort_report_error(rep, RETORT_EURL, "not a PostgreSQL URL: expected postgresql://..., "
                                              "postgres://... or postgresql:key=value ...");
        return RETORT_EURL;
    }
    char *conninfo = conninfo_of(url);
    if (!conninfo)
        return report_oom(rep);

    /* Parse first: a malformed string must be RETORT_EURL, and its message
     * must be redacted, which PQconnectdb's would not be. */
    char *parse_error = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &parse_error);
    /* What libpq itself reads as a password is hidden from here on,
     * whatever the core's own reading of the URL found. */
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (o->val && *o->val && strstr(o->keyword, "password"))
            retort_report_secret(rep, o->val);
    if (!opts) {
        int code = parse_error ? RETORT_EURL : RETORT_ENOMEM;
        rt_buf b = RT_BUF_INIT;
        rt_buf_append(&b, "malformed PostgreSQL connection string: ");
        if (parse_error)
            append_redacted_parse_error(&b, parse_error);
        else
            rt_buf_append(&b, "out of memory");
        rt_buf_append(&b, " (expected postgresql://user@host:port/dbname?key=value or "
                          "postgresql:key=value ...)");
        PQfreemem(parse_error);
        rt_free(conninfo);
        return report_buf(rep, code, &b);
    }
    PQconninfoFree(opts);

    /* fallback_application_name names us in pg_stat_activity (where an
     * operator looks for the lock holder) unless the URL or PGAPPNAME says
     * otherwise; expand_dbname makes libpq read conninfo as a whole string. */
    const char *const keys[] = {"dbname", "fallback_application_name", NULL};
    const char *const values[] = {conninfo, "retort", NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    rt_free(conninfo);
    if (!conn)
        return report_oom(rep);

    if (PQstatus(conn) != CONNECTION_OK) {
        rt_buf b = RT_BUF_INIT;
        /* From the connection, not the URL: these include what came from
         * the environment and libpq's defaults, and never the password. */
        rt_buf_printf(&b, "host %s port %s database %s user %s: ",
                      or_default(PQhost(conn), "(default)"), or_default(PQport(conn), "(default)"),
                      or_default(PQdb(conn), "(default)"), or_default(PQuser(conn), "(default)"));
        append_one_line(&b, PQerrorMessage(conn));
        PQfinish(conn);
        return report_buf(rep, RETORT_ECONNECT, &b);
    }
    PQsetNoticeProcessor(conn, ignore_notice, NULL);
    /* A migrator killed mid-statement leaves its session running that
     * statement, holding the migration lock and its transaction, until the
     * server next talks to the client; have it check every second
     * (PostgreSQL 14+) so that the next run does not wait for it. */
    if (PQserverVersion(conn) >= 140000)
        PQclear(PQexec(conn, "SET client_connection_check_interval = 1000"));

    pg_db *db = rt_calloc(1, sizeof *db);
    if (!db) {
        PQfinish(conn);
        return report_oom(rep);
    }
    db->conn = conn;
    *out = db;
    return RETORT_OK;
}

static void pg_disconnect(void *vdb)
{
    pg_db *db = vdb;
    if (!db)
        return;
    /* Ending the session also releases a migration lock still held. */
    PQfinish(db->conn);
    rt_free(db->default_schema);
    rt_free(db);
}

static int flush_begin(pg_db *db, retort_report *rep);

/* A callback about to use the handle itself must find its transaction
 * open; a failure to send BEGIN surfaces at its first statement. */
static void *pg_native(void *vdb)
{
    pg_db *db = vdb;
    if (db->begin_pending) {
        struct retort_report *none = NULL;
        flush_begin(db, none);
    }
    return db->conn;
}

/* ----------------------------------------------------------- execution */

static int is_copy(ExecStatusType st)
{
    return st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH;
}

/* Ends a COPY the statement started, and any that later statements of the
 * same query string start, so that the connection stays usable: a
 * migration has no data to feed COPY FROM STDIN nor anywhere to put COPY TO
 * STDOUT. */
static void abandon_copy(PGconn *conn, ExecStatusType st)
{
    while (is_copy(st)) {
        if (st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)
            PQputCopyEnd(conn, "COPY FROM STDIN is not supported in a migration");
        if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            char *data = NULL;
            while (PQgetCopyData(conn, &data, 0) > 0) {
                PQfreemem(data);
                data = NULL;
            }
        }
        st = PGRES_COMMAND_OK;
        PGresult *res;
        while ((res = PQgetResult(conn)) != NULL) {
            ExecStatusType next = PQresultStatus(res);
            PQclear(res);
            /* libpq keeps returning a COPY result until the COPY ends. */
            if (is_copy(next) && PQstatus(conn) == CONNECTION_OK) {
                st = next;
                break;
            }
        }
    }
}

static int report_copy(retort_report *rep, const char *prefix)
{
    rt_buf b = RT_BUF_INIT;
    if (prefix)
        rt_buf_append(&b, prefix);
    rt_buf_append(&b, "COPY ... FROM STDIN / TO STDOUT is not supported in a migration "
                      "(use INSERT, or COPY with a server-side file)");
    return report_buf(rep, RETORT_EDB, &b);
}

/* Runs text as a simple query.  Returns RETORT_OK when every statement in
 * it succeeded.  last, when not NULL, receives a copy of the first value of
 * the last result (NULL if it has none), for the marker check. */
static int run_simple_last(pg_db *db, const char *text, long line_base, const char *prefix,
                           char **last, retort_report *rep)
{
    PGresult *res = PQexec(db->conn, text);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = RETORT_OK;
    if (is_copy(st)) {
        PQclear(res);
        res = NULL;
        abandon_copy(db->conn, st);
        rc = report_copy(rep, prefix);
    } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        rc = report_pg(db, res, text, line_base, prefix, rep);
    } else if (last && st == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) == 1 &&
               !PQgetisnull(res, 0, 0)) {
        if (!(*last = rt_strdup(PQgetvalue(res, 0, 0))))
            rc = report_oom(rep);
    }
    PQclear(res);
    return rc;
}

static int run_simple(pg_db *db, const char *text, long line_base, const char *prefix,
                      retort_report *rep)
{
    return run_simple_last(db, text, line_base, prefix, NULL, rep);
}

/* Appends the BEGIN of a transaction the core opened, with its marker. */
static void append_begin(pg_db *db, rt_buf *text)
{
    db->tx_serial++;
    db->marked = 1;
    rt_buf_printf(text, "BEGIN;SET LOCAL retort.tx = '%lu';", db->tx_serial);
}

/* Rides behind a body, after a newline that ends a trailing comment and a
 * ";" that ends a last statement written without one. */
#define MARKER_CHECK "\n;SELECT current_setting('retort.tx', true)"

static long count_lines(const char *s, size_t from, size_t to)
{
    long n = 0;
    for (size_t i = from; i < to; i++)
        n += s[i] == '\n';
    return n;
}

static int count_statements(const char *sql)
{
    size_t pos = 0, start, end;
    int n = 0;
    while (rt_sql_next_statement(sql, &pos, &start, &end))
        n++;
    return n;
}

/* After statements run inside retort's transaction: they must not have
 * ended it, or what follows (the version row included) would commit on its
 * own.  Ended, and maybe begun again: whatever ran before the COMMIT may be
 * committed (a ROLLBACK cannot be told from it afterwards), so the core
 * must mark the revision dirty: RETORT_EDIRTY. */
static int finish_in_transaction(pg_db *db, const char *sql, int rc, const char *marker,
                                 int *done, retort_report *rep)
{
    if (rc != RETORT_OK)
        return rc;
    char expected[32];
    snprintf(expected, sizeof expected, "%lu", db->tx_serial);
    if (PQtransactionStatus(db->conn) == PQTRANS_IDLE ||
        (db->marked && (!marker || strcmp(marker, expected) != 0))) {
        db->marked = 0;
        retort_report_error(rep, RETORT_EDIRTY, RT_ENDED_TRANSACTION);
        return RETORT_EDIRTY;
    }
    *done = count_statements(sql);
    return RETORT_OK;
}

static int pg_exec(void *vdb, const char *sql, int *done, retort_report *rep)
{
    pg_db *db = vdb;
    *done = 0;

    /* Inside a transaction block the statements stand or fall together
     * anyway, so one round trip carries them all, a BEGIN not sent yet
     * with them, and the marker check behind them: "BEGIN;" adds no line,
     * so reported lines stay right. */
    if (db->begin_pending || PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        rt_buf text = RT_BUF_INIT;
        if (db->begin_pending)
            append_begin(db, &text);
        db->begin_pending = 0;
        int check = db->marked;
        rt_buf_append(&text, sql);
        if (check)
            rt_buf_append(&text, MARKER_CHECK);
        if (rt_buf_failed(&text)) {
            rt_buf_free(&text);
            return report_oom(rep);
        }
        char *marker = NULL;
        int rc = run_simple_last(db, rt_buf_str(&text), line_base_of(sql), NULL,
                                 check ? &marker : NULL, rep);
        rt_buf_free(&text);
        rc = finish_in_transaction(db, sql, rc, marker, done, rep);
        rt_free(marker);
        return rc;
    }

    /* Outside one, PostgreSQL would wrap a multi-statement string in an
     * implicit transaction, which CREATE INDEX CONCURRENTLY, VACUUM and
     * ALTER TYPE ... ADD VALUE refuse; each statement goes alone and
     * commits by itself, and *done tells the audit log how far it got. */
    size_t pos = 0, start, end;
    size_t counted_to = 0; /* lines before the statement, counted once */
    long line_base = 0;
    int multiline = strchr(sql, '\n') != NULL;
    while (rt_sql_next_statement(sql, &pos, &start, &end)) {
        line_base += count_lines(sql, counted_to, start);
        counted_to = start;
        char *stmt = rt_strndup(sql + start, end - start);
        if (!stmt)
            return report_oom(rep);
        char prefix[96];
        if (*done > 0)
            snprintf(prefix, sizeof prefix, "statement %d (after %d completed and committed): ",
                     *done + 1, *done);
        int rc = run_simple(db, stmt, multiline ? line_base : NO_LINE, *done > 0 ? prefix : NULL,
                            rep);
        rt_free(stmt);
        if (rc != RETORT_OK)
            return rc;
        ++*done;
    }
    return RETORT_OK;
}

/*
 * Runs one statement with text parameters.  With row, hands it each result
 * row and returns its nonzero verdict when it stops early.
 */
static int run_params(pg_db *db, const char *sql, int nparams, const char *const *params,
                      retort_row_fn row, void *ctx, retort_report *rep)
{
    int rc = flush_begin(db, rep);
    if (rc != RETORT_OK)
        return rc;
    PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (is_copy(st)) {
        PQclear(res);
        abandon_copy(db->conn, st);
        return report_copy(rep, NULL);
    }
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rc = report_pg(db, res, sql, line_base_of(sql), NULL, rep);
        PQclear(res);
        return rc;
    }
    int nrows = PQntuples(res);
    int ncols = PQnfields(res);
    if (row && nrows > 0) {
        const char *small[16];
        const char **values = small;
        if (ncols > (int)(sizeof small / sizeof small[0])) {
            values = rt_reallocarray(NULL, (size_t)ncols, sizeof *values);
            if (!values) {
                PQclear(res);
                return report_oom(rep);
            }
        }
        for (int r = 0; r < nrows && rc == RETORT_OK; r++) {
            for (int c = 0; c < ncols; c++)
                values[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
            rc = row(ctx, ncols, values);
        }
        if (values != small)
            rt_free(values);
    }
    PQclear(res);
    return rc;
}

static int pg_exec_params(void *vdb, const char *sql, int nparams, const char *const *params,
                          retort_report *rep)
{
    return run_params(vdb, sql, nparams, params, NULL, NULL, rep);
}

static int pg_query(void *vdb, const char *sql, int nparams, const char *const *params,
                    retort_row_fn row, void *ctx, retort_report *rep)
{
    return run_params(vdb, sql, nparams, params, row, ctx, rep);
}

/* -------------------------------------------------------- transactions */

static int pg_begin(void *vdb, retort_report *rep)
{
    pg_db *db = vdb;
    /* PostgreSQL only warns about a nested BEGIN, and we silence warnings;
     * the core must not believe it opened a transaction it did not. */
    if (db->begin_pending || PQtransactionStatus(db->conn) != PQTRANS_IDLE) {
        if (PQstatus(db->conn) == CONNECTION_BAD)
            return report_pg(db, NULL, NULL, NO_LINE, "BEGIN: ", rep);
        retort_report_error(rep, RETORT_EDB,
                            "BEGIN: a transaction block is already open on this connection");
        return RETORT_EDB;
    }
    if (PQstatus(db->conn) == CONNECTION_BAD)
        return report_pg(db, NULL, NULL, NO_LINE, "BEGIN: ", rep);
    db->begin_pending = 1;
    return RETORT_OK;
}

/* Sends a BEGIN that begin left for later, before a statement that cannot
 * carry it.  rep may be NULL (pg_native). */
static int flush_begin(pg_db *db, retort_report *rep)
{
    if (!db->begin_pending)
        return RETORT_OK;
    db->begin_pending = 0;
    rt_buf text = RT_BUF_INIT;
    append_begin(db, &text);
    PGresult *res = PQexec(db->conn, rt_buf_failed(&text) ? "BEGIN" : rt_buf_str(&text));
    if (rt_buf_failed(&text))
        db->marked = 0;
    rt_buf_free(&text);
    int rc = RETORT_OK;
    if (rep)
        rc = check_command(db, res, "BEGIN", rep);
    PQclear(res);
    return rc;
}

/* The transaction the core committed is not open: a migration ended it
 * itself (COMMIT or ROLLBACK in its SQL), so what the core meant to be
 * atomic was not. */
static int report_no_transaction(retort_report *rep)
{
    retort_report_error(rep, RETORT_EDB,
                        "COMMIT: no transaction is open; the migration must not end the "
                        "transaction itself (COMMIT/ROLLBACK in its SQL), or be marked "
                        "non-transactional");
    return RETORT_EDB;
}

static int pg_commit(void *vdb, retort_report *rep)
{
    pg_db *db = vdb;
    db->marked = 0;
    if (db->begin_pending) { /* nothing was sent: nothing to commit */
        db->begin_pending = 0;
        return RETORT_OK;
    }
    if (PQtransactionStatus(db->conn) == PQTRANS_IDLE)
        return report_no_transaction(rep);
    PGresult *res = PQexec(db->conn, "COMMIT");
    int rc = check_command(db, res, "COMMIT", rep);
    /* COMMIT of a failed transaction succeeds as a command but rolls back. */
    if (rc == RETORT_OK && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
        retort_report_error(rep, RETORT_EDB, "COMMIT: the transaction was rolled back because "
                                             "a statement in it had failed");
        rc = RETORT_EDB;
    }
    PQclear(res);
    return rc;
}

static int pg_rollback(void *vdb, retort_report *rep)
{
    pg_db *db = vdb;
    db->begin_pending = 0;
    db->marked = 0;
    /* Nothing to undo is not a failure: rollback runs on error paths that
     * may follow a lost or already-ended transaction. */
    if (PQtransactionStatus(db->conn) == PQTRANS_IDLE)
        return RETORT_OK;
    PGresult *res = PQexec(db->conn, "ROLLBACK");
    int rc = check_command(db, res, "ROLLBACK", rep);
    PQclear(res);
    return rc;
}

#ifdef LIBPQ_HAS_PIPELINING
/* exec_batch's contract, one round trip per statement. */
static int batch_one_by_one(pg_db *db, int n, const char *const *sql, const int *nparams,
                            const char *const *const *params, int commit, int *failed,
                            retort_report *rep)
{
    for (int i = 0; i < n; i++) {
        int rc = pg_exec_params(db, sql[i], nparams[i], params[i], rep);
        if (rc != RETORT_OK) {
            *failed = i;
            return rc;
        }
    }
    int rc = commit ? pg_commit(db, rep) : RETORT_OK;
    *failed = rc == RETORT_OK ? -1 : n;
    return rc;
}

/*
 * The end of a step in one round trip: [BEGIN,] the statements, [COMMIT,]
 * then a Sync, in libpq's pipeline mode.  After a failure the server skips
 * the rest up to the Sync and the transaction is left aborted, for the
 * core's rollback.  Every result is read, so that the connection leaves
 * pipeline mode in step with the server.
 */
static int pg_exec_batch(void *vdb, int n, const char *const *sql, const int *nparams,
                         const char *const *const *params, int commit, int *failed,
                         retort_report *rep)
{
    pg_db *db = vdb;
    *failed = -1;
    if (commit && !db->begin_pending && PQtransactionStatus(db->conn) == PQTRANS_IDLE) {
        *failed = n;
        return report_no_transaction(rep);
    }
    if (!PQenterPipelineMode) /* the libpq loaded predates pipelines */
        return batch_one_by_one(db, n, sql, nparams, params, commit, failed, rep);
    int with_begin = db->begin_pending;
    db->begin_pending = 0;
    if (with_begin || commit)
        db->marked = 0; /* no marker in a BEGIN sent here; none after a COMMIT */
    if (!PQenterPipelineMode(db->conn)) {
        *failed = 0;
        return report_pg(db, NULL, NULL, NO_LINE, NULL, rep);
    }
    /* Queries by index: -1 is the BEGIN, 0..n-1 the statements, n the
     * COMMIT. */
    const int first = with_begin ? -1 : 0, last = commit ? n : n - 1;
    int sent = 0;
    for (int i = first; i <= last; i++, sent++) {
        int own = i < 0 || i == n;
        if (!PQsendQueryParams(db->conn, i < 0 ? "BEGIN" : i == n ? "COMMIT" : sql[i],
                               own ? 0 : nparams[i], NULL, own ? NULL : params[i], NULL, NULL,
                               0))
            break;
    }
    int rc = RETORT_OK;
    if (sent < last - first + 1) {
        rc = report_pg(db, NULL, NULL, NO_LINE, NULL, rep);
        *failed = first + sent < 0 ? 0 : first + sent;
    }
    int synced = PQpipelineSync(db->conn);

    /* One result, then a NULL, per query sent; then the Sync's. */
    for (int k = 0; synced && k < sent && PQstatus(db->conn) != CONNECTION_BAD; k++) {
        int i = first + k;
        PGresult *res = PQgetResult(db->conn);
        if (!res)
            break;
        ExecStatusType st = PQresultStatus(res);
        if (rc == RETORT_OK && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            const char *text = i < 0 || i == n ? NULL : sql[i];
            rc = report_pg(db, res, text, text ? line_base_of(text) : NO_LINE,
                           i < 0 ? "BEGIN: " : i == n ? "COMMIT: " : NULL, rep);
            *failed = i < 0 ? 0 : i;
        } else if (rc == RETORT_OK && i == n && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
            retort_report_error(rep, RETORT_EDB, "COMMIT: the transaction was rolled back "
                                                 "because a statement in it had failed");
            rc = RETORT_EDB;
            *failed = n;
        }
        PQclear(res);
        PQclear(PQgetResult(db->conn));
    }
    for (PGresult *res; synced && PQstatus(db->conn) != CONNECTION_BAD &&
                        (res = PQgetResult(db->conn));) {
        int sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
        PQclear(res);
        if (sync)
            break;
    }
    if (!PQexitPipelineMode(db->conn) && PQstatus(db->conn) != CONNECTION_BAD) {
        /* Results still owed: the session is out of step with us.  Lost
         * to us, it is reported as such, and the core reconnects. */
        if (rc == RETORT_OK)
            *failed = n;
        rt_buf b = RT_BUF_INIT;
        rt_buf_append(&b, "the connection could not leave pipeline mode: ");
        append_one_line(&b, PQerrorMessage(db->conn));
        return report_buf(rep, RETORT_ECONNECT, &b);
    }
    if (rc == RETORT_OK && (!synced || PQstatus(db->conn) == CONNECTION_BAD)) {
        rc = report_pg(db, NULL, NULL, NO_LINE, NULL, rep);
        *failed = n;
    }
    return rc;
}
#endif

/* -------------------------------------------------------------- schema */

static int store_first_value(void *ctx, int ncols, const char *const *values)
{
    char **out = ctx;
    if (*out || ncols < 1 || !values[0])
        return 0;
    *out = rt_strdup(values[0]);
    return *out ? 0 : RETORT_ENOMEM;
}

/* The connection's current schema, read once: the search_path of a
 * migration connection is not expected to change under it. */
static int resolve_default_schema(pg_db *db, const char **schema, retort_report *rep)
{
    if (!db->default_schema) {
        char *value = NULL;
        int rc = run_params(db, "SELECT current_schema()", 0, NULL, store_first_value, &value,
                            rep);
        if (rc == RETORT_ENOMEM)
            return report_oom(rep);
        if (rc != RETORT_OK)
            return rc;
        if (!value) {
            retort_report_error(rep, RETORT_EDB,
                                "the connection has no current schema: no schema in its "
                                "search_path exists; set the schema explicitly or fix "
                                "search_path");
            return RETORT_EDB;
        }
        db->default_schema = value;
    }
    *schema = db->default_schema;
    return RETORT_OK;
}

static int pg_default_schema(void *vdb, char *out, size_t size, retort_report *rep)
{
    const char *schema;
    int rc = resolve_default_schema(vdb, &schema, rep);
    if (rc != RETORT_OK)
        return rc;
    if (strlen(schema) >= size) {
        rt_buf b = RT_BUF_INIT;
        rt_buf_printf(&b, "the connection's current schema \"%s\" is too long (at most %zu "
                          "bytes)",
                      schema, size ? size - 1 : 0);
        return report_buf(rep, RETORT_EINVAL, &b);
    }
    memcpy(out, schema, strlen(schema) + 1);
    return RETORT_OK;
}

static int set_flag(void *ctx, int ncols, const char *const *values)
{
    (void)ncols;
    (void)values;
    *(int *)ctx = 1;
    return 0;
}

static int pg_table_exists(void *vdb, const char *schema, const char *table, int *exists,
                           retort_report *rep)
{
    const char *params[] = {schema && *schema ? schema : NULL, table};
    *exists = 0;
    return run_params(vdb,
                      "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = "
                      "COALESCE($1, current_schema()) AND tablename = $2",
                      2, params, set_flag, exists, rep);
}

static size_t pg_quote_ident(const char *ident, char *out, size_t size)
{
    size_t need = 2;
    for (const char *p = ident; *p; p++)
        need += *p == '"' ? 2 : 1;
    if (size == 0)
        return need;
    size_t w = 0;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (w + 1 < size)                                                                          \
            out[w++] = (c);                                                                        \
    } while (0)
    PUT('"');
    for (const char *p = ident; *p; p++) {
        if (*p == '"')
            PUT('"');
        PUT(*p);
    }
    PUT('"');
#undef PUT
    out[w] = '\0';
    return need;
}

/*
 * A string literal that reads back as value whatever the session's
 * standard_conforming_strings says: 'value' with ' doubled when value has
 * no backslash (the only character the setting changes the meaning of),
 * else a dollar-quoted $tag$value$tag$ whose tag occurs nowhere in value.
 * Not E'...': its backslash escapes would be misread by the server in a
 * client encoding whose multibyte characters may end in a 0x5c byte (SJIS,
 * BIG5, GBK), and the dollar form has no escapes at all.
 */
static size_t pg_quote_literal(const char *value, char *out, size_t size)
{
    rt_buf b = RT_BUF_INIT;
    if (!strchr(value, '\\')) {
        rt_buf_append_char(&b, '\'');
        for (const char *p = value; *p; p++) {
            if (*p == '\'')
                rt_buf_append_char(&b, '\'');
            rt_buf_append_char(&b, *p);
        }
        rt_buf_append_char(&b, '\'');
    } else {
        char tag[32];
        rt_dollar_tag(value, tag, sizeof tag);
        rt_buf_printf(&b, "$%s$%s$%s$", tag, value, tag);
    }
    /* Out of memory: an empty result that fits nothing, which the caller's
     * second call (with the size asked for) sees again; SIZE_MAX / 2 makes
     * it fail to allocate rather than use a truncated literal. */
    size_t need = rt_buf_failed(&b) ? (size_t)-1 / 2 : b.len;
    if (size)
        snprintf(out, size, "%s", rt_buf_failed(&b) ? "" : rt_buf_str(&b));
    rt_buf_free(&b);
    return need;
}

/* ---------------------------------------------------------------- lock */

/*
 * The advisory lock key of a version table, which every migrator of that
 * table must compute alike (doc/DESIGN.md documents it for other tools):
 * the 64-bit FNV-1a hash (offset basis 0xcbf29ce484222325, prime
 * 0x100000001b3) of the bytes "retort:" SCHEMA "." TABLE, unquoted, with
 * the default schema spelled out by name so that "" and "public" agree;
 * the 64 bits are then read as a two's complement bigint.  A hash rather
 * than a fixed key: migrators of different version tables (one schema per
 * test, one per tenant) must not wait for each other.
 */
static int64_t lock_key(const char *schema, const char *table)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    const char *parts[] = {"retort:", schema, ".", table};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++) {
            h ^= *p;
            h *= UINT64_C(0x100000001b3);
        }
    /* Spelled out: converting an out-of-range value to a signed type is
     * implementation-defined. */
    return h <= (uint64_t)INT64_MAX ? (int64_t)h : -(int64_t)(~h) - 1;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ; /* interrupted by a signal: sleep what remains */
}

static int store_bool(void *ctx, int ncols, const char *const *values)
{
    *(int *)ctx = ncols > 0 && values[0] && values[0][0] == 't';
    return 0;
}

static int lock_statement(pg_db *db, const char *sql, int64_t key, int *result,
                          retort_report *rep)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, key);
    const char *params[] = {text};
    *result = 0;
    return run_params(db, sql, 1, params, store_bool, result, rep);
}

/* Who holds the lock, for the message: " (pid N, application 'A', client
 * ADDR)" from pg_locks joined to pg_stat_activity; "" when it cannot be told
 * (it may have just let go).  The application name is the holder's own
 * text: quoted, control characters replaced (no forged log lines), and cut
 * to a sane length. */
static void lock_holder(pg_db *db, int64_t key, char *out, size_t size)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, key);
    const char *params[] = {text};
    char *who = NULL;
    out[0] = '\0';
    /* A bigint key is stored as classid = high 32 bits, objid = low 32
     * bits, objsubid = 1. */
    if (run_params(db,
                   "SELECT 'pid ' || l.pid::text"
                   " || coalesce(', application ''' || left(regexp_replace("
                   "nullif(a.application_name, ''), '[[:cntrl:]]', '?', 'g'), 64)"
                   " || '''', '')"
                   " || coalesce(', client ' || host(a.client_addr), ', client local socket')"
                   " FROM pg_catalog.pg_locks l"
                   " LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
                   " WHERE l.locktype = 'advisory' "
                   "AND l.granted AND l.objsubid = 1 "
                   "AND l.classid = (($1::bigint >> 32) & 4294967295)::oid "
                   "AND l.objid = ($1::bigint & 4294967295)::oid "
                   "AND l.database = (SELECT oid FROM pg_catalog.pg_database "
                   "WHERE datname = current_database()) LIMIT 1",
                   1, params, store_first_value, &who, NULL) == RETORT_OK &&
        who)
        snprintf(out, size, " (%s)", who);
    rt_free(who);
}

static int pg_lock(void *vdb, const char *schema, const char *table, int timeout_ms,
                   int *exclusive, retort_report *rep)
{
    pg_db *db = vdb;
    *exclusive = 0;
    if (!schema || !*schema) {
        int rc = resolve_default_schema(db, &schema, rep);
        if (rc != RETORT_OK)
            return rc;
    }
    int64_t key = lock_key(schema, table);
    int64_t deadline = monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int64_t interval = LOCK_POLL_FIRST_MS;
    for (;;) {
        /* Polling, never pg_advisory_lock: a blocking wait could only be cut
         * short by statement_timeout, which would also cap the migrations. */
        int got = 0;
        int rc = lock_statement(db, "SELECT pg_catalog.pg_try_advisory_lock($1::bigint)", key,
                                &got, rep);
        if (rc != RETORT_OK)
            return rc;
        if (got) {
            *exclusive = 1;
            return RETORT_OK;
        }
        int64_t left = deadline - monotonic_ms();
        if (left <= 0)
            break;
        sleep_ms(interval < left ? interval : left);
        if (interval < LOCK_POLL_MAX_MS)
            interval += 10;
    }
    char holder[192];
    lock_holder(db, key, holder, sizeof holder);
    rt_buf b = RT_BUF_INIT;
    /* No duration here: the core may wait in slices, and says how long it
     * waited in all. */
    rt_buf_printf(&b, "the migration lock on %s.%s (advisory lock key %" PRId64 ") is held by "
                      "another session%s",
                  schema, table, key, holder);
    return report_buf(rep, RETORT_ELOCK, &b);
}

static int pg_unlock(void *vdb, const char *schema, const char *table, retort_report *rep)
{
    pg_db *db = vdb;
    if (!schema || !*schema) {
        int rc = resolve_default_schema(db, &schema, rep);
        if (rc != RETORT_OK)
            return rc;
    }
    int64_t key = lock_key(schema, table);
    int released = 0;
    int rc = lock_statement(db, "SELECT pg_catalog.pg_advisory_unlock($1::bigint)", key,
                            &released, rep);
    if (rc != RETORT_OK)
        return rc;
    if (!released) {
        rt_buf b = RT_BUF_INIT;
        rt_buf_printf(&b, "the migration lock on %s.%s (advisory lock key %" PRId64 ") was "
                          "not held by this session",
                      schema, table, key);
        return report_buf(rep, RETORT_ELOCK, &b);
    }
    return RETORT_OK;
}

/* ----------------------------------------------------------- templates */

static const char *pg_sql(int op)
{
    switch (op) {
    case RETORT_SQL_CREATE_SCHEMA:
        /* Not a bare CREATE SCHEMA IF NOT EXISTS: PostgreSQL checks the
         * database's CREATE privilege before it looks whether the schema
         * exists, which would fail every run of a least-privileged role
         * migrating an existing schema. */
        /* The schema's name may come from current_schema(), that is from
         * whoever sets the search_path: it appears only as an identifier
         * ({schema}) and as a literal ({schema_name}), inside a body
         * whose tag occurs nowhere in it ({tag}). */
        return "DO ${tag}$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace "
               "WHERE nspname = {schema_name}) THEN "
               "BEGIN CREATE SCHEMA IF NOT EXISTS {schema}; "
               "EXCEPTION WHEN unique_violation OR duplicate_schema THEN NULL; END; "
               "END IF; END ${tag}$";
    case RETORT_SQL_CREATE_VERSION_TABLE:
        return "CREATE TABLE IF NOT EXISTS {table} ("
               "seq BIGSERIAL NOT NULL, "
               "id VARCHAR(128) PRIMARY KEY, "
               "parents TEXT NOT NULL DEFAULT '', "
               "message TEXT NOT NULL DEFAULT '', "
               "checksum CHAR(64), "
               "state VARCHAR(16) NOT NULL DEFAULT 'applied', "
               "applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), "
               "duration_ms BIGINT NOT NULL DEFAULT 0)";
    case RETORT_SQL_CREATE_LOG_TABLE:
        return "CREATE TABLE IF NOT EXISTS {log} ("
               "seq BIGSERIAL PRIMARY KEY, "
               "revision VARCHAR(128) NOT NULL, "
               "direction VARCHAR(16) NOT NULL, "
               "started_at TIMESTAMPTZ NOT NULL, "
               "finished_at TIMESTAMPTZ NOT NULL, "
               "outcome VARCHAR(16) NOT NULL, "
               "error TEXT, "
               "statements_done INTEGER)";
    case RETORT_SQL_UPDATE_CHECKSUM:
        return "UPDATE {table} SET checksum = $2 WHERE id = $1";
    case RETORT_SQL_SELECT_LOG:
        return "SELECT seq::text, revision, direction, "
               "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
               "to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
               "outcome, error, statements_done::text FROM {log} ORDER BY seq";
    case RETORT_SQL_SELECT_VERSIONS:
        return "SELECT id, parents, message, checksum, state, "
               "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
               "duration_ms::text FROM {table} ORDER BY seq";
    case RETORT_SQL_INSERT_VERSION:
        return "INSERT INTO {table} (id, parents, message, checksum, state, duration_ms) "
               "VALUES ($1, $2, $3, $4, $5, $6::bigint)";
    case RETORT_SQL_UPDATE_VERSION:
        return "UPDATE {table} SET state = $2, duration_ms = $3::bigint WHERE id = $1";
    case RETORT_SQL_DELETE_VERSION:
        return "DELETE FROM {table} WHERE id = $1";
    case RETORT_SQL_DELETE_ALL_VERSIONS:
        return "DELETE FROM {table}";
    case RETORT_SQL_INSERT_LOG:
        return "INSERT INTO {log} (revision, direction, started_at, finished_at, outcome, "
               "error, statements_done) "
               "VALUES ($1, $2, $3::timestamptz, $4::timestamptz, $5, $6, $7::integer)";
    case RETORT_SQL_BEGIN:
        return "BEGIN";
    case RETORT_SQL_COMMIT:
        return "COMMIT";
    case RETORT_SQL_SELECT_VERSION:
        return "SELECT state FROM {table} WHERE id = $1";
    default:
        return NULL;
    }
}


/* ------------------------------------------------ fresh test databases */

/*
 * A fresh target is a database of its own on the server the URL names,
 * created by a maintenance connection to the URL's own database.  That
 * connection only reads the shared catalogue (pg_database) and takes an
 * advisory lock; CREATE and DROP DATABASE change the cluster, never the
 * database the URL points to.  Names: retort_test_PID_RANDOM for fresh
 * databases, retort_tpl_KEY for templates, retort_tpb_KEY while one is
 * being built.
 */
typedef struct pg_fresh {
    char *url;      /* the maintenance URL: the one retort_new_fresh was given */
    char name[64];  /* the database created */
} pg_fresh;

/* libpq's options with every search_path setting left out ("-csearch_path=X",
 * "-c search_path=X", "--search_path=X"), into out; returns its text. */
static const char *options_without_search_path(const char *options, rt_buf *out)
{
    rt_buf_reset(out);
    const char *p = options;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t') {
            if (*p == '\\' && p[1])
                p++;
            p++;
        }
        size_t n = (size_t)(p - start);
        const char *next = p;
        int skip = (n > 14 && strncmp(start, "-csearch_path=", 14) == 0) ||
                   (n > 15 && strncmp(start, "--search_path=", 14) == 0);
        if (!skip && n == 2 && strncmp(start, "-c", 2) == 0) {
            const char *q = next;
            while (*q == ' ' || *q == '\t')
                q++;
            if (strncmp(q, "search_path=", 12) == 0) {
                skip = 1;
                while (*q && *q != ' ' && *q != '\t') {
                    if (*q == '\\' && q[1])
                        q++;
                    q++;
                }
                p = q;
            }
        }
        if (!skip)
            rt_buf_printf(out, "%s%.*s", out->len ? " " : "", (int)n, start);
    }
    return rt_buf_failed(out) ? "" : rt_buf_str(out);
}

/* A URL for database dbname with url's other settings (credentials as
 * given): postgresql: and libpq's key=value pairs, each value quoted. */
static char *url_with_dbname(const char *url, const char *dbname)
{
    char *conninfo = conninfo_of(url);
    if (!conninfo)
        return NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    rt_free(conninfo);
    if (!opts)
        return NULL;
    rt_buf b = RT_BUF_INIT;
    rt_buf_append(&b, "postgresql:");
    const char *sep = "";
    rt_buf opt = RT_BUF_INIT;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || strcmp(o->keyword, "dbname") == 0)
            continue;
        const char *val = o->val;
        if (strcmp(o->keyword, "options") == 0) {
            /* A search_path names schemas of the URL's database, which the
             * new one does not have: it keeps its own (public). */
            val = options_without_search_path(val, &opt);
            if (!*val)
                continue;
        }
        rt_buf_printf(&b, "%s%s='", sep, o->keyword);
        for (const char *p = val; *p; p++) {
            if (*p == '\'' || *p == '\\')
                rt_buf_append_char(&b, '\\');
            rt_buf_append_char(&b, *p);
        }
        rt_buf_append_char(&b, '\'');
        sep = " ";
    }
    PQconninfoFree(opts);
    rt_buf_free(&opt);
    rt_buf_printf(&b, "%sdbname='%s'", sep, dbname); /* our own name: [a-z0-9_] */
    if (rt_buf_failed(&b)) {
        rt_buf_free(&b);
        return NULL;
    }
    return rt_buf_take(&b);
}

/* Random bits for a database name no other test picks. */
static uint64_t pg_unique_bits(const void *salt)
{
    uint64_t x = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        if (fread(&x, sizeof x, 1, f) != 1)
            x = 0;
        fclose(f);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    x ^= (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
         ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)salt;
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* Runs one maintenance statement with text parameters; on failure reports
 * it, turning "permission denied to create database" into what to do. */
static int admin_exec(PGconn *conn, const char *what, const char *sql, int nparams,
                      const char *const *params, PGresult **out, retort_report *rep)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (out)
            *out = res;
        else
            PQclear(res);
        return RETORT_OK;
    }
    const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    rt_buf b = RT_BUF_INIT;
    int code = PQstatus(conn) == CONNECTION_BAD ? RETORT_ECONNECT : RETORT_EDB;
    if (sqlstate && strcmp(sqlstate, "42501") == 0 && strncmp(sql, "CREATE DATABASE", 15) == 0) {
        const char *user = or_default(PQuser(conn), "(default)");
        rt_buf_printf(&b,
                      "%s: role \"%s\" may not create databases (it lacks CREATEDB), and on "
                      "PostgreSQL each fresh test target is a database of its own, so that "
                      "nothing a migration names can reach the database the URL points to; "
                      "grant it (ALTER ROLE \"%s\" CREATEDB), or give the tests the URL of a "
                      "scratch server where it may (retort_new_fresh's url; for `retort test`, "
                      "--test-url, RETORT_TEST_DATABASE_URL or test_url in retort.ini), or "
                      "set fresh_mode=schema with the URL of a scratch database (a schema per "
                      "test: migrations that name other schemas write to that database)",
                      what, user, user);
    } else {
        /* 3D000: the template database does not exist (yet). */
        if (sqlstate && strcmp(sqlstate, "3D000") == 0 && strncmp(sql, "CREATE DATABASE", 15) == 0)
            code = RETORT_ENOTFOUND;
        rt_buf_printf(&b, "%s: ", what);
        const char *msg = res ? PQresultErrorMessage(res) : "";
        append_one_line(&b, *msg ? msg : PQerrorMessage(conn));
    }
    PQclear(res);
    return report_buf(rep, code, &b);
}

static int admin_connect(const char *url, pg_db **out, retort_report *rep)
{
    void *db = NULL;
    int rc = pg_connect(url, 0, &db, rep);
    if (rc != RETORT_OK) {
        pg_disconnect(db);
        return rc;
    }
    *out = db;
    return RETORT_OK;
}

/* CREATE DATABASE name TEMPLATE tmpl, both our own names, quoted anyway. */
static int create_database(PGconn *conn, const char *name, const char *tmpl, retort_report *rep)
{
    char qn[140], qt[140], sql[400];
    pg_quote_ident(name, qn, sizeof qn);
    pg_quote_ident(tmpl, qt, sizeof qt);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE %s", qn, qt);
    return admin_exec(conn, "cannot create the fresh test database", sql, 0, NULL, NULL, rep);
}

static int drop_database(PGconn *conn, const char *name, int force, retort_report *rep)
{
    char qn[140], sql[400];
    pg_quote_ident(name, qn, sizeof qn);
    /* WITH (FORCE), PostgreSQL 13+: a connection the test left open (the
     * application's own, through retort_fresh_url) must not keep it. */
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s%s", qn,
             force && PQserverVersion(conn) >= 130000 ? " WITH (FORCE)" : "");
    return admin_exec(conn, "cannot drop the test database", sql, 0, NULL, NULL, rep);
}

static int pg_fresh_create(const char *url, const char *tmpl, int timeout_ms, void **out,
                           retort_line_fn url_out, void *ctx, retort_report *rep)
{
    (void)timeout_ms;
    *out = NULL;
    pg_fresh *f = rt_calloc(1, sizeof *f);
    if (!f || !(f->url = rt_strdup(url))) {
        rt_free(f);
        return report_oom(rep);
    }
    snprintf(f->name, sizeof f->name, "retort_test_%ld_%016llx", (long)getpid(),
             (unsigned long long)pg_unique_bits(f));
    char tname[64];
    snprintf(tname, sizeof tname, "retort_tpl_%.40s", tmpl ? tmpl : "");
    pg_db *admin = NULL;
    char *fresh_url = NULL;
    int rc = admin_connect(url, &admin, rep);
    if (rc == RETORT_OK)
        rc = create_database(admin->conn, f->name, tmpl ? tname : "template0", rep);
    if (rc == RETORT_OK && !(fresh_url = url_with_dbname(url, f->name))) {
        /* created but unusable: nothing else would drop it */
        drop_database(admin->conn, f->name, 0, rep);
        rc = report_oom(rep);
    }
    pg_disconnect(admin);
    if (rc != RETORT_OK) {
        rt_free(f->url);
        rt_free(f);
        return rc;
    }
    url_out(ctx, fresh_url);
    rt_free(fresh_url);
    *out = f;
    return RETORT_OK;
}

static int pg_fresh_drop(void *vf, retort_report *rep)
{
    pg_fresh *f = vf;
    if (!f)
        return RETORT_OK;
    pg_db *admin = NULL;
    int rc = admin_connect(f->url, &admin, rep);
    if (rc == RETORT_OK)
        rc = drop_database(admin->conn, f->name, 1, rep);
    pg_disconnect(admin);
    rt_free(f->url);
    rt_free(f);
    return rc;
}

/* Whether database name exists; -1 on failure (reported). */
static int database_exists(PGconn *conn, const char *name, retort_report *rep)
{
    const char *params[] = {name};
    PGresult *res = NULL;
    if (admin_exec(conn, "cannot look up the test template",
                   "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", 1, params, &res,
                   rep) != RETORT_OK)
        return -1;
    int n = PQntuples(res);
    PQclear(res);
    return n > 0;
}

/* Drops, one by one, the databases whose names match the LIKE pattern
 * (other than keep), reporting each through dropped; a template in use
 * (being cloned) is left for next time. */
static int drop_matching(PGconn *conn, const char *pattern, const char *keep,
                         retort_line_fn dropped, void *ctx, retort_report *rep)
{
    const char *params[] = {pattern, keep ? keep : ""};
    PGresult *res = NULL;
    int rc = admin_exec(conn, "cannot list the test templates",
                        "SELECT datname FROM pg_catalog.pg_database WHERE datname LIKE $1 AND "
                        "datname <> $2 ORDER BY datname",
                        2, params, &res, rep);
    if (rc != RETORT_OK)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *name = PQgetvalue(res, i, 0);
        if (drop_database(conn, name, 0, rep) == RETORT_OK && dropped)
            dropped(ctx, name);
    }
    PQclear(res);
    return RETORT_OK;
}

static int pg_template_ensure(const char *url, const char *key, int timeout_ms,
                              int (*build)(void *ctx, const char *build_url), void *ctx,
                              int *built, retort_report *rep)
{
    *built = 0;
    char tname[64], bname[64];
    snprintf(tname, sizeof tname, "retort_tpl_%.40s", key);
    snprintf(bname, sizeof bname, "retort_tpb_%.40s", key);
    pg_db *admin = NULL;
    int rc = admin_connect(url, &admin, rep);
    if (rc != RETORT_OK)
        return rc;
    PGconn *conn = admin->conn;
    int exists = database_exists(conn, tname, rep);
    if (exists != 0) {
        pg_disconnect(admin);
        return exists < 0 ? RETORT_EDB : RETORT_OK;
    }
    /* One builder per template across processes: a session advisory lock
     * (class 7203, "retort templates") on the maintenance database, which
     * every process building from this URL connects to. */
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%d", timeout_ms);
    const char *lock_params[] = {tname};
    const char *set_params[] = {timeout};
    rc = admin_exec(conn, "cannot set the lock timeout",
                    "SELECT pg_catalog.set_config('lock_timeout', $1, false)", 1, set_params,
                    NULL, rep);
    if (rc == RETORT_OK)
        rc = admin_exec(conn, "cannot take the lock for building the test template",
                        "SELECT pg_catalog.pg_advisory_lock(7203, pg_catalog.hashtext($1))", 1,
                        lock_params, NULL, rep);
    if (rc == RETORT_OK && (exists = database_exists(conn, tname, rep)) < 0)
        rc = RETORT_EDB;
    if (rc == RETORT_OK && !exists) {
        /* A builder that crashed left its half-built database behind. */
        rc = drop_database(conn, bname, 1, rep);
        if (rc == RETORT_OK)
            rc = create_database(conn, bname, "template0", rep);
        char *build_url = NULL;
        if (rc == RETORT_OK && !(build_url = url_with_dbname(url, bname)))
            rc = report_oom(rep);
        if (rc == RETORT_OK) {
            rc = build(ctx, build_url);
            if (rc != RETORT_OK)
                drop_database(conn, bname, 1, rep); /* the build's report stays */
        }
        rt_free(build_url);
        if (rc == RETORT_OK) {
            char qb[140], qt[140], sql[400];
            pg_quote_ident(bname, qb, sizeof qb);
            pg_quote_ident(tname, qt, sizeof qt);
            snprintf(sql, sizeof sql, "ALTER DATABASE %s RENAME TO %s", qb, qt);
            rc = admin_exec(conn, "cannot publish the test template", sql, 0, NULL, NULL, rep);
        }
        if (rc == RETORT_OK) {
            *built = 1;
            /* Stale: the same project's templates for other migrations. */
            const char *us = strchr(key, '_');
            size_t plen = us ? (size_t)(us - key) : strlen(key);
            char pattern[96];
            snprintf(pattern, sizeof pattern, "retort\\_tpl\\_%.*s\\_%%", (int)plen, key);
            /* A failure to drop one is not the build's: rc stays. */
            drop_matching(conn, pattern, tname, NULL, NULL, rep);
        }
    }
    /* Ending the session releases the advisory lock. */
    pg_disconnect(admin);
    return rc;
}

static int pg_template_drop(const char *url, retort_line_fn dropped, void *ctx,
                            retort_report *rep)
{
    pg_db *admin = NULL;
    int rc = admin_connect(url, &admin, rep);
    if (rc == RETORT_OK)
        rc = drop_matching(admin->conn, "retort\\_tpl\\_%", NULL, dropped, ctx, rep);
    pg_disconnect(admin);
    return rc;
}

static const char *const pg_schemes[] = {"postgresql", "postgres", NULL};

const retort_backend rt_postgres_backend = {
    .abi_version = RETORT_BACKEND_ABI_VERSION,
    .struct_size = sizeof(retort_backend),
    .name = "postgresql",
    .schemes = pg_schemes,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .exec = pg_exec,
    .exec_params = pg_exec_params,
    .query = pg_query,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .lock = pg_lock,
    .unlock = pg_unlock,
    .quote_ident = pg_quote_ident,
    .quote_literal = pg_quote_literal,
    .sql = pg_sql,
    .table_exists = pg_table_exists,
    .default_schema = pg_default_schema,
    .snapshot = rt_postgres_snapshot,
    .native = pg_native,
#ifdef LIBPQ_HAS_PIPELINING
    .exec_batch = pg_exec_batch,
#endif
    .data_version = NULL, /* the advisory lock is exclusive: no re-check to skip */
    .fresh_create = pg_fresh_create,
    .fresh_drop = pg_fresh_drop,
    .template_ensure = pg_template_ensure,
    .template_drop = pg_template_drop,
};
