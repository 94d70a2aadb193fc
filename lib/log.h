/*
 * log.h — leveled, pre-formatted log messages to the context's callback.
 * Messages must never contain a password: callers log the redacted URL, and
 * rt_log hides every secret of the context in the line it delivers.
 */
#ifndef RT_LOG_H
#define RT_LOG_H

typedef struct retort retort;

void rt_log(retort *r, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Whether a message at level would be delivered (skip expensive formatting). */
int rt_log_enabled(const retort *r, int level);
const char *rt_log_level_name(int level);

#endif
