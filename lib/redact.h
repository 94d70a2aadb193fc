/*
 * redact.h — the one path by which credentials are kept out of what retort
 * emits.  A context holds the secret values its URL carries (lib/url.c
 * finds them in every form it can tell; the driver adds those its own
 * parser reads, through retort_report_secret), and every message and log
 * line is passed through rt_redact before anyone sees it: error messages in
 * rt_fail (error.c), log lines in rt_log (log.c), the URL shown in both.
 * Hiding by value, not by position, is what makes it hold where a parser
 * (ours or libpq's) reads a password differently from the way it was meant:
 * the pieces it shows as a host, a port or a database name are hidden too.
 */
#ifndef RT_REDACT_H
#define RT_REDACT_H

#include <stddef.h>

#include "buf.h"

/* A set of secret values.  An allocation failure is sticky (failed), and
 * then rt_redact withholds every message rather than risk showing one. */
typedef struct rt_secrets {
    char **v;
    size_t n, cap;
    int failed;
} rt_secrets;

#define RT_SECRETS_INIT {NULL, 0, 0, 0}

/* A piece of a password (what a parser split off it and may show as a host
 * or a port) shorter than this is not hidden on its own: hiding every "db"
 * or "x" of a message would hide the message.  A whole value always is. */
#define RT_SECRET_MIN_PIECE 4

/* More values than any real URL holds: beyond it, the set is failed (and
 * retort_new refuses the URL) rather than every message scanned for each. */
#define RT_SECRETS_MAX 256

/* Adds a copy of the len bytes at value; an empty value or one already
 * there is not added. */
void rt_secrets_add(rt_secrets *s, const char *value, size_t len);
/* Adds every value of from (and its failure) to into, except a value
 * shorter than RT_SECRET_MIN_PIECE found inside a longer one into already
 * has: a driver's reading of a password the core read longer (libpq stops
 * a URI's password at a raw '@'), hidden as part of it. */
void rt_secrets_merge(rt_secrets *into, const rt_secrets *from);
void rt_secrets_free(rt_secrets *s);

/*
 * Replaces in b every span that reads as one of the secrets by "***": the
 * value byte for byte, or with any of its bytes written as %XX (a URI's
 * percent-encoding) or escaped by a backslash (libpq's key=value quoting).
 * When s failed to record a value, or b cannot be rewritten for lack of
 * memory, b's whole text is replaced by a notice that it was withheld.
 */
void rt_redact(const rt_secrets *s, rt_buf *b);

/* Whether text (len bytes) holds one of the secrets in any of those
 * forms; 1 when s failed to record one (it cannot tell). */
int rt_secrets_found(const rt_secrets *s, const char *text, size_t len);

#endif
