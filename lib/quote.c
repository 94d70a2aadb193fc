/*
 * quote.c — quoting of identifiers, string literals, dollar-quote tags and
 * comment text (quote.h).  The dialect's own rules come from the driver's
 * quote_ident and quote_literal; this file owns the fallbacks and the rules
 * that hold in every dialect.  It must not learn any one dialect's syntax.
 */
#include "quote.h"

#include <stdio.h>
#include <string.h>

#include "memory.h"

static void ansi_quote(const char *s, char q, rt_buf *out)
{
    rt_buf_append_char(out, q);
    for (const char *p = s; *p; p++) {
        if (*p == q)
            rt_buf_append_char(out, q);
        rt_buf_append_char(out, *p);
    }
    rt_buf_append_char(out, q);
}

/* Calls a driver's snprintf-like quoting member into out. */
static void driver_quote(size_t (*fn)(const char *, char *, size_t), const char *s, rt_buf *out)
{
    char small[256];
    size_t need = fn(s, small, sizeof small);
    if (need < sizeof small) {
        rt_buf_append_n(out, small, need);
        return;
    }
    /* A driver out of memory answers with a size nothing can allocate
     * (SIZE_MAX / 2): the quoting fails here, without asking the allocator
     * for it (which sanitizers report as an error of their own). */
    if (need >= (size_t)-1 / 2) {
        out->failed = 1;
        return;
    }
    char *big = rt_malloc(need + 1);
    if (!big) {
        out->failed = 1;
        return;
    }
    fn(s, big, need + 1);
    rt_buf_append_n(out, big, need);
    rt_free(big);
}

void rt_quote_ident(const retort_backend *be, const char *name, rt_buf *out)
{
    if (be && be->quote_ident)
        driver_quote(be->quote_ident, name, out);
    else
        ansi_quote(name, '"', out);
}

void rt_quote_literal(const retort_backend *be, const char *value, rt_buf *out)
{
    if (!value) {
        rt_buf_append(out, "NULL");
        return;
    }
    /* Registration checked that the struct is as long as its version. */
    if (be && be->abi_version >= 3 && be->quote_literal)
        driver_quote(be->quote_literal, value, out);
    else
        ansi_quote(value, '\'', out);
}

int rt_dollar_tag(const char *body, char *tag, size_t size)
{
    char probe[32];
    for (unsigned n = 0;; n++) {
        int len = n ? snprintf(probe, sizeof probe, "$retort%u", n)
                    : snprintf(probe, sizeof probe, "$retort");
        /* "$T" absent: neither $T$ nor a $T that the closing $ would
         * complete can occur, so the body ends at the closing tag. */
        if (!strstr(body, probe)) {
            if ((size_t)len > size)
                return 0;
            memcpy(tag, probe + 1, (size_t)len); /* without the $, with the NUL */
            return 1;
        }
    }
}

void rt_quote_comment(const char *text, rt_buf *out)
{
    for (const char *p = text; *p; p++)
        rt_buf_append_char(out, *p == '\n' || *p == '\r' ? ' ' : *p);
}
