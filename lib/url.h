/*
 * url.h — the scheme of a database URL, the passwords it carries and its
 * password-free form.  Each driver parses the rest of its own URLs; the core
 * only needs to pick the driver and to never show a password.
 */
#ifndef RT_URL_H
#define RT_URL_H

#include <stddef.h>

#include "redact.h"

/* Copies the scheme (the letters before the first ':', lower-cased) into
 * out; returns its length, or 0 when url has no valid scheme or it does not
 * fit. */
size_t rt_url_scheme(const char *url, char *out, size_t size);

/* Adds to s every value in url that may be a password (redact.h): a URI's
 * userinfo password as libpq reads it and as a careless writer meant it
 * (raw '/', '@', '?' included), query parameters and key=value pairs whose
 * key ends in "password" (percent-encoded keys, quoted values, newlines as
 * separators included), each as written and decoded, and the pieces a
 * parser may show on their own.  Allocation failures mark s failed. */
void rt_url_secrets(const char *url, rt_secrets *s);

/* A copy of url with each of those values replaced by "***".  Caller frees
 * with rt_free; NULL on allocation failure. */
char *rt_url_redact(const char *url);

#endif
