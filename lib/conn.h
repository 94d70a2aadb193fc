/*
 * conn.h — the connection a migration callback works through: live (the
 * context's driver connection) or offline (statements appended to a
 * script).  Lives on the runner's stack for the duration of one callback.
 */
#ifndef RT_CONN_H
#define RT_CONN_H

#include "buf.h"
#include "retort/backend.h"

typedef struct retort retort;

struct retort_conn {
    retort *r;
    rt_buf *script; /* offline: the script being rendered; NULL online */
    int done;       /* statements completed, for the audit log */
    int failed;     /* a retort_exec* call failed */
    int oom;        /* one failed for want of memory: not the migration's fault */
    int needs_live; /* offline: the callback asked for the native handle */
    int partial;    /* the driver said a statement committed part of a transactional
                       step on its own (RETORT_EDIRTY): the step is marked dirty */
    rt_buf error;   /* the failure to report: set by the callback or the last exec */
};

void rt_conn_init(struct retort_conn *conn, retort *r, rt_buf *script);
void rt_conn_free(struct retort_conn *conn);

/* Appends statement text to an offline script, terminated by ";" and a
 * newline when it does not already end with one. */
void rt_script_append_statement(rt_buf *script, const char *sql);

/* Renders sql with $1..$n replaced by quoted literals (outside quotes and
 * comments), for offline scripts. */
int rt_render_params(const retort_backend *be, const char *sql, int nparams,
                     const char *const *params, rt_buf *out);

#endif
