/*
 * retort — versioned database schema migrations for C and everything that
 * can load a shared object.
 *
 * This is the only header an application needs. Conventions, which hold for
 * every function below unless its comment says otherwise:
 *
 *  - Status.  Every function that can fail returns int: RETORT_OK (0) on
 *    success, a RETORT_E* code otherwise.  Codes are never renumbered or
 *    removed.  After a failure, retort_errmsg() on the same context returns a
 *    message naming the revision, target, file:line or setting at fault, and
 *    carrying the database's own error text where there is one.  A failure
 *    changes nothing: neither the context's registry and settings, nor the
 *    database beyond what the message says.
 *  - Strings in are copied; the caller may free them as soon as the call
 *    returns.  Strings out are "const char *" owned by the context and valid
 *    until the next call on that context (or until retort_free), like
 *    sqlite3_errmsg().  No returned string ever needs freeing by the caller.
 *  - Threads.  A context is used by one thread at a time; separate contexts may
 *    be used concurrently from different threads without locking.  The only
 *    global state is the backend registry, which is thread-safe.
 *  - Bindings.  No variadic functions, no structs by value, no FILE *; every
 *    constant is also reachable through a function where a binding needs it.
 *  - Passwords in URLs never appear in a message, a log line or an error.
 */
#ifndef RETORT_RETORT_H
#define RETORT_RETORT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- versions */

#define RETORT_VERSION_MAJOR 0
#define RETORT_VERSION_MINOR 1
#define RETORT_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH: compare with retort_version_number(). */
#define RETORT_VERSION_NUMBER                                                  \
    (RETORT_VERSION_MAJOR * 10000 + RETORT_VERSION_MINOR * 100 +              \
     RETORT_VERSION_PATCH)
#define RETORT_VERSION_STRING "0.1.0"

/* Export macro: the library is built with -fvisibility=hidden and marks its
 * public functions with RETORT_API.  Applications need not define anything. */
#if defined(_WIN32)
#define RETORT_API
#elif defined(RETORT_BUILDING_LIBRARY) && defined(__GNUC__)
#define RETORT_API __attribute__((visibility("default")))
#else
#define RETORT_API
#endif

/* The library's version string at run time ("0.1.0"); static, never NULL. */
RETORT_API const char *retort_version(void);
/* The library's RETORT_VERSION_NUMBER at run time. */
RETORT_API int retort_version_number(void);

/* ------------------------------------------------------------ status codes */

enum {
    RETORT_OK = 0,
    RETORT_ERROR = 1,          /* failure without a more precise code */
    RETORT_EINVAL = 2,         /* an argument is malformed: id, target, setting, NULL */
    RETORT_ENOMEM = 3,         /* out of memory */
    RETORT_EEXIST = 4,         /* a revision with that id is already registered */
    RETORT_EGRAPH = 5,         /* unknown parent, cycle */
    RETORT_ETARGET = 6,        /* target unknown, ambiguous, or several heads for "head" */
    RETORT_EURL = 7,           /* malformed URL or unknown scheme */
    RETORT_ECONNECT = 8,       /* could not connect to the database */
    RETORT_EDB = 9,            /* the database reported an error */
    RETORT_EMIGRATION = 10,    /* a migration callback or its SQL failed */
    RETORT_EIRREVERSIBLE = 11, /* the downgrade plan contains an irreversible revision */
    RETORT_EUNKNOWN = 12,      /* the database holds a revision the registry does not know */
    RETORT_EDIRTY = 13,        /* a non-transactional revision failed midway; resolve first */
    RETORT_ECHECKSUM = 14,     /* an applied SQL migration's text has changed */
    RETORT_ELOCK = 15,         /* lock or busy timeout */
    RETORT_EOFFLINE = 16,      /* a callback needs the live connection in offline mode */
    RETORT_EIO = 17,           /* a file could not be read or written */
    RETORT_EPARSE = 18,        /* a migration or configuration file is malformed */
    RETORT_EMISUSE = 19,       /* the call is not allowed here (e.g. from inside a callback) */
    RETORT_ENOTFOUND = 20,     /* no such revision or object */
    RETORT_EPENDING = 21,      /* retort_check(): revisions remain to be applied */
    RETORT_EBACKEND = 22,      /* backend registration rejected */
    RETORT_ECHECKFAIL = 23,    /* a retort_test_* check found a defect in the migrations */
    RETORT_EDRIFT = 24         /* the database's schema differs from the declared one */
};

/* A static, never-NULL description of a status code ("unknown status" for
 * codes this version does not know). */
RETORT_API const char *retort_strerror(int code);

/* ----------------------------------------------------------------- handles */

typedef struct retort retort;           /* one migration context: registry, settings, connection */
typedef struct retort_conn retort_conn; /* what a migration callback works through */

/* A migration step.  Return 0 for success; anything else fails the revision
 * (its transaction is rolled back).  conn is valid only during the call.
 * user is the pointer given at registration, passed through untouched. */
typedef int (*retort_fn)(retort_conn *conn, void *user);

/* ------------------------------------------------------- context lifecycle */

/*
 * Creates a context for the database at url.  Does not connect: the
 * connection is opened by the first operation that needs it and kept until
 * retort_free().
 *
 * url: "sqlite:PATH", "sqlite::memory:", "sqlite:///relative.db",
 * "sqlite:////absolute.db", "postgresql://..." / "postgres://..." URIs, or a
 * libpq "key=value" string behind "postgresql:".  NULL: the environment
 * variable RETORT_DATABASE_URL; if that is unset, "sqlite:retort.db" in the
 * working directory (logged at info level when the database is opened).
 *
 * *out receives a context even when the call fails (except for
 * RETORT_ENOMEM when even that could not be allocated, where *out is NULL), so
 * that retort_errmsg(*out) can say why; the caller frees it with retort_free()
 * in every case.  Errors: RETORT_EINVAL (out NULL), RETORT_EURL (malformed
 * URL, or a scheme no compiled-in or registered backend serves: the message
 * lists the schemes that are available).
 */
RETORT_API int retort_new(retort **out, const char *url);

/* Closes the connection and frees everything the context owns.  NULL is a
 * no-op.  Called from inside one of the context's callbacks (a migration
 * step, the log function), it is deferred: the context stays valid until
 * the call that ran the callback returns, no further step runs (that call
 * returns RETORT_EMIGRATION if a step was still to run, else its own
 * result), and that call frees the context on its way out; the caller must
 * then not use r again, not even for retort_errmsg. */
RETORT_API void retort_free(retort *r);

/* The message of the last failure on r, or "" if the last call succeeded.
 * Never NULL: for r == NULL it returns "out of memory" (the only way to get a
 * NULL context from retort_new).  Owned by r, valid until r's next call. */
RETORT_API const char *retort_errmsg(const retort *r);

/* The status code of the last call on r (RETORT_OK after a success);
 * RETORT_ENOMEM for r == NULL. */
RETORT_API int retort_errcode(const retort *r);

/* ------------------------------------------------------------ registration */

/*
 * Registers a revision implemented by callbacks.
 *
 * id: 1-128 characters of [A-Za-z0-9_.-]; must not be "base", "head" or
 * "heads" (reserved target names).  parents: NULL or "" for a root, one id,
 * or several ids separated by spaces and/or commas (a merge); parents need
 * not be registered yet (they are checked by the first operation).  message:
 * free text in UTF-8 (it is stored as text), NULL is "".  up: required.  down: NULL makes the revision
 * irreversible.  user: passed to up and down untouched; owned by the caller,
 * who keeps it valid for the context's lifetime.
 *
 * Errors (nothing is registered): RETORT_EINVAL (bad id, bad parents list,
 * up NULL, a parent listed twice or equal to id, a message that is not valid
 * UTF-8), RETORT_EEXIST (id already
 * registered), RETORT_EMISUSE (called from inside a callback).
 */
RETORT_API int retort_add(retort *r, const char *id, const char *parents, const char *message,
                          retort_fn up, retort_fn down, void *user);

/*
 * Registers a revision implemented by SQL text: one or more statements.
 * down_sql NULL makes it irreversible.  The SHA-256 of up_sql (and of
 * down_sql when given) is recorded in the version table when the revision is
 * applied, and compared on later runs (see retort_set_checksum_policy).
 * Errors as retort_add(), plus RETORT_EINVAL for up_sql NULL.
 */
RETORT_API int retort_add_sql(retort *r, const char *id, const char *parents,
                              const char *message, const char *up_sql, const char *down_sql);

/*
 * Marks a registered revision as transactional (on != 0, the default) or not.
 * A non-transactional revision runs outside any transaction, one statement at
 * a time (PostgreSQL's CREATE INDEX CONCURRENTLY needs this).  Its version
 * row is written as "dirty" before it starts and marked "applied" when it
 * finishes; if it fails midway the database stays dirty and further runs
 * refuse until retort_mark_applied() or retort_mark_reverted() resolves it.
 * Errors: RETORT_ENOTFOUND (id not registered), RETORT_EINVAL.
 */
RETORT_API int retort_revision_set_transactional(retort *r, const char *id, int on);

/*
 * Branch labels of revision id: names separated by spaces and/or commas,
 * each 1-128 characters of [A-Za-z0-9_.-], unique across the registry,
 * distinct from every id and reserved word.  As Alembic's branch_labels: a
 * label names the branch from that revision up to its head ("LABEL@head",
 * "LABEL@base", "LABEL@+1" as targets; a bare label is the labelled
 * revision).  Replaces the revision's labels ("" or NULL clears them).  The
 * string is copied.  On failure nothing changes.  Errors: RETORT_ENOTFOUND
 * (id not registered), RETORT_EINVAL (malformed or reserved label, listed
 * twice, id NULL), RETORT_EEXIST (the label is another revision's label or a
 * registered id; the message names it), RETORT_EMISUSE (from a callback).
 * Not thread-safe with other calls on r.
 */
RETORT_API int retort_revision_set_branch_labels(retort *r, const char *id, const char *labels);

/*
 * Revisions (ids or branch labels, separated by spaces and/or commas) that
 * must be applied before id without being its parents, as Alembic's
 * depends_on: id is not a merge point and heads are unchanged (a dependency
 * with no child stays a head); upgrading to id applies them first;
 * downgrading one of them reverts id first.  Replaces the revision's list
 * ("" or NULL clears it); copied; nothing changes on failure.  The names are
 * resolved when the graph is next built (the first operation): an unknown
 * one or a cycle through depends_on is RETORT_EGRAPH there, retort_heads
 * included.  Errors: RETORT_ENOTFOUND (id not registered), RETORT_EINVAL (id
 * in its own list, malformed name, listed twice), RETORT_EMISUSE.
 */
RETORT_API int retort_revision_set_depends_on(retort *r, const char *id, const char *depends_on);

/*
 * Registers every migration in directory path: files "ID.sql" with
 * "-- retort:up" and "-- retort:down" sections, or pairs "ID.up.sql" /
 * "ID.down.sql".  Header comments: "-- retort:parents A B",
 * "-- retort:message TEXT", "-- retort:no-transaction".  Other tools'
 * layouts are read unchanged, several in one directory: dbmate, goose,
 * sql-migrate and golang-migrate/sqlx/morph files by their markers,
 * Flyway's V/U files, diesel's VERSION_name/up.sql directories; a .sql file
 * without section markers is one up-only migration (see retort(1)).
 * Without a parents line a file's parent is the previous id in the tools'
 * version order.  The directory is validated as a whole first: on any error
 * nothing is registered.  Entries that are not migrations are listed at
 * RETORT_LOG_INFO.  A file's parents may be revisions registered before the
 * call (C migrations registered in code, then the directory).
 * A retort single-file migration whose up section holds nothing but blank
 * lines and "--" comments (the template `retort revision` writes, not yet
 * filled in) is registered, but retort_upgrade(), retort_upgrade_sql() and
 * retort_plan() refuse any plan that would run it with RETORT_EPARSE naming
 * the file, before running anything; a merge (several parents) may be
 * empty.
 * Errors: RETORT_EIO (unreadable directory or file), RETORT_EPARSE (the
 * message names file:line; also near-miss markers of any known tool, goose
 * .go and Pop .fizz files, template actions), RETORT_ENOTFOUND (the
 * directory holds no migration: the message names what it holds),
 * RETORT_EEXIST, RETORT_EINVAL.
 */
RETORT_API int retort_load_dir(retort *r, const char *path);

/*
 * Registers the migrations of several directories as one registry, as
 * Alembic's version_locations: paths[0..npaths) are read as
 * retort_load_dir reads one, and a file's parents may be in any of them.  A
 * file without a parents line follows the previous file of its own
 * directory.  A directory without migrations is skipped when another one
 * has some.  Validated as a whole first: on any error nothing is
 * registered.  The strings are not kept.
 * Errors: as retort_load_dir; RETORT_EEXIST for an id in two of the
 * directories (the message names both files); RETORT_ENOTFOUND when none of
 * them holds a migration; RETORT_EINVAL (paths NULL, npaths < 1, a NULL or
 * empty path).  Not thread-safe with other calls on r.
 */
RETORT_API int retort_load_dirs(retort *r, const char *const *paths, int npaths);

/*
 * Adopts the state another migration tool left in the database: reads that
 * tool's version table as the tool writes it, maps its versions onto the
 * registered revisions, and records exactly those as applied in retort's
 * version table (checksums from the registered SQL, an audit entry "adopt"
 * naming the tool and table), in one transaction, without running anything
 * and leaving the other tool's table untouched.
 *
 * tool: NULL detects the one tool whose table is present; or one of
 * "golang-migrate" (schema_migrations: version, dirty), "dbmate"
 * (schema_migrations: version), "goose" (goose_db_version), "flyway"
 * (flyway_schema_history), "sqlx" (_sqlx_migrations), "diesel"
 * (__diesel_schema_migrations), "sql-migrate" (gorp_migrations), "alembic"
 * (alembic_version; heads imply their ancestors).  doc/MIGRATING.md gives
 * each table and its mapping.
 *
 * Refuses, changing nothing: RETORT_EDIRTY when the table records a failed
 * or dirty migration (naming it); RETORT_EUNKNOWN when it lists a version
 * no registered revision has, or a Flyway repeatable migration the
 * directory does not have (one whose file changed since Flyway applied it
 * is not recorded: the next upgrade to head runs it);
 * RETORT_EINVAL for an unknown tool, several tools' tables with tool NULL,
 * a recorded revision whose parent is not recorded, or a retort version
 * table that already has rows; RETORT_ENOTFOUND when no such table exists.
 * Thread-safety: as every operation on r.
 */
RETORT_API int retort_adopt(retort *r, const char *tool);

/*
 * Flyway's repeatable migrations (R__<desc>.sql in a loaded directory) and
 * their state, read from the version table: one line per repeatable
 * migration, in the order an upgrade to head runs them, "<id> <state>\n",
 * state "applied" (at the file's present text), "changed" (applied, but the
 * file changed since: the next upgrade to head runs it again) or "pending"
 * (never applied).  "" when the directory has none.  They are not
 * revisions: retort_revision_count(), heads and current never include
 * them; retort_check() counts a changed or pending one as pending.
 *
 * *list is owned by r until its next call.  Errors: RETORT_EINVAL for a
 * NULL list, and those of reading the version table.  Thread-safety: as
 * every operation on r.
 */
RETORT_API int retort_repeatables(retort *r, const char **list);

/* -------------------------------------------------------------- operations */

/* Equivalent to retort_upgrade(r, "head"). */
RETORT_API int retort_migrate_to_head(retort *r);

/*
 * Targets (every function taking one): "head" (the single head; with
 * several the error lists them), "heads", "base", a revision id, a branch
 * label, or a unique prefix of an id (an ambiguous prefix is RETORT_ETARGET
 * listing the candidates; an exact id wins over any other reading);
 * "X@head", "X@heads", "X@base", "X@Y" (X a label or an id standing for the
 * lineage through it; Y must share that lineage); relative "+N", "-N",
 * "ID+N", "ID-N", "base+N", "LABEL@+N" (up from that branch's current head),
 * "LABEL@-N" (down, staying inside the branch); relative walks follow
 * parents and fail where they fork.  Several targets separated by spaces are
 * united; one that is an ancestor of another listed one is RETORT_ETARGET
 * naming both.  Upgrading to "X@base" does nothing.
 */

/*
 * Applies every unapplied revision target requires (through parents and
 * depends_on, transitively), and target itself, in the registration-order
 * topological order over both kinds of edge.  target: any form above, e.g.
 * "head", "heads", a revision id, or "+N" (N steps forward on linear history).
 *
 * Before anything runs: the graph is validated (unknown parents, cycles:
 * RETORT_EGRAPH), the recorded state is read and checked (a revision the
 * registry does not know: RETORT_EUNKNOWN unless tolerated; a dirty
 * database: RETORT_EDIRTY; a changed SQL text: RETORT_ECHECKSUM under the
 * "error" policy; a revision that is not applied but is an ancestor of an
 * applied one, added out of order: RETORT_EGRAPH naming both, unless the
 * setting "allow_out_of_order" is on, which applies it with a warning).
 * White space around target is ignored.  Each revision then runs in its own
 * transaction with its
 * version row (or the whole plan in one, see retort_set_transaction_mode); a
 * failure rolls that revision back and stops, earlier revisions stay applied
 * (RETORT_EMIGRATION, naming the revision and carrying the database's text).
 * A revision whose SQL ends the transaction itself (COMMIT or ROLLBACK in
 * it) fails the same way and, where part of it may have been committed, is
 * recorded dirty (RETORT_EDIRTY for every later run until resolved); so is a
 * non-transactional revision that leaves a transaction of its own open.
 *
 * Concurrent callers in any number of processes apply each revision exactly
 * once and all return RETORT_OK.  Already at target costs one query.  The
 * target is resolved under the lock (SQLite: the first write transaction's)
 * into the revisions it names; should another process change the recorded
 * state meanwhile (a downgrade, a stamp), the rest of the run is planned
 * again toward them, so no revision is ever recorded without its parents.
 * A run that another process keeps undoing stops with RETORT_ELOCK.
 */
RETORT_API int retort_upgrade(retort *r, const char *target);

/*
 * Reverts every applied revision that requires a child of target (through
 * parents or depends_on), dependents first, leaving target applied (a
 * revision that depends on target itself stays).  target: "base" (revert
 * everything), a revision id, "-N" (N steps back on linear history),
 * "LABEL@base" (revert that branch and what depends on it), "ID@base" (the
 * lineage through ID except what other applied heads require), "LABEL@-N",
 * "LABEL@ID" (only that branch's revisions above ID, with their dependents).  An irreversible revision in the
 * plan stops the whole downgrade before anything runs (RETORT_EIRREVERSIBLE,
 * naming it).  Other errors as retort_upgrade().
 */
RETORT_API int retort_downgrade(retort *r, const char *target);

/*
 * The applied heads: the applied revisions with no applied child,
 * space-separated and sorted; "" at base.  *heads is owned by r until its
 * next call.  Errors: those of connecting and reading the version table.
 */
RETORT_API int retort_current(retort *r, const char **heads);

/*
 * Sets the recorded state to target without running any migration: "base"
 * clears it; "head", "heads" or ids (several separated by spaces) record
 * exactly those revisions and what they require (ancestors and depends_on)
 * as applied.  A branch target ("LABEL@head", "LABEL@base", "X@Y") changes
 * only the recorded revisions sharing X's lineage and keeps the others.  Logged in the
 * audit log.  Rows of revisions the registry does not know (tolerated, see
 * retort_set_tolerate_unknown) are kept, and so is every row they depend on:
 * a stamp that would remove one fails with RETORT_EUNKNOWN naming the row
 * and the unknown revision that needs it, and changes nothing.  Errors:
 * RETORT_ETARGET, and those of retort_upgrade() before anything runs.
 */
RETORT_API int retort_stamp(retort *r, const char *target);

/*
 * Deletes every version row, including rows of revisions the registry does
 * not know, then records target as retort_stamp() would on an empty table
 * (Alembic's stamp --purge).  Each deleted and recorded row is written to
 * the audit log.  Runs no migration.  Errors as retort_stamp() except that
 * unknown and dirty rows do not stop it.
 */
RETORT_API int retort_stamp_purge(retort *r, const char *target);

/*
 * Checks the database against the registry without changing it: RETORT_OK
 * when every head is applied and every applied SQL migration's checksum
 * matches; RETORT_EPENDING when revisions remain to be applied (the message
 * lists them); RETORT_ECHECKSUM when an applied SQL text changed (naming the
 * revision); RETORT_EDIRTY, RETORT_EUNKNOWN, RETORT_EGRAPH (also for a
 * revision added out of order, unless "allow_out_of_order") as for upgrade.
 */
RETORT_API int retort_check(retort *r);

/*
 * The ids that retort_upgrade(r, target) (direction > 0) or
 * retort_downgrade(r, target) (direction < 0) would run now, in order,
 * space-separated ("" if none).  Reads the database, runs nothing.  A
 * preview: another process may have run some of them by the time an
 * operation runs (step events report what one actually ran).  A dirty row
 * seen where the driver has an exclusive lock (PostgreSQL) may be a
 * non-transactional revision another process is running: retort_plan then
 * waits for the lock (up to the lock timeout) and judges it under it.
 * *ids is owned by r until its next call.
 */
RETORT_API int retort_plan(retort *r, int direction, const char *target, const char **ids);

/*
 * Resolves a dirty database by hand after an operator has inspected it.
 * retort_mark_applied records id as applied (creating or fixing its version
 * row); retort_mark_reverted removes its row.  Both are recorded in the audit
 * log.  They work on dirty and clean rows alike.  Errors: RETORT_ENOTFOUND
 * (id not registered), database errors.
 */
RETORT_API int retort_mark_applied(retort *r, const char *id);
RETORT_API int retort_mark_reverted(retort *r, const char *id);

/*
 * After an applied SQL migration's text was edited on purpose (a comment, a
 * fix that must not run again): records its current checksum in the version
 * table, so that checks stop reporting it, and appends a "repair" entry
 * naming both checksums to the audit log.  Runs nothing.  RETORT_OK without
 * any change when the checksums already match.  Errors: RETORT_EINVAL (id
 * NULL; a revision registered with callbacks, which has no checksum),
 * RETORT_ENOTFOUND (id not registered, or not applied), RETORT_EDIRTY (its
 * row is dirty: resolve it first), database errors.
 */
RETORT_API int retort_repair(retort *r, const char *id);

/* ----------------------------------------------------------- introspection */

/* Revision flags reported by retort_revision_info(). */
enum {
    RETORT_REV_IRREVERSIBLE = 1,     /* no down step */
    RETORT_REV_NO_TRANSACTION = 2,   /* runs outside a transaction */
    RETORT_REV_SQL = 4,              /* registered with SQL text (has a checksum) */
    RETORT_REV_APPLIED = 8,          /* recorded as applied (after retort_applied()) */
    RETORT_REV_DIRTY = 16            /* recorded as dirty (after retort_applied()) */
};

/*
 * The heads of the registered graph (revisions with no child),
 * space-separated, sorted.  Does not touch the database.  Validates the
 * graph (RETORT_EGRAPH).  *heads is owned by r until its next call.
 */
RETORT_API int retort_heads(retort *r, const char **heads);

/* Number of registered revisions. */
RETORT_API int retort_revision_count(retort *r, int *count);

/*
 * The index-th revision in plan order (parents before children, ties by
 * registration order; 0 <= index < count).  Any out pointer may be NULL.
 * parents: space-separated.  flags: RETORT_REV_* (APPLIED and DIRTY reflect
 * the last state read by an operation or by retort_applied()).  Strings are
 * owned by r and valid until the registry changes or r is freed.
 * Errors: RETORT_EGRAPH, RETORT_EINVAL (index out of range).
 */
RETORT_API int retort_revision_info(retort *r, int index, const char **id, const char **parents,
                                    const char **message, int *flags);

/*
 * The branch labels and depends_on of the index-th revision in plan order
 * (as retort_revision_info), each normalised to names separated by single
 * spaces, "" when none.  Any out pointer may be NULL.  Strings are owned by
 * r and valid until the registry changes or r is freed.  Errors:
 * RETORT_EGRAPH, RETORT_EINVAL (index out of range).
 */
RETORT_API int retort_revision_links(retort *r, int index, const char **branch_labels,
                                     const char **depends_on);

/*
 * Reads the version table: *ids receives every recorded revision in the
 * order applied, space-separated ("" at base).  Updates the APPLIED/DIRTY
 * flags seen by retort_revision_info().  *ids is owned by r until its next
 * call.
 */
RETORT_API int retort_applied(retort *r, const char **ids);

/* Flags of a version-table row reported by retort_versions(). */
enum {
    RETORT_ROW_UNKNOWN = 1,     /* the registry does not know the revision */
    RETORT_ROW_EDITED = 2,      /* SQL text applied with another checksum than it has now */
    RETORT_ROW_CHECKSUM_OK = 4  /* SQL text whose checksum matches the one applied */
};

/*
 * Receives one row of the version table: id, parents and message as
 * recorded, state ("applied" or "dirty"), applied_at (ISO 8601 UTC, as the
 * database stores it), duration_ms, and flags (RETORT_ROW_*; neither EDITED
 * nor CHECKSUM_OK for a revision without a recorded or registered
 * checksum).  Strings are valid only during the call.  The callback must
 * not call retort_* functions on the context (RETORT_EMISUSE).
 */
typedef void (*retort_version_fn)(const char *id, const char *parents, const char *message,
                                  const char *state, const char *applied_at, long duration_ms,
                                  int flags, void *user);

/*
 * Reads the version table and calls fn for each row in the order applied
 * (none at base, or when the table does not exist yet).  Also updates the
 * APPLIED/DIRTY flags seen by retort_revision_info().  Changes nothing.
 * Errors: RETORT_EINVAL (fn NULL), those of connecting and reading.
 */
RETORT_API int retort_versions(retort *r, retort_version_fn fn, void *user);

/*
 * Receives one entry of the audit log: seq (increasing), revision,
 * direction ("up", "down", "stamp", "mark-applied", "mark-reverted",
 * "repair"), started_at and finished_at (ISO 8601 UTC), outcome ("ok" or
 * "failed"), error ("" if none), statements_done (-1 when not recorded:
 * only non-transactional steps record it).  Strings are valid only during
 * the call; the callback must not call retort_* functions on the context.
 */
typedef void (*retort_audit_fn)(long seq, const char *revision, const char *direction,
                                const char *started_at, const char *finished_at,
                                const char *outcome, const char *error, int statements_done,
                                void *user);

/*
 * Reads the audit log (the version table's name with "_log") and calls fn
 * for each entry, oldest first; none when the log does not exist yet.
 * Changes nothing.  Errors: RETORT_EINVAL (fn NULL; a driver that has no
 * statement to read the log), those of connecting and reading.
 */
RETORT_API int retort_audit_log(retort *r, retort_audit_fn fn, void *user);

/* ---------------------------------------------------------------- settings */

/* Transaction modes for retort_set_transaction_mode(). */
enum {
    RETORT_TX_PER_MIGRATION = 0, /* default: each revision with its version row */
    RETORT_TX_WHOLE_RUN = 1      /* the whole plan in one transaction */
};

/* Checksum policies for retort_set_checksum_policy(). */
enum {
    RETORT_CHECKSUM_WARN = 0,   /* default: log a warning, go on */
    RETORT_CHECKSUM_ERROR = 1,  /* refuse to run (RETORT_ECHECKSUM) */
    RETORT_CHECKSUM_IGNORE = 2  /* do not compare */
};

/* Log levels, most severe first. */
enum {
    RETORT_LOG_NONE = 0, /* as a log level: deliver nothing */
    RETORT_LOG_ERROR = 1,
    RETORT_LOG_WARN = 2,
    RETORT_LOG_INFO = 3,
    RETORT_LOG_DEBUG = 4
};

/*
 * Settings take effect at the next operation.  Each returns RETORT_EINVAL,
 * naming the setting and the value, for a value out of range, and changes
 * nothing then.  Settings that affect the connection (the lock timeout) may
 * be changed at any time; the version table name and schema must be set
 * before the first operation (RETORT_EMISUSE afterwards).  On a context from
 * retort_new_fresh() the version table name may still be set until its first
 * operation; its schema belongs to the fresh target.
 */

/* The version table's name (default "retort_version"); the audit log table
 * is the same name with "_log" appended.  1-59 characters of [A-Za-z0-9_]
 * (so that the log table's name fits PostgreSQL's 63), not starting with a
 * digit. */
RETORT_API int retort_set_version_table(retort *r, const char *name);

/* The schema holding the version table (PostgreSQL; created if missing).
 * NULL or "" restores the default (the connection's current schema,
 * "public" on a default server).  Same character rules as the table name.
 * SQLite accepts only NULL, "" or "main". */
RETORT_API int retort_set_schema(retort *r, const char *schema);

/* How long to wait for the migration lock (PostgreSQL advisory lock) or a
 * busy database (SQLite busy timeout), in milliseconds, 0 to 86400000.
 * Default 30000.  Expiry is RETORT_ELOCK, never a hang. */
RETORT_API int retort_set_lock_timeout(retort *r, int milliseconds);

/* RETORT_TX_PER_MIGRATION or RETORT_TX_WHOLE_RUN. */
RETORT_API int retort_set_transaction_mode(retort *r, int mode);

/* RETORT_CHECKSUM_WARN, _ERROR or _IGNORE.  retort_check() always treats a
 * mismatch as an error unless the policy is _IGNORE. */
RETORT_API int retort_set_checksum_policy(retort *r, int policy);

/* on != 0: revisions in the database that the registry does not know are
 * tolerated (a rolling deploy where newer replicas migrated already):
 * upgrade succeeds without running anything provided every revision the
 * registry knows is applied.  Default 0: they are RETORT_EUNKNOWN. */
RETORT_API int retort_set_tolerate_unknown(retort *r, int on);

/*
 * Sets any setting by name from text, for configuration files, command lines
 * and bindings: "version_table", "schema", "lock_timeout" (milliseconds),
 * "transaction_mode" ("per-migration" | "whole-run"), "checksum_policy"
 * ("warn" | "error" | "ignore"), "tolerate_unknown" ("0"/"1"/"true"/"false"),
 * "allow_out_of_order" (the same booleans; see retort_upgrade), "log_level"
 * ("error" | "warn" | "info" | "debug").  For contexts made by
 * retort_new_fresh: "fresh_mode" ("database", the default, | "schema"; before
 * the first operation, else RETORT_EMISUSE; see retort_new_fresh) and
 * "template_key" (any text up to 1024 bytes, mixed into the template's key:
 * change it when the code of C callback migrations changes).  An unknown
 * name or a bad value is RETORT_EINVAL naming it.
 */
RETORT_API int retort_set(retort *r, const char *name, const char *value);

/* ----------------------------------------------------------------- logging */

/* Receives each log message, already formatted, without a trailing newline.
 * message is valid only during the call.  Called on the thread using r. */
typedef void (*retort_log_fn)(int level, const char *message, void *user);

/* Routes log messages of level <= the log level to fn (NULL: the default,
 * which writes "retort: LEVEL: message" lines to standard error).  user is
 * passed through untouched. */
RETORT_API int retort_set_log(retort *r, retort_log_fn fn, void *user);

/* Messages above this level are dropped.  Default RETORT_LOG_WARN. */
RETORT_API int retort_set_log_level(retort *r, int level);

/* ------------------------------------------------------------ step events */

/* The phase of a step event: before the step's body runs, or after the
 * step's outcome is known. */
#define RETORT_EVENT_BEFORE 1
#define RETORT_EVENT_AFTER 2

/*
 * Receives one event per step of an upgrade or downgrade that this process
 * itself runs: what Alembic's on_version_apply and Flyway's callbacks give.
 *  - phase: RETORT_EVENT_BEFORE, just before the revision's body runs (after
 *    the run checked, under its lock, that the step is still needed: a step
 *    another process took is never announced), or RETORT_EVENT_AFTER.
 *  - direction: 1 upgrade, -1 downgrade.
 *  - index: 1 for the first step this call runs, then 2, 3, ...; total: the
 *    steps this call expects to run in all, as known at the event (it may
 *    change when another migrator's commit makes the run re-plan).
 *  - id, message: the revision's; valid only during the call.
 *  - status: in an after-event, RETORT_OK when the step is applied or
 *    reverted and committed, else the error status of the call (the
 *    migration failed, or the step was rolled back with the run); while the
 *    callback runs, retort_errmsg(r) holds that error's message.  In
 *    whole-run mode a step's after-event comes when the run's transaction
 *    ends.  Always RETORT_OK in a before-event.
 *  - duration_ms: the body's duration in an after-event, 0 before.
 * Every before-event is followed by exactly one after-event for the same
 * index.  Called on the thread running the operation, from inside it: the
 * callback must not call any retort_* function on r except retort_errmsg
 * and retort_errcode (others return RETORT_EMISUSE and replace the message),
 * and must return (no longjmp).
 */
typedef void (*retort_event_fn)(int phase, int direction, int index, int total, const char *id,
                                const char *message, int status, long duration_ms, void *user);

/* Routes step events to fn (NULL: none, the default).  user is passed
 * through untouched and never freed.  RETORT_EMISUSE from inside a
 * callback. */
RETORT_API int retort_set_event_fn(retort *r, retort_event_fn fn, void *user);

/* ---------------------------------------------------------- offline SQL */

/*
 * Renders a plan as a SQL script for the context's backend dialect instead
 * of executing it; never connects.  target: "FROM:TO" or "TO" (from base),
 * with the target forms of retort_upgrade (retort_upgrade_sql) and
 * retort_downgrade (retort_downgrade_sql, where FROM is required).  The
 * script holds the version-table DDL when starting from base, transaction
 * brackets per the transaction mode, each revision's statements under a
 * comment header, and the version-row changes.  Callbacks run with an offline
 * connection: retort_exec appends to the script, retort_native returns NULL,
 * and a callback that fails because it needs the live connection fails the
 * rendering with RETORT_EOFFLINE naming the revision.  *script is owned by r
 * until its next call.
 */
RETORT_API int retort_upgrade_sql(retort *r, const char *target, const char **script);
RETORT_API int retort_downgrade_sql(retort *r, const char *target, const char **script);

/*
 * The offline script of a stamp: target "TO" or "FROM:TO" (a missing FROM or
 * "base" means an empty database, and the script then creates the version
 * table).  Run on a database at FROM, the script leaves the version table
 * where retort_stamp(TO) would; it runs no callback and never drops the
 * version table.  *script is owned by r until its next call.  Errors:
 * RETORT_ETARGET, RETORT_EGRAPH, RETORT_EINVAL (NULL argument).
 */
RETORT_API int retort_stamp_sql(retort *r, const char *target, const char **script);

/* ----------------------------------------------------- inside a callback */

/*
 * Executes one or more SQL statements on the migration's connection (inside
 * its transaction when it has one).  Offline, appends them to the script.
 * Errors: RETORT_EDB with the database's message, which is also what the
 * failing revision will report if the callback returns nonzero.
 */
RETORT_API int retort_exec(retort_conn *conn, const char *sql);

/*
 * Executes one statement with text parameters referenced as $1, $2, ... on
 * every backend; params[i] NULL binds SQL NULL.  Values never become part of
 * the SQL text.  Offline, the statement is rendered with quoted literals.
 */
RETORT_API int retort_exec_params(retort_conn *conn, const char *sql, int nparams,
                                  const char *const *params);

/* The driver's native handle (sqlite3 *, PGconn *), or NULL offline. */
RETORT_API void *retort_native(retort_conn *conn);

/* The backend's name ("sqlite", "postgresql"), for callbacks that branch on
 * dialect.  Static, never NULL. */
RETORT_API const char *retort_conn_backend(retort_conn *conn);

/* Nonzero when the callback runs offline (rendering a script). */
RETORT_API int retort_conn_is_offline(retort_conn *conn);

/* The database's message for the last retort_exec / retort_exec_params on
 * conn that failed, or "" if none did.  Owned by conn, valid until the next
 * call on conn; lets a callback (or a binding) inspect or wrap the failure. */
RETORT_API const char *retort_conn_errmsg(retort_conn *conn);

/* Sets the message a failing callback reports (copied); the revision's error
 * then reads "revision ID: MESSAGE".  For bindings that turn exceptions into
 * errors.  Returns RETORT_OK. */
RETORT_API int retort_conn_set_error(retort_conn *conn, const char *message);

/* ---------------------------------------------------------------- memory */

/*
 * Routes every allocation the library itself makes through these functions
 * (with the semantics of malloc, realloc and free; all three given, or all
 * three NULL to restore the C library's).  The database client libraries
 * (libsqlite3, libpq) keep their own allocators.  This is process-wide: it
 * must be called before the first context is created or after the last one
 * is freed, and not concurrently with any other retort call; while a context
 * exists it fails with RETORT_EMISUSE.  Errors: RETORT_EINVAL (some but not
 * all three given).  Meant for embedders with their own allocators and for
 * tests that fail the Nth allocation: every failure surfaces as RETORT_ENOMEM.
 */
typedef void *(*retort_malloc_fn)(size_t size);
typedef void *(*retort_realloc_fn)(void *ptr, size_t size);
typedef void (*retort_free_fn)(void *ptr);
RETORT_API int retort_set_allocator(retort_malloc_fn malloc_fn, retort_realloc_fn realloc_fn,
                                    retort_free_fn free_fn);

/* ------------------------------------------------------------ test harness */

/*
 * Creates a context on a fresh, empty, isolated target derived from url,
 * for one test; retort_free() tears the target down.  SQLite ("sqlite:" +
 * anything, or NULL): a private in-memory database.  "sqlite:DIR/" (a path
 * ending in '/'): a new temporary file in DIR, deleted by retort_free.
 * PostgreSQL: a new database on the server url names (url's own database
 * is only used to create and drop it, never written), dropped with
 * everything in it by retort_free (WITH (FORCE) on PostgreSQL 13+: close
 * the application's own connections first on older servers).  The role
 * needs CREATEDB; without it the first operation fails with RETORT_EDB
 * saying so and what to do.  Safe for tests running in parallel processes.
 *
 * The target is created at the first operation, not here, so that the
 * settings fresh_mode and template_key (retort_set) may be set first; an
 * error creating it (server unreachable, no CREATEDB, a missing directory)
 * is that operation's.
 *
 * Templates: when that first operation is an upgrade to the head
 * (retort_migrate_to_head, retort_upgrade "head" or "heads"), the target is
 * a copy of a template migrated once per set of migrations (PostgreSQL: a
 * database retort_tpl_KEY, cloned with CREATE DATABASE ... TEMPLATE;
 * SQLite: a file retort-tpl-KEY.db in the directory, or for in-memory
 * targets in $TMPDIR/retort-templates-UID/, copied with the backup API).
 * KEY hashes each revision's id, parents, SQL checksum and flags, the
 * version table's name and schema, and template_key: C callbacks have no
 * checksum, so migrations with callbacks use a template only once
 * template_key is set, which must then change when their code changes
 * (without it they run on every target, as before templates).  The first
 * process to need a template builds it under a lock (PostgreSQL: an
 * advisory lock on url's database; SQLite: flock) while the others wait,
 * then clone it.  Building it drops the templates of the same history
 * (same root revisions) for other migrations; retort_drop_templates drops
 * them all.  A migration that fails while the template is built is run
 * again on the empty target, so the failure and where it stops are the
 * same as without templates.
 *
 * fresh_mode=schema (PostgreSQL): a uniquely named schema on url's own
 * database instead, used as the version table's schema and search_path and
 * dropped by retort_free; no CREATEDB needed, no templates.  Its limit: a
 * migration that names another schema (CREATE TABLE auth.users) writes to
 * that database; use it only with a scratch database.
 *
 * *out as for retort_new().
 */
RETORT_API int retort_new_fresh(retort **out, const char *url);

/*
 * The URL of r's fresh target (retort_new_fresh), for connecting the
 * application's own code to it: credentials as url gave them (PostgreSQL:
 * postgresql:key='value' ...; SQLite: a file path URL, or a
 * file:/NAME?vfs=memdb URI that another connection of this process can
 * open while r lives).  Creates the target, empty, if no operation has yet:
 * call it after retort_migrate_to_head to get a clone of the template.
 * With fresh_mode=schema, url's own URL (the tables are in the schema the
 * version table is in).  *url is owned by r and valid until retort_free.
 * Errors: RETORT_EMISUSE (r not made by retort_new_fresh, or inside a
 * callback), those of creating the target.
 */
RETORT_API int retort_fresh_url(retort *r, const char **url);

/*
 * Drops every test template on the server or in the directory of r's
 * fresh target (retort_new_fresh), whatever migrations made them: what
 * `retort test --drop-templates` does.  *dropped receives their names,
 * space-separated ("" when there were none), owned by r until its next
 * call.  A template being cloned at that moment is left (PostgreSQL).
 * Errors: RETORT_EMISUSE (r not made by retort_new_fresh), RETORT_EINVAL
 * (the backend has no templates), database and file errors.
 */
RETORT_API int retort_drop_templates(retort *r, const char **dropped);

/*
 * A canonical, deterministic text description of the database's schema:
 * tables, columns with types, nullability and defaults, primary keys,
 * unique and foreign keys, check constraints, indexes and views, one sorted
 * line each; the version table and audit log excluded.  Two databases with
 * the same schema give byte-identical text.  *text is owned by r until its
 * next call.  Errors: RETORT_EINVAL (the backend cannot snapshot), database
 * errors.
 */
RETORT_API int retort_schema_snapshot(retort *r, const char **text);

/*
 * Ready-made checks of the registered migrations, for test suites.  Each
 * returns RETORT_OK, or RETORT_ECHECKFAIL with retort_errmsg() naming the
 * revision at fault and what was wrong (other codes for errors that are not
 * findings, such as a lost connection).  The three that run migrations need
 * a context on an empty target (see retort_new_fresh) and leave it at base
 * on success.
 *
 * single_head: the graph has exactly one head.
 * upgrade: upgrading from empty to head succeeds.
 * stairway: for every revision in order, upgrade one step, snapshot,
 *   downgrade one step and compare with the snapshot before it, upgrade
 *   again; then downgrade everything.
 * downgrade: after upgrading to head, downgrading to base succeeds and
 *   leaves a schema identical to the empty one.
 */
RETORT_API int retort_test_single_head(retort *r);
RETORT_API int retort_test_upgrade(retort *r);
RETORT_API int retort_test_stairway(retort *r);
RETORT_API int retort_test_downgrade(retort *r);

/*
 * The stairway of a history with irreversible revisions: the same check as
 * retort_test_stairway over the revisions of plan order before the first
 * irreversible one (registered without a down step), which is where the
 * stairway stops: neither it nor the revisions after it in plan order are
 * checked (a downgrade can never pass it).  Without irreversible revisions,
 * the same as retort_test_stairway.  Needs a context on an empty target and
 * leaves it at base on success, as the other checks.
 *
 * *stopped_at: the id of the irreversible revision where the stairway
 * stopped, or "" when it checked every revision; owned by r, valid until
 * its next call; set only on success.  Thread safety: as every call on r.
 * Errors: as retort_test_stairway (RETORT_ECHECKFAIL naming the revision
 * at fault below the stop), RETORT_EINVAL when stopped_at is NULL.
 */
RETORT_API int retort_test_stairway_partial(retort *r, const char **stopped_at);

/* ------------------------------------------------------------ autogenerate */

/*
 * Writes the migration that takes the database from its schema at the
 * current revision to the schema the application declares.
 *
 * declared_sql: DDL creating every table, index, view and constraint the
 * application wants (what a fresh database would run).  It is applied to a
 * scratch target of the same backend (an in-memory SQLite database, a
 * temporary PostgreSQL schema), both it and the database are snapshotted,
 * and the difference is rendered for the backend's dialect: *up_sql takes
 * the database to the declared schema, *down_sql takes it back.  On SQLite,
 * changes ALTER TABLE cannot express use SQLite's documented rebuild (create,
 * copy, drop, rename, recreate indexes), keeping the data.  What cannot be
 * inferred safely (a rename looks like a drop and an add) is written as a
 * "-- retort:review" comment for the author; destructive steps are marked
 * "-- retort:destructive".  Both strings are "" when nothing differs.
 * Owned by r until its next call.
 *
 * Errors: RETORT_EPARSE (declared_sql fails on the scratch target: the
 * message carries the database's text), and those of connecting and
 * snapshotting.  Changes nothing in the database.
 */
RETORT_API int retort_autogenerate(retort *r, const char *declared_sql, const char **up_sql,
                                   const char **down_sql);

/*
 * Compares the database's schema with declared_sql as retort_autogenerate
 * does, for CI: RETORT_OK when they are the same, RETORT_EDRIFT when they
 * differ, with *diff (owned by r until its next call; may be NULL) listing
 * the differing snapshot lines, "-" for the database's and "+" for the
 * declared schema's.  Changes nothing.
 */
RETORT_API int retort_schema_diff(retort *r, const char *declared_sql, const char **diff);

#ifdef __cplusplus
}
#endif

#endif /* RETORT_RETORT_H */
