/*
 * buf.c — growable string buffer (see buf.h).
 */
#include "buf.h"

#include <stdio.h>
#include <string.h>

#include "memory.h"

static int reserve(rt_buf *b, size_t extra)
{
    if (b->failed)
        return 0;
    if (b->len + extra + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->failed = 1;
            return 0;
        }
        cap *= 2;
    }
    char *data = rt_realloc(b->data, cap);
    if (!data) {
        b->failed = 1;
        return 0;
    }
    b->data = data;
    b->cap = cap;
    return 1;
}

void rt_buf_append_n(rt_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void rt_buf_append(rt_buf *b, const char *s) { rt_buf_append_n(b, s, strlen(s)); }

void rt_buf_append_char(rt_buf *b, char c) { rt_buf_append_n(b, &c, 1); }

void rt_buf_vprintf(rt_buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void rt_buf_printf(rt_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rt_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void rt_buf_reset(rt_buf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data)
        b->data[0] = '\0';
}

void rt_buf_free(rt_buf *b)
{
    rt_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

int rt_buf_failed(const rt_buf *b) { return b->failed; }

const char *rt_buf_str(const rt_buf *b) { return b->data ? b->data : ""; }

char *rt_buf_take(rt_buf *b)
{
    if (b->failed) {
        rt_buf_free(b);
        return NULL;
    }
    char *s = b->data ? b->data : rt_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}
