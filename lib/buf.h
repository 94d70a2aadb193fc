/*
 * buf.h — a growable NUL-terminated string buffer.  An allocation failure is
 * sticky: later appends do nothing and rt_buf_failed() reports it, so that a
 * caller building a long string checks once at the end.
 */
#ifndef RT_BUF_H
#define RT_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct rt_buf {
    char *data; /* NULL until the first append; always NUL-terminated after */
    size_t len;
    size_t cap;
    int failed;
} rt_buf;

#define RT_BUF_INIT {NULL, 0, 0, 0}

void rt_buf_append(rt_buf *b, const char *s);
void rt_buf_append_n(rt_buf *b, const char *s, size_t n);
void rt_buf_append_char(rt_buf *b, char c);
void rt_buf_printf(rt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rt_buf_vprintf(rt_buf *b, const char *fmt, va_list ap);
/* Empties the buffer, keeping its memory and clearing the failure flag. */
void rt_buf_reset(rt_buf *b);
void rt_buf_free(rt_buf *b);
int rt_buf_failed(const rt_buf *b);
/* The contents, "" for an empty buffer; valid until the next change. */
const char *rt_buf_str(const rt_buf *b);
/* Hands the contents to the caller (free with rt_free) and empties b;
 * NULL after a failure. */
char *rt_buf_take(rt_buf *b);

#endif
