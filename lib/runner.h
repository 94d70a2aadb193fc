/*
 * runner.h — what the operations share: starting a call (validating the
 * graph before the database is touched, then connecting) and running one
 * revision's body through a retort_conn, online or offline.
 */
#ifndef RT_RUNNER_H
#define RT_RUNNER_H

#include "conn.h"
#include "registry.h"

typedef struct retort retort;

/* Starts an operation named op: clears the error, refuses reentry from a
 * callback, builds the graph (RETORT_EGRAPH) and, if connect, connects. */
int rt_prepare(retort *r, const char *op, int connect);

/* Runs rev's up or down body through conn.  On failure conn->error holds
 * the reason and the status is returned (RETORT_EMIGRATION for a callback
 * that returned nonzero). */
int rt_run_body(retort *r, const rt_rev *rev, int up, struct retort_conn *conn);

/* Runs fn(r, arg) under the migration lock, inside one transaction, with
 * the version tables ensured: committed if fn returns RETORT_OK, rolled back
 * otherwise (stamp, mark, adopt). */
/* On a database without retort's version table: refuses (RETORT_EUNKNOWN,
 * naming the table and 'retort adopt') when another tool's version table is
 * there, so that a first upgrade never re-runs what that tool applied
 * (adopt.c). */
int rt_adopt_guard(retort *r, const char *op);

int rt_locked_change(retort *r, const char *what, int (*fn)(retort *, const void *),
                     const void *arg);

#endif
