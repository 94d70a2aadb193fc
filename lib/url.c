/*
 * url.c — URL scheme extraction and the passwords a URL carries (url.h).
 * Finding them errs on the side of hiding: anything that may be a password
 * value, as libpq reads the URL or as a careless writer meant it, is one.
 * Hiding them is redact.c's.
 */
#include "url.h"

#include <ctype.h>
#include <string.h>

#include "buf.h"
#include "memory.h"
#include "redact.h"

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

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes (uri) and/or backslash-unescapes (kv) n bytes at p into
 * out (n + 1 bytes); returns the decoded length. */
static size_t decode(const char *p, size_t n, int uri, int kv, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (uri && p[i] == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
            out[k++] = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
            i += 2;
        } else if (kv && p[i] == '\\' && i + 1 < n) {
            out[k++] = p[++i];
        } else {
            out[k++] = p[i];
        }
    }
    out[k] = '\0';
    return k;
}

#define MIN_PIECE RT_SECRET_MIN_PIECE

/* Adds the n bytes at p and, where a parser may have split them at one of
 * delims and shown a piece as a host, a port or an option, each piece. */
static void add_split(rt_secrets *s, const char *p, size_t n, const char *delims)
{
    rt_secrets_add(s, p, n);
    size_t a = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && !strchr(delims, p[i]))
            continue;
        if (i - a >= MIN_PIECE && i - a < n)
            rt_secrets_add(s, p + a, i - a);
        a = i + 1;
    }
}

/* Adds a password value as written and as each parser would decode it
 * (percent-decoded, backslash-unescaped, both), with their pieces. */
static void add_value(rt_secrets *s, const char *p, size_t n, const char *delims)
{
    add_split(s, p, n, delims);
    char *d = rt_malloc(n + 1);
    if (!d) {
        s->failed = 1;
        return;
    }
    for (int form = 1; form <= 3; form++)
        add_split(s, d, decode(p, n, form & 1, form & 2, d), delims);
    rt_free(d);
}

/* Whether the key (n bytes at p), percent-decoded, ends in "password"
 * (password, sslpassword, ...), in any case. */
static int password_key(const char *p, size_t n)
{
    static const char suffix[] = "password";
    char key[128];
    if (n == 0 || n >= sizeof key)
        return 0;
    size_t k = decode(p, n, 1, 0, key), m = sizeof suffix - 1;
    if (k < m)
        return 0;
    for (size_t i = 0; i < m; i++)
        if (tolower((unsigned char)key[k - m + i]) != suffix[i])
            return 0;
    return 1;
}

static int is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static int keyword_char(int c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

/* Whether p starts "key=" or "key =" (the next pair of a key=value string,
 * or of a query string when amp), key being what libpq's keywords are made
 * of: lower-case letters, digits and '_', a letter first, in a query
 * string also those percent-encoded (libpq decodes a URI's keys, not a
 * key=value string's).
 * Any other word is taken for more of a password that held a raw '&' or
 * space: "%41=" after a space is no keyword libpq knows. */
static int pair_starts(const char *p, int amp)
{
    size_t i = 0;
    int first = 0;
    for (;;) {
        int c;
        size_t n;
        if (keyword_char(p[i]))
            c = p[i], n = 1;
        else if (amp && p[i] == '%' && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0 &&
                 keyword_char(hexval(p[i + 1]) * 16 + hexval(p[i + 2])))
            c = hexval(p[i + 1]) * 16 + hexval(p[i + 2]), n = 3;
        else
            break;
        if (i == 0)
            first = c;
        i += n;
    }
    /* Every keyword libpq knows starts with a letter: "999999=" is more
     * password, not the next pair. */
    if (i == 0 || !(first >= 'a' && first <= 'z'))
        return 0;
    if (!amp)
        while (is_space(p[i]))
            i++;
    return p[i] == '=';
}

static void uri_secrets(const char *url, size_t auth, rt_secrets *s);

/* libpq's key=value form: pairs separated by white space (newlines
 * included), values quoted with '...' or bare, backslash escapes in both.
 * A bare password followed by words that do not start a pair is taken to
 * run on over them: libpq would read them as broken pairs and may show
 * them. */
static void kv_secrets(const char *p, rt_secrets *s, int depth)
{
    while (*p) {
        while (is_space(*p))
            p++;
        const char *key = p;
        while (*p && *p != '=' && !is_space(*p))
            p++;
        size_t keylen = (size_t)(p - key);
        while (is_space(*p))
            p++;
        if (*p != '=') {
            if (keylen == 0 && *p)
                p++;
            continue;
        }
        p++;
        while (is_space(*p))
            p++;
        const char *v = p;
        if (*p == '\'') {
            p++;
            while (*p && *p != '\'') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            if (*p)
                p++;
        } else {
            while (*p && !is_space(*p)) {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
        }
        const char *end = p;
        if (memchr(v, '=', (size_t)(end - v))) {
            /* A quote left open swallows the pairs after it, and
             * "key= password=x" gives key the value "password=x": libpq
             * shows such a value whole, so read inside it too. */
            int quoted = *v == '\'';
            char *inner = rt_strndup(v + quoted, (size_t)(end - v - quoted));
            if (!inner)
                s->failed = 1;
            else if (depth < 4)
                kv_secrets(inner, s, depth + 1);
            rt_free(inner);
        }
        int secret = password_key(key, keylen);
        if (secret) {
            /* Run on over words that start no pair. */
            for (;;) {
                const char *q = end;
                while (is_space(*q))
                    q++;
                if (!*q || pair_starts(q, 0))
                    break;
                while (*q && !is_space(*q))
                    q++;
                end = q;
            }
            p = end;
            const char *inner = v, *inner_end = end;
            if (*v == '\'') {
                inner++;
                if (inner_end > inner && inner_end[-1] == '\'')
                    inner_end--;
            }
            add_value(s, v, (size_t)(end - v), " \t\n\r\f\v'&#");
            add_value(s, inner, (size_t)(inner_end - inner), " \t\n\r\f\v'&#");
        }
        /* A value may itself be a URI (dbname=postgresql://...). */
        const char *uri = NULL;
        for (const char *q = v; q + 3 <= end && !uri; q++)
            if (q[0] == ':' && q[1] == '/' && q[2] == '/')
                uri = q;
        if (uri) {
            char *copy = rt_strndup(v, (size_t)(end - v));
            if (!copy)
                s->failed = 1;
            else
                uri_secrets(copy, (size_t)(uri - v) + 3, s);
            rt_free(copy);
        }
    }
}

/*
 * A URI's passwords, read three ways, all kept: as libpq reads the userinfo
 * (up to the first '@' or '/'); as a careless writer meant it (up to the
 * last '@' before the query, so a raw '/' or '@' in the password stays in
 * it); and up to the last '@' at all (a raw '?' too).  Then every query parameter whose key, decoded,
 * ends in "password".
 */
static void uri_secrets(const char *url, size_t auth, rt_secrets *s)
{
    static const char delims[] = "@/:?#&=,[]";
    size_t len = strlen(url), found = 0;

    /* The careless reading first: libpq's, when it differs, is its first
     * piece (up to a '@' or a '/'), hidden as a piece. */
    size_t q = auth;
    while (q < len && url[q] != '?')
        q++;
    const char *at = NULL;
    for (size_t k = auth; k < q; k++)
        if (url[k] == '@')
            at = url + k;
    if (at) {
        const char *colon = memchr(url + auth, ':', (size_t)(at - url) - auth);
        if (colon) {
            add_value(s, colon + 1, (size_t)(at - colon - 1), delims);
            found = 1;
        }
    }

    size_t e = auth;
    while (e < len && url[e] != '@' && url[e] != '/')
        e++;
    if (!found && e < len && url[e] == '@') {
        const char *colon = memchr(url + auth, ':', e - auth);
        if (colon) {
            add_value(s, colon + 1, (size_t)(url + e - colon - 1), delims);
            found = 1;
        }
    }

    /* Always, not only when the others found nothing: a password may hold
     * a raw '?' before a raw '@' ("app:a&@b?c@host"), where both readings
     * above stop early and leave the rest showing.  The price is that a
     * URL with an '@' in its query shows less of itself. */
    {
        const char *last = strrchr(url + auth, '@');
        const char *colon = last ? memchr(url + auth, ':', (size_t)(last - url) - auth) : NULL;
        /* Even when digits follow the colon, as a port's would: in
         * "app:888/x?y@host" they are as likely a password's first piece,
         * and hiding a port costs less than showing a password. */
        if (colon && url[auth] != '[')
            add_value(s, colon + 1, (size_t)(last - colon - 1), delims);
    }

    for (size_t k = auth; k < len; k++) {
        if (url[k] != '?' && url[k] != '&')
            continue;
        size_t key = k + 1, ke = key;
        while (ke < len && url[ke] != '=' && url[ke] != '&' && url[ke] != '?' && url[ke] != '/')
            ke++;
        if (ke >= len || url[ke] != '=' || !password_key(url + key, ke - key))
            continue;
        /* The value runs to the next "&name=" or the end: a raw '&' in a
         * password does not end it. */
        size_t v = ke + 1, ve = v;
        while (ve < len && !(url[ve] == '&' && pair_starts(url + ve + 1, 1)))
            ve++;
        add_value(s, url + v, ve - v, "&=#?");
        k = ve - 1; /* a '?' or '&' inside the value starts no key */
    }
}

void rt_url_secrets(const char *url, rt_secrets *s)
{
    char scheme[32];
    size_t n = rt_url_scheme(url, scheme, sizeof scheme);
    if (!url || n == 0) {
        /* No scheme: nothing says which form; read it both ways. */
        if (url && strstr(url, "://"))
            uri_secrets(url, (size_t)(strstr(url, "://") - url) + 3, s);
        if (url)
            kv_secrets(url, s, 0);
        return;
    }
    if (strncmp(url + n + 1, "//", 2) != 0) {
        kv_secrets(url + n + 1, s, 0);
        return;
    }
    uri_secrets(url, n + 3, s);
    /* A URI holds no white space: pairs after some (" password=...",
     * pasted after it) are shown with it, whatever libpq makes of them. */
    const char *ws = url + n + 3;
    while (*ws && !is_space(*ws))
        ws++;
    if (*ws)
        kv_secrets(ws, s, 0);
}

char *rt_url_redact(const char *url)
{
    if (!url)
        return rt_strdup("");
    rt_secrets s = RT_SECRETS_INIT;
    rt_url_secrets(url, &s);
    rt_buf out = RT_BUF_INIT;
    rt_buf_append(&out, url);
    rt_redact(&s, &out);
    rt_secrets_free(&s);
    return rt_buf_take(&out);
}
