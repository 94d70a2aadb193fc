/*
 * url.c — URL scheme extraction and password redaction (url.h).  Redaction
 * errs on the side of hiding: anything that looks like a password value is
 * replaced, even where a driver would not have read it as one.
 */
#include "url.h"

#include <ctype.h>
#include <string.h>

#include "buf.h"
#include "memory.h"

size_t rt_url_scheme(const char *url, char *out, size_t size)
{
    if (!url || !isalpha((unsigned char)url[0]))
        return 0;
    size_t n = 0;
    while (url[n] && url[n] != ':') {
        unsigned char c = (unsigned char)url[n];
        if (!isalnum(c) && c != '+' && c != '.' && c != '-')
            return 0;
        n++;
    }
    if (url[n] != ':' || n + 1 > size)
        return 0;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)url[i]);
    out[n] = '\0';
    return n;
}

/* Whether s[i..] starts a key=value pair whose key ends in "password"
 * (password, sslpassword, ...) at a key boundary. */
static int password_key_at(const char *s, size_t i)
{
    static const char suffix[] = "password";
    if (i > 0 && !(s[i - 1] == ' ' || s[i - 1] == '\t' || s[i - 1] == '?' || s[i - 1] == '&' ||
                   s[i - 1] == ':'))
        return 0;
    size_t j = i;
    while (isalnum((unsigned char)s[j]) || s[j] == '_')
        j++;
    size_t keylen = j - i, n = sizeof suffix - 1;
    if (keylen < n)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (tolower((unsigned char)s[j - n + k]) != suffix[k])
            return 0;
    while (s[j] == ' ' || s[j] == '\t')
        j++;
    return s[j] == '=';
}

char *rt_url_redact(const char *url)
{
    if (!url)
        return rt_strdup("");
    rt_buf out = RT_BUF_INIT;
    size_t len = strlen(url);
    size_t i = 0;

    /* URI userinfo: scheme://user:password@host — the last '@' of the
     * authority ends it, since a raw '@' may appear in a careless password. */
    const char *sep = strstr(url, "://");
    if (sep) {
        size_t auth = (size_t)(sep - url) + 3;
        size_t end = auth;
        /* libpq reads user:password up to the first '@' before a '/',
         * raw '?' and '#' included: so must we. */
        while (end < len && url[end] != '/')
            end++;
        size_t at = 0;
        int found = 0;
        for (size_t k = auth; k < end; k++)
            if (url[k] == '@') {
                at = k;
                found = 1;
            }
        if (found) {
            size_t colon = auth;
            while (colon < at && url[colon] != ':')
                colon++;
            if (colon < at) {
                rt_buf_append_n(&out, url, colon + 1);
                rt_buf_append(&out, "***");
                i = at;
            }
        }
    }

    while (i < len) {
        if (password_key_at(url, i)) {
            size_t j = i;
            while (url[j] != '=')
                j++;
            rt_buf_append_n(&out, url + i, j + 1 - i);
            j++;
            while (url[j] == ' ' || url[j] == '\t')
                j++;
            if (url[j] == '\'') {
                /* libpq quoted value: backslash escapes, ends at a lone quote */
                j++;
                while (url[j] && url[j] != '\'') {
                    if (url[j] == '\\' && url[j + 1])
                        j++;
                    j++;
                }
                if (url[j] == '\'')
                    j++;
            } else {
                while (url[j] && url[j] != ' ' && url[j] != '\t' && url[j] != '&' &&
                       url[j] != '#')
                    j++;
            }
            rt_buf_append(&out, "***");
            i = j;
            continue;
        }
        rt_buf_append_char(&out, url[i]);
        i++;
    }
    return rt_buf_take(&out);
}
