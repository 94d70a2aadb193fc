/*
 * version_table.h — reading and writing the version table and the audit log
 * through the driver's dialect templates.  Every value goes through a
 * parameter; only names are spliced into SQL, each through the quoting
 * function of its context (quote.h).
 */
#ifndef RT_VERSION_TABLE_H
#define RT_VERSION_TABLE_H

#include "buf.h"

typedef struct retort retort;
typedef struct rt_rev rt_rev;

/* Expands the driver's template for op into out ({table}, {log}, {schema},
 * {schema_name}, {tag}: backend.h), each placeholder through quote.h.
 * Returns 1, 0 when the dialect has no such statement, or -1 when out ran
 * out of memory (never execute a cut-short statement). */
int rt_vt_template(retort *r, int op, rt_buf *out);

/* The expanded template for op, kept on the context until the table names
 * change (statements run for every revision are built once).  NULL when the
 * dialect has no such statement, or when memory ran out (*oom set). */
const char *rt_vt_sql(retort *r, int op, int *oom);

/* Reads every row into r->state and maps it onto the registry.  A missing
 * table is an empty state. */
int rt_vt_read(retort *r);
/* Creates the schema (where the dialect has them), version table and log. */
int rt_vt_ensure(retort *r);
/* State of one row ("applied", "dirty") into *state, "" when absent. */
int rt_vt_lookup(retort *r, const char *id, char *state, size_t size);
int rt_vt_insert(retort *r, const rt_rev *rev, const char *state, long duration_ms);
int rt_vt_update(retort *r, const char *id, const char *state, long duration_ms);
int rt_vt_delete(retort *r, const char *id);
int rt_vt_delete_all(retort *r);
/* Appends to the audit log; statements_done < 0 records NULL. */
int rt_vt_log(retort *r, const char *id, const char *direction, const char *started,
              const char *finished, const char *outcome, const char *error, int statements_done);

/* Records a finished transactional step inside its transaction: the version
 * row change (insert "applied" for up, delete for down) and the audit
 * entry "ok", then commits when commit is nonzero; in one round trip where
 * the driver batches (exec_batch).  On failure the message names what
 * failed, and the caller rolls back. */
int rt_vt_record(retort *r, const rt_rev *rev, int up, long duration_ms, const char *started,
                 const char *finished, int commit);
/* The end of a non-transactional step, inside a transaction the caller
 * began: its dirty row made applied (up) or deleted (down) and the audit
 * entry with statements_done, then the commit, in one round trip where the
 * driver can. */
int rt_vt_record_finished(retort *r, const rt_rev *rev, int up, long duration_ms,
                          const char *started, const char *finished, int statements_done);

/*
 * What the core last saw, for drivers whose lock is not exclusive (SQLite):
 * each transaction of a run re-reads the table and re-plans under begin's
 * write lock, unless the driver's data version shows that nobody else has
 * committed since the core last knew the table.  rt_vt_seen notes the version after a read (rt_vt_read
 * calls it); rt_vt_unchanged, right after begin, says whether it still holds
 * (forgetting it when not); rt_vt_committed, after committing a transaction
 * begun with that answer, carries it past the core's own commit.
 */
void rt_vt_seen(retort *r);
int rt_vt_unchanged(retort *r);
void rt_vt_committed(retort *r, int unchanged);

/* Executes a driver template with parameters; on failure records
 * "<what>: <driver message>" on r. */
int rt_vt_exec(retort *r, int op, int nparams, const char *const *params, const char *what);

#endif
