/*
 * inspect.c — read-only views for operators and bindings: the version
 * table's rows with their checksum verdict (retort_versions) and the audit
 * log (retort_audit_log).  Both hand rows to a callback with scalar and
 * string arguments only, so that a binding can wrap them without structs.
 */
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "error.h"
#include "runner.h"
#include "version_table.h"

RETORT_API int retort_versions(retort *r, retort_version_fn fn, void *user)
{
    RT_GUARD(r);
    int rc = rt_prepare(r, "retort_versions", 1);
    if (rc != RETORT_OK)
        return rc;
    if (!fn)
        return rt_fail(r, RETORT_EINVAL, "retort_versions: fn is NULL");
    if ((rc = rt_vt_read(r)) != RETORT_OK)
        return rc;
    r->in_callback = 1; /* the callback may not reenter: EMISUSE */
    for (int i = 0; i < r->state.n; i++) {
        const rt_row *row = &r->state.rows[i];
        int flags = 0;
        if (row->rev < 0) {
            flags |= RETORT_ROW_UNKNOWN;
        } else {
            const rt_rev *rev = &r->reg.revs[row->rev];
            if ((rev->flags & RETORT_REV_SQL) && row->checksum && *row->checksum)
                flags |= strcmp(rev->checksum, row->checksum) == 0 ? RETORT_ROW_CHECKSUM_OK
                                                                   : RETORT_ROW_EDITED;
        }
        long ms = row->duration_ms ? strtol(row->duration_ms, NULL, 10) : 0;
        fn(row->id, row->parents ? row->parents : "", row->message ? row->message : "",
           row->state ? row->state : "", row->applied_at ? row->applied_at : "", ms, flags,
           user);
    }
    r->in_callback = 0;
    return RETORT_OK;
}

typedef struct audit_ctx {
    retort_audit_fn fn;
    void *user;
} audit_ctx;

static int audit_row(void *vctx, int ncols, const char *const *v)
{
    audit_ctx *a = vctx;
    if (ncols < 8 || !v[0] || !v[1])
        return 1;
    a->fn(strtol(v[0], NULL, 10), v[1], v[2] ? v[2] : "", v[3] ? v[3] : "", v[4] ? v[4] : "",
          v[5] ? v[5] : "", v[6] ? v[6] : "", v[7] ? (int)strtol(v[7], NULL, 10) : -1, a->user);
    return 0;
}

RETORT_API int retort_audit_log(retort *r, retort_audit_fn fn, void *user)
{
    RT_GUARD(r);
    int rc = rt_prepare(r, "retort_audit_log", 1);
    if (rc != RETORT_OK)
        return rc;
    if (!fn)
        return rt_fail(r, RETORT_EINVAL, "retort_audit_log: fn is NULL");
    struct retort_report rep;
    rt_report_init(&rep);
    int exists = 0;
    rc = r->backend->table_exists(r->db, r->schema_in_use, r->log_table, &exists, &rep);
    if (rc != RETORT_OK) {
        rc = rt_fail_report(r, &rep, RETORT_EDB, "cannot read the audit log");
        rt_report_free(&rep);
        return rc;
    }
    if (!exists) {
        rt_report_free(&rep);
        return RETORT_OK;
    }
    int oom = 0;
    const char *sql = rt_vt_sql(r, RETORT_SQL_SELECT_LOG, &oom);
    if (!sql) {
        rt_report_free(&rep);
        return oom ? rt_fail(r, RETORT_ENOMEM, "out of memory")
                   : rt_fail(r, RETORT_EINVAL,
                             "retort_audit_log: the %s backend has no statement to read the "
                             "audit log",
                             r->backend->name);
    }
    audit_ctx a = {fn, user};
    r->in_callback = 1;
    rc = r->backend->query(r->db, sql, 0, NULL, audit_row, &a, &rep);
    r->in_callback = 0;
    if (rc != RETORT_OK)
        rc = rt_fail_report(r, &rep, RETORT_EDB, "cannot read the audit log");
    rt_report_free(&rep);
    return rc;
}
