/*
 * context.h — the layout of the opaque retort context, shared by the core's
 * files.  Nothing outside lib/ sees it.
 */
#ifndef RT_CONTEXT_H
#define RT_CONTEXT_H

#include "retort/backend.h"
#include "retort/retort.h"

#include "buf.h"
#include "graph.h"
#include "redact.h"
#include "registry.h"
#include "state.h"

#define RT_NAME_MAX 64 /* table and schema names: 63 characters and the NUL */
#define RT_SQL_CACHE 16 /* above the largest RETORT_SQL_* op */

struct retort {
    /* connection */
    char *url;                    /* resolved URL, with its password */
    char *url_redacted;           /* for messages and logs */
    /* Every value that may be a password: from the URL (url.c) and from
     * the driver's own reading of it (retort_report_secret).  rt_fail and
     * rt_log hide each of them in whatever they store or deliver. */
    rt_secrets secrets;
    int url_is_default;           /* neither argument nor environment gave one */
    const retort_backend *backend;
    void *db;                     /* driver connection, NULL until connected */
    int conn_broken;              /* the driver reported the session lost: reconnect */
    char qtable[3 * RT_NAME_MAX * 2]; /* quoted, qualified version table */
    char qlog[3 * RT_NAME_MAX * 2];   /* quoted, qualified audit log table */
    char qschema[2 * RT_NAME_MAX + 3];
    char schema_in_use[RT_NAME_MAX]; /* the schema set, or the default's name */
    /* The driver's templates expanded with those names, by RETORT_SQL_*
     * op, built on first use and dropped when the names change: the
     * statements of every revision's step are not rebuilt per revision. */
    char *sql_cache[RT_SQL_CACHE];
    /* The driver's data version (its data_version member) when the core
     * last knew the version table as it is: after reading it or committing
     * to it.  A begin that finds the same value may skip the re-check. */
    int dv_known;
    unsigned long long dv;

    /* registry, graph (derived, rebuilt after registration), last state read */
    rt_registry reg;
    rt_graph graph;
    rt_state state;
    /* Flyway's repeatable migrations (R__<desc>.sql): registered apart from
     * the revisions, so that no graph, plan or head ever sees them, and
     * their version-table rows (ids "R__<desc>"), read apart from the
     * others (repeatable.c). */
    rt_registry rreg;
    rt_state rstate;

    /* settings */
    char version_table[RT_NAME_MAX];
    char log_table[RT_NAME_MAX + 4];
    char schema[RT_NAME_MAX]; /* "" = the connection's default */
    int lock_timeout_ms;
    int tx_mode;
    int checksum_policy;
    int tolerate_unknown;
    int allow_out_of_order; /* apply revisions that are ancestors of applied ones */
    int log_level;
    retort_log_fn log_fn;
    void *log_user;
    retort_event_fn event_fn; /* per-step events (retort_set_event_fn) */
    void *event_user;

    /* a fresh test target (retort_new_fresh) that retort_free tears down */
    int fresh;        /* made by retort_new_fresh and no operation run yet */
    void (*teardown)(retort *r);
    char *fresh_name; /* the schema created for it (fresh_mode=schema) */
    char *fresh_base; /* the URL retort_new_fresh was given; NULL otherwise */
    int fresh_pending;     /* not created yet: the first operation creates it */
    int fresh_mode_schema; /* fresh_mode=schema: a schema, not a database */
    void *fresh_handle;    /* the driver's (fresh_create) until fresh_drop */
    char *template_key;    /* the template_key setting, NULL when unset */

    /* calls */
    int in_callback; /* a migration callback is running: reentry is misuse */
    int busy;         /* public calls in progress on this context (RT_GUARD) */
    int free_pending; /* retort_free was called during one: the outermost frees */
    int errcode;
    int err_logged;   /* errmsg was delivered to the log at ERROR level */
    rt_buf errmsg;
    rt_buf out;  /* the string most recently returned to the caller */
    rt_buf out2; /* a second returned string, for calls that return two */
};

/* Whether the context's driver has vtable member m (one appended after
 * version 1): its struct reaches that far, a driver built against an older
 * backend.h being shorter, and it sets it. */
#define RT_DRIVER_HAS(r, m)                                                                  \
    ((r)->backend->struct_size >= offsetof(retort_backend, m) + sizeof((r)->backend->m) &&   \
     (r)->backend->m != NULL)

/*
 * A public call that may run the application's code (a migration callback,
 * the log function) starts with RT_GUARD(r): retort_free called from that
 * code then only marks the context, and the outermost guarded call frees it
 * on its way out, after its return value is computed.
 */
retort *rt_guard_enter(retort *r);
void rt_guard_leave(retort **r);
#define RT_GUARD(r)                                                                          \
    retort *rt_guard_ __attribute__((cleanup(rt_guard_leave), unused)) = rt_guard_enter(r)

/* Opens the connection if needed and computes the quoted table names. */
int rt_connect(retort *r);
/* Records that a driver call failed with code; a lost session
 * (RETORT_ECONNECT) makes the next operation reconnect. */
void rt_note_status(retort *r, int code);
/* Drops the expanded templates (the names they were built with changed). */
void rt_forget_sql(retort *r);
/* Computes the quoted, qualified table names from schema_in_use. */
int rt_set_names(retort *r);
/* fresh.c: creates a pending fresh target, empty, and connects to it. */
int rt_fresh_materialize(retort *r);
/* fresh.c: creates a pending fresh target as a clone of the template of
 * the registered migrations (building it first if needed), and connects;
 * *cloned = 1 when it is one (at the heads, by construction), 0 when it
 * fell back to an empty target. */
int rt_fresh_upgrade_from_template(retort *r, int *cloned);

#endif
