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
    if (s->n >= RT_SECRETS_MAX) {
        s->failed = 1;
        return;
    }
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

static int is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/*
 * A reading of text in which every run of white space is one ' ' (drivers
 * fold a message onto one line; libpq's own text does too) and, when
 * decode, %XX is the byte XX and a backslash escapes the byte after it.
 * Each byte of the reading remembers where its source began (from) and
 * ended (to) in text, so that a match is hidden where it was written.  A
 * secret written partly encoded and partly not shows up whole in the
 * decoded reading; one written as is, in the plain one.
 */
typedef struct view {
    char *bytes;
    size_t *from, *to;
    size_t len;
} view;

static int view_make(view *v, const char *text, size_t len, int decode)
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
        if (decode && c == '%' && i + 2 < len && hexval(text[i + 1]) >= 0 &&
            hexval(text[i + 2]) >= 0) {
            c = (char)(hexval(text[i + 1]) * 16 + hexval(text[i + 2]));
            i += 3;
        } else if (decode && c == '\\' && i + 1 < len) {
            c = text[i + 1];
            i += 2;
        } else {
            i++;
        }
        if (is_space(c)) {
            c = ' ';
            if (v->len && v->bytes[v->len - 1] == ' ') {
                v->to[v->len - 1] = i; /* one space for the whole run */
                continue;
            }
        }
        v->bytes[v->len] = c;
        v->from[v->len] = start;
        v->to[v->len] = i;
        v->len++;
    }
    v->bytes[v->len] = '\0';
    return 1;
}

static void view_free(view *v)
{
    rt_free(v->bytes);
    rt_free(v->from);
    rt_free(v->to);
}

/* Marks in mask (NULL: only reports) the source of every occurrence of
 * needle in the reading; returns whether there was one. */
static int mark(const view *v, const char *needle, size_t nlen, unsigned char *mask)
{
    int found = 0;
    if (nlen == 0 || nlen > v->len)
        return 0;
    for (size_t i = 0; i + nlen <= v->len; i++) {
        if (v->bytes[i] != needle[0] || memcmp(v->bytes + i, needle, nlen) != 0)
            continue;
        found = 1;
        if (!mask)
            return 1;
        memset(mask + v->from[i], 1, v->to[i + nlen - 1] - v->from[i]);
    }
    return found;
}

/* Marks (or, mask NULL, finds) the secrets in both readings of text: each
 * secret with its white space folded the same way, as long as folding
 * leaves more than white space.  Returns -1 when out of memory, else
 * whether one was found. */
static int scan(const rt_secrets *s, const char *text, size_t len, unsigned char *mask)
{
    view plain = {0}, decoded = {0}, secret = {0};
    int ok = view_make(&plain, text, len, 0) && view_make(&decoded, text, len, 1);
    int found = ok ? 0 : -1;
    for (size_t k = 0; ok && k < s->n && !(found && !mask); k++) {
        size_t n = strlen(s->v[k]);
        if (!view_make(&secret, s->v[k], n, 0)) {
            view_free(&secret);
            found = -1;
            break;
        }
        const char *needle = secret.bytes;
        size_t nlen = secret.len;
        /* " x " must not hide every " x "... but a lone space would hide
         * all of them: trim the folded ends, keep the secret if it has
         * anything else. */
        while (nlen && *needle == ' ')
            needle++, nlen--;
        while (nlen && needle[nlen - 1] == ' ')
            nlen--;
        if (nlen) {
            found |= mark(&plain, needle, nlen, mask);
            found |= mark(&decoded, needle, nlen, mask);
        }
        view_free(&secret);
    }
    view_free(&plain);
    view_free(&decoded);
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
