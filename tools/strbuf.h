/*
 * strbuf.h — the command's growable string (the library's rt_buf is
 * internal to it).  An allocation failure is sticky and reported once by
 * sb_failed(), so a long rendering checks at the end.
 */
#ifndef RETORT_TOOL_STRBUF_H
#define RETORT_TOOL_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
    char *data;
    size_t len, cap;
    int failed;
} strbuf;

#define STRBUF_INIT {NULL, 0, 0, 0}

void sb_add_n(strbuf *b, const char *s, size_t n);
void sb_add(strbuf *b, const char *s);
void sb_addc(strbuf *b, char c);
void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sb_failed(const strbuf *b);
/* The contents, "" when empty. */
const char *sb_str(const strbuf *b);
/* Hands the contents over (free()); NULL after a failure.  Empties b. */
char *sb_take(strbuf *b);
void sb_free(strbuf *b);

#endif
