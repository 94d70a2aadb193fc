/*
 * redact.c — secret values and hiding them in text (redact.h).  Knows no
 * URL syntax (url.c finds the values) and no driver (drivers report theirs
 * through retort_report_secret, error.c).
 */
#include "redact.h"

#include <string.h>

#include "memory.h"

#define WITHHELD "(message withheld: out of memory while hiding the database password)"

void rt_secrets_add(rt_secrets *s, const char *value, size_t len)
{
    if (!value || len == 0)
        return;
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->v[i]) == len && memcmp(s->v[i], value, len) == 0)
            return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        char **v = rt_reallocarray(s->v, cap, sizeof *v);
        if (!v) {
            s->failed = 1;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    char *copy = rt_strndup(value, len);
    if (!copy) {
        s->failed = 1;
        return;
    }
    s->v[s->n++] = copy;
}

void rt_secrets_merge(rt_secrets *into, const rt_secrets *from)
{
    for (size_t i = 0; i < from->n; i++) {
        size_t n = strlen(from->v[i]);
        int piece = 0;
        for (size_t k = 0; k < into->n && n < RT_SECRET_MIN_PIECE && !piece; k++)
            piece = strlen(into->v[k]) > n && strstr(into->v[k], from->v[i]) != NULL;
        if (!piece)
            rt_secrets_add(into, from->v[i], n);
    }
    if (from->failed)
        into->failed = 1;
}

void rt_secrets_free(rt_secrets *s)
{
    for (size_t i = 0; i < s->n; i++)
        rt_free(s->v[i]);
    rt_free(s->v);
    *s = (rt_secrets)RT_SECRETS_INIT;
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

/*
 * The decoded view of text: %XX read as the byte XX and a backslash as
 * escaping the byte after it, each view byte remembering where its source
 * began (from) and ended (to) in text.  A secret written partly encoded
 * and partly not shows up whole in the view; one written as is, in text.
 */
typedef struct view {
    char *bytes;
    size_t *from, *to;
    size_t len;
} view;

static int view_make(view *v, const char *text, size_t len)
{
    v->bytes = rt_malloc(len + 1);
    v->from = rt_reallocarray(NULL, len + 1, sizeof *v->from);
    v->to = rt_reallocarray(NULL, len + 1, sizeof *v->to);
    v->len = 0;
    if (!v->bytes || !v->from || !v->to)
        return 0;
    for (size_t i = 0; i < len;) {
        size_t start = i;
        char c = text[i];
        if (c == '%' && i + 2 < len && hexval(text[i + 1]) >= 0 && hexval(text[i + 2]) >= 0) {
            c = (char)(hexval(text[i + 1]) * 16 + hexval(text[i + 2]));
            i += 3;
        } else if (c == '\\' && i + 1 < len) {
            c = text[i + 1];
            i += 2;
        } else {
            i++;
        }
        v->bytes[v->len] = c;
        v->from[v->len] = start;
        v->to[v->len] = i;
        v->len++;
    }
    return 1;
}

static void view_free(view *v)
{
    rt_free(v->bytes);
    rt_free(v->from);
    rt_free(v->to);
}

/* Marks in mask (NULL: only reports) every occurrence of needle in hay;
 * returns whether there was one. */
static int mark(const char *hay, size_t hlen, const char *needle, size_t nlen,
                const size_t *from, const size_t *to, unsigned char *mask)
{
    int found = 0;
    if (nlen == 0 || nlen > hlen)
        return 0;
    for (size_t i = 0; i + nlen <= hlen; i++) {
        if (hay[i] != needle[0] || memcmp(hay + i, needle, nlen) != 0)
            continue;
        found = 1;
        if (!mask)
            return 1;
        size_t a = from ? from[i] : i, b = to ? to[i + nlen - 1] : i + nlen;
        memset(mask + a, 1, b - a);
    }
    return found;
}

/* Marks (or, mask NULL, finds) the secrets in text and in its decoded
 * view.  Returns -1 when out of memory, else whether one was found. */
static int scan(const rt_secrets *s, const char *text, size_t len, unsigned char *mask)
{
    view v;
    if (!view_make(&v, text, len)) {
        view_free(&v);
        return -1;
    }
    int found = 0;
    for (size_t k = 0; k < s->n && !(found && !mask); k++) {
        size_t n = strlen(s->v[k]);
        found |= mark(text, len, s->v[k], n, NULL, NULL, mask);
        found |= mark(v.bytes, v.len, s->v[k], n, v.from, v.to, mask);
    }
    view_free(&v);
    return found;
}

int rt_secrets_found(const rt_secrets *s, const char *text, size_t len)
{
    if (s->failed)
        return 1;
    if (s->n == 0 || !text)
        return 0;
    return scan(s, text, len, NULL) != 0;
}

static void withhold(rt_buf *b)
{
    rt_buf_reset(b);
    rt_buf_append(b, WITHHELD);
}

void rt_redact(const rt_secrets *s, rt_buf *b)
{
    if (s->failed) {
        withhold(b);
        return;
    }
    if (s->n == 0 || b->len == 0 || rt_buf_failed(b))
        return;
    size_t len = b->len;
    unsigned char *mask = rt_calloc(len ? len : 1, 1);
    int found = mask ? scan(s, b->data, len, mask) : -1;
    if (found <= 0) {
        rt_free(mask);
        if (found < 0)
            withhold(b);
        return;
    }
    rt_buf out = RT_BUF_INIT;
    for (size_t i = 0; i < len;) {
        if (!mask[i]) {
            rt_buf_append_char(&out, b->data[i++]);
            continue;
        }
        rt_buf_append(&out, "***");
        while (i < len && mask[i])
            i++;
    }
    rt_free(mask);
    if (rt_buf_failed(&out)) {
        rt_buf_free(&out);
        withhold(b);
        return;
    }
    rt_buf_free(b);
    *b = out;
}
