/*
 * error.h — how the core records failures on a context and how drivers
 * report theirs (retort_report), so that every message has the same shape:
 * what failed, the thing at fault, then the database's own text.
 */
#ifndef RT_ERROR_H
#define RT_ERROR_H

#include "buf.h"
#include "redact.h"

typedef struct retort retort;

/* What a driver fills through retort_report_error(). */
struct retort_report {
    int code;
    rt_buf message;
    rt_secrets secrets; /* retort_report_secret(): the core adds them to the context's */
};

void rt_report_init(struct retort_report *rep);
void rt_report_free(struct retort_report *rep);
/* The driver's message, or a generic one if it reported nothing. */
const char *rt_report_message(const struct retort_report *rep);
int rt_report_code(const struct retort_report *rep, int fallback);

/* Starts a public call: clears the previous error. */
void rt_clear_error(retort *r);
/* Records a failure and returns code, so callers write `return rt_fail(...)`.
 * Every secret of the context is hidden in the message (redact.h): this is
 * where each error message of the library is stored. */
int rt_fail(retort *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Records a driver failure: "<what>: <driver message>", code from the report. */
int rt_fail_report(retort *r, struct retort_report *rep, int fallback, const char *what);

#endif
