/*
 * url.h — the scheme of a database URL and its password-free form.  Each
 * driver parses the rest of its own URLs; the core only needs to pick the
 * driver and to never show a password.
 */
#ifndef RT_URL_H
#define RT_URL_H

#include <stddef.h>

/* Copies the scheme (the letters before the first ':', lower-cased) into
 * out; returns its length, or 0 when url has no valid scheme or it does not
 * fit. */
size_t rt_url_scheme(const char *url, char *out, size_t size);

/* A copy of url with every password replaced by "***": the userinfo
 * password of a URI, and password=... in a query string or a libpq
 * key=value string.  Caller frees with rt_free; NULL on allocation failure. */
char *rt_url_redact(const char *url);

#endif
