/*
 * error.c — status strings and the per-context error message.  The message
 * buffer lives in the context (context.h); this file only fills it.
 */
#include "error.h"

#include <stdarg.h>
#include <string.h>

#include "context.h"
#include "retort/backend.h"

static const char *const status_text[] = {
    [RETORT_OK] = "success",
    [RETORT_ERROR] = "error",
    [RETORT_EINVAL] = "invalid argument",
    [RETORT_ENOMEM] = "out of memory",
    [RETORT_EEXIST] = "revision already registered",
    [RETORT_EGRAPH] = "invalid revision graph",
    [RETORT_ETARGET] = "invalid or ambiguous target",
    [RETORT_EURL] = "invalid database URL",
    [RETORT_ECONNECT] = "could not connect to the database",
    [RETORT_EDB] = "database error",
    [RETORT_EMIGRATION] = "migration failed",
    [RETORT_EIRREVERSIBLE] = "irreversible revision in downgrade",
    [RETORT_EUNKNOWN] = "database holds a revision the registry does not know",
    [RETORT_EDIRTY] = "database is dirty after a failed non-transactional revision",
    [RETORT_ECHECKSUM] = "applied migration text has changed",
    [RETORT_ELOCK] = "timed out waiting for a lock",
    [RETORT_EOFFLINE] = "migration needs a live connection",
    [RETORT_EIO] = "file input/output error",
    [RETORT_EPARSE] = "malformed file",
    [RETORT_EMISUSE] = "call not allowed here",
    [RETORT_ENOTFOUND] = "not found",
    [RETORT_EPENDING] = "revisions pending",
    [RETORT_EBACKEND] = "backend registration rejected",
    [RETORT_ECHECKFAIL] = "migration check failed",
    [RETORT_EDRIFT] = "database schema differs from the declared schema",
};

RETORT_API const char *retort_strerror(int code)
{
    if (code < 0 || (size_t)code >= sizeof status_text / sizeof status_text[0] ||
        !status_text[code])
        return "unknown status";
    return status_text[code];
}

void rt_report_init(struct retort_report *rep)
{
    rep->code = RETORT_OK;
    rep->message = (rt_buf)RT_BUF_INIT;
    rep->secrets = (rt_secrets)RT_SECRETS_INIT;
}

void rt_report_free(struct retort_report *rep)
{
    rt_buf_free(&rep->message);
    rt_secrets_free(&rep->secrets);
}

const char *rt_report_message(const struct retort_report *rep)
{
    if (rep->message.len)
        return rt_buf_str(&rep->message);
    return "the driver reported no detail";
}

int rt_report_code(const struct retort_report *rep, int fallback)
{
    return rep->code != RETORT_OK ? rep->code : fallback;
}

RETORT_API void retort_report_error(retort_report *rep, int code, const char *message)
{
    if (!rep)
        return;
    rep->code = code != RETORT_OK ? code : RETORT_EDB;
    rt_buf_reset(&rep->message);
    rt_buf_append(&rep->message, message ? message : "");
    /* Drivers hand us libpq/SQLite text that often ends in a newline. */
    while (rep->message.len && (rep->message.data[rep->message.len - 1] == '\n' ||
                                rep->message.data[rep->message.len - 1] == ' '))
        rep->message.data[--rep->message.len] = '\0';
}

RETORT_API void retort_report_secret(retort_report *rep, const char *value)
{
    if (rep && value)
        rt_secrets_add(&rep->secrets, value, strlen(value));
}

void rt_clear_error(retort *r)
{
    r->errcode = RETORT_OK;
    r->err_logged = 0;
    rt_buf_reset(&r->errmsg);
}

int rt_fail(retort *r, int code, const char *fmt, ...)
{
    r->errcode = code;
    r->err_logged = 0;
    rt_buf_reset(&r->errmsg);
    va_list ap;
    va_start(ap, fmt);
    rt_buf_vprintf(&r->errmsg, fmt, ap);
    va_end(ap);
    rt_redact(&r->secrets, &r->errmsg);
    if (rt_buf_failed(&r->errmsg))
        r->errcode = RETORT_ENOMEM;
    return r->errcode;
}

int rt_fail_report(retort *r, struct retort_report *rep, int fallback, const char *what)
{
    int code = rt_report_code(rep, fallback);
    rt_note_status(r, code);
    return rt_fail(r, code, "%s: %s", what, rt_report_message(rep));
}

RETORT_API const char *retort_errmsg(const retort *r)
{
    if (!r)
        return "out of memory";
    if (rt_buf_failed(&r->errmsg))
        return retort_strerror(RETORT_ENOMEM);
    if (r->errcode != RETORT_OK && r->errmsg.len == 0)
        return retort_strerror(r->errcode);
    return rt_buf_str(&r->errmsg);
}

RETORT_API int retort_errcode(const retort *r) { return r ? r->errcode : RETORT_ENOMEM; }
