/*
 * log.c — formats a message once and hands it to the context's log callback
 * (or to standard error by default).  Owns no state beyond the context's
 * log settings.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

#include "buf.h"
#include "context.h"

const char *rt_log_level_name(int level)
{
    switch (level) {
    case RETORT_LOG_ERROR: return "error";
    case RETORT_LOG_WARN: return "warn";
    case RETORT_LOG_INFO: return "info";
    case RETORT_LOG_DEBUG: return "debug";
    default: return "log";
    }
}

int rt_log_enabled(const retort *r, int level) { return level <= r->log_level; }

void rt_log(retort *r, int level, const char *fmt, ...)
{
    if (!rt_log_enabled(r, level))
        return;
    rt_buf line = RT_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    rt_buf_vprintf(&line, fmt, ap);
    va_end(ap);
    rt_redact(&r->secrets, &line); /* where every log line passes */
    const char *text = rt_buf_failed(&line) ? "(log message lost: out of memory)" : rt_buf_str(&line);
    if (r->log_fn)
        r->log_fn(level, text, r->log_user);
    else
        fprintf(stderr, "retort: %s: %s\n", rt_log_level_name(level), text);
    rt_buf_free(&line);
}
