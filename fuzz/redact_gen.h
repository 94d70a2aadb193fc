/*
 * redact_gen.h — the property that no password reaches any output, as data:
 * builds a password from a hostile alphabet, a database URL around it in one
 * of the ways people write them (URI userinfo or query, key=value, encoded
 * or raw, quoted or not, with newlines, tabs and odd case), and a retort.ini
 * around the URL (well-formed or in the malformed shapes people write), all
 * from a stream of choices; and the check that a text shows no piece of the
 * password, as written or decoded.  Shared by fuzz/fuzz_redact.c, where
 * libFuzzer makes the choices, and tests/hostile/test_redaction.c, where a
 * fixed pseudo-random stream does, in the ordinary test suite.
 *
 * Why a password is built as it is: it must be recognisable in any output
 * whatever the choices, so it is runs of "canary" characters (upper-case
 * QXZJKVW, 8, 9, and multi-byte é € 🔑, which no message of retort, libpq or
 * the server writes six of in a row) separated by the characters parsers
 * split on or trip over.  Any six bytes of a run found in an output, or in
 * its %XX- or backslash-decoded reading, is a leak.
 */
#ifndef RETORT_REDACT_GEN_H
#define RETORT_REDACT_GEN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RG_WINDOW 6 /* bytes of a canary run that make a leak */

typedef struct rg_src {
    const uint8_t *data; /* the fuzzer's input, then ... */
    size_t size, pos;
    uint32_t seed;       /* ... a linear congruential stream */
} rg_src;

static inline unsigned rg_pick(rg_src *s, unsigned n)
{
    unsigned v;
    if (s->pos < s->size) {
        v = s->data[s->pos++];
    } else {
        s->seed = s->seed * 1103515245u + 12345u;
        v = s->seed >> 16;
    }
    return n ? v % n : 0;
}

static const char *const rg_canary[] = {"Q", "X", "Z", "J", "K", "V", "W", "8", "9",
                                        "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x94\x91"};
static const char *const rg_hostile[] = {"/", "@", "&", "#", "?", "=", "'", "\"", "\\", " ",
                                         "\n", "\t", ":", "%", ",", ";", "[", "]", "+", "$",
                                         "%41", "%zz", "\r", "@@", "//", "\\'", "''", "%%"};
#define RG_N(a) (sizeof(a) / sizeof((a)[0]))

enum {
    RG_URI_USERINFO_ENCODED, /* postgresql://u:ENC@h:p/d */
    RG_URI_USERINFO_RAW,     /* postgresql://u:RAW@h:p/d (careless) */
    RG_URI_QUERY_ENCODED,    /* postgresql://u@h:p/d?password=ENC, key maybe encoded */
    RG_URI_QUERY_RAW,        /* ...?password=RAW&... (careless) */
    RG_KV_QUOTED,            /* postgresql:host=h ... password='ESC' */
    RG_KV_RAW,               /* postgresql:... password=RAW (careless) */
    RG_NFORMS
};

/* Whether the form hands libpq the password intact (usable to log in). */
static inline int rg_form_is_careful(int form)
{
    return form == RG_URI_USERINFO_ENCODED || form == RG_URI_QUERY_ENCODED ||
           form == RG_KV_QUOTED;
}

typedef struct rg_case {
    char password[512];
    /* The canary runs of the password, NUL-separated, and their count. */
    char runs[512];
    int nruns;
    int form;
    char url[2048];
    char ini[2560];
} rg_case;

static inline void rg_cat(char *dst, size_t size, const char *s)
{
    size_t n = strlen(dst);
    if (n + 1 < size)
        snprintf(dst + n, size - n, "%s", s);
}

/* The password: canary runs of 6 to 10 characters with 0 to 3 hostile
 * separators between them. */
static inline void rg_password(rg_src *s, rg_case *c)
{
    c->password[0] = '\0';
    size_t rl = 0;
    c->nruns = 0;
    int nruns = 1 + (int)rg_pick(s, 3);
    for (int r = 0; r < nruns; r++) {
        if (r > 0) {
            int nsep = 1 + (int)rg_pick(s, 3);
            for (int k = 0; k < nsep; k++)
                rg_cat(c->password, sizeof c->password, rg_hostile[rg_pick(s, RG_N(rg_hostile))]);
        }
        char run[128] = "";
        int len = 6 + (int)rg_pick(s, 5);
        for (int k = 0; k < len; k++)
            rg_cat(run, sizeof run, rg_canary[rg_pick(s, RG_N(rg_canary))]);
        rg_cat(c->password, sizeof c->password, run);
        size_t n = strlen(run);
        if (rl + n + 1 <= sizeof c->runs) {
            memcpy(c->runs + rl, run, n + 1);
            rl += n + 1;
            c->nruns++;
        }
    }
}

static inline void rg_encoded(rg_src *s, const char *pw, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    out[0] = '\0';
    for (const unsigned char *p = (const unsigned char *)pw; *p; p++) {
        int unreserved = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                         (*p >= '0' && *p <= '9') || strchr("-._~", *p);
        char piece[4] = {(char)*p, 0, 0, 0};
        if (!unreserved || rg_pick(s, 4) == 0) {
            piece[0] = '%';
            piece[1] = hex[*p >> 4];
            piece[2] = hex[*p & 15];
        }
        rg_cat(out, size, piece);
    }
}

/* libpq's quoting inside '...': a backslash before ' and \, and now and
 * then before any other byte (which libpq also reads as that byte). */
static inline void rg_quoted(rg_src *s, const char *pw, char *out, size_t size)
{
    out[0] = '\0';
    for (const char *p = pw; *p; p++) {
        char piece[3] = {*p, 0, 0};
        if (*p == '\'' || *p == '\\' || rg_pick(s, 8) == 0) {
            piece[0] = '\\';
            piece[1] = *p;
        }
        rg_cat(out, size, piece);
    }
}

/*
 * The URL for host:port, user and dbname (NULL: left out) around
 * c->password, in form (-1: chosen), with the malformation appended when
 * malformed (something libpq refuses to parse).
 */
static inline void rg_url(rg_src *s, rg_case *c, int form, const char *host, const char *port,
                          const char *user, const char *db, int malformed)
{
    if (form < 0)
        form = (int)rg_pick(s, RG_NFORMS);
    c->form = form;
    char *u = c->url;
    size_t us = sizeof c->url;
    u[0] = '\0';
    char enc[1600];
    if (form <= RG_URI_QUERY_RAW) {
        static const char *const schemes[] = {"postgresql://", "postgres://", "POSTGRESQL://"};
        rg_cat(u, us, schemes[rg_pick(s, 3)]);
        if (form == RG_URI_USERINFO_ENCODED || form == RG_URI_USERINFO_RAW) {
            if (form == RG_URI_USERINFO_ENCODED)
                rg_encoded(s, c->password, enc, sizeof enc);
            else
                snprintf(enc, sizeof enc, "%s", c->password);
            rg_cat(u, us, user ? user : "app");
            rg_cat(u, us, ":");
            rg_cat(u, us, enc);
            rg_cat(u, us, "@");
        } else if (user) {
            rg_cat(u, us, user);
            rg_cat(u, us, "@");
        }
        rg_cat(u, us, host);
        rg_cat(u, us, ":");
        rg_cat(u, us, port);
        rg_cat(u, us, "/");
        rg_cat(u, us, db ? db : "");
        rg_cat(u, us, "?connect_timeout=3");
        if (form == RG_URI_QUERY_ENCODED || form == RG_URI_QUERY_RAW) {
            static const char *const keys[] = {"password", "pass%77ord", "%70assword",
                                               "%70%61%73%73%77%6F%72%64"};
            if (form == RG_URI_QUERY_ENCODED)
                rg_encoded(s, c->password, enc, sizeof enc);
            else
                snprintf(enc, sizeof enc, "%s", c->password);
            rg_cat(u, us, "&");
            rg_cat(u, us, keys[rg_pick(s, form == RG_URI_QUERY_ENCODED ? 4 : 1)]);
            rg_cat(u, us, "=");
            rg_cat(u, us, enc);
            if (rg_pick(s, 2))
                rg_cat(u, us, "&application_name=redact");
        }
        if (malformed)
            rg_cat(u, us, rg_pick(s, 2) ? "&novalue" : "&x=%zz");
    } else {
        static const char *const seps[] = {" ", "\n", "\t", "  ", "\r\n"};
        static const char *const eqs[] = {"=", " = ", "=\n", "\t=\t"};
        static const char *const schemes[] = {"postgresql:", "postgres:", "PostgreSQL:"};
        rg_cat(u, us, schemes[rg_pick(s, 3)]);
        const char *keys[5] = {"host", "port", "user", "dbname", "password"};
        const char *vals[5] = {host, port, user, db, NULL};
        if (form == RG_KV_QUOTED) {
            char q[1500];
            rg_quoted(s, c->password, q, sizeof q);
            snprintf(enc, sizeof enc, "'%s'", q);
        } else {
            snprintf(enc, sizeof enc, "%s", c->password);
        }
        vals[4] = enc;
        /* The password goes first, last or in between. */
        int at = (int)rg_pick(s, 5), first = 1;
        for (int i = 0; i < 5; i++) {
            int k = i == at ? 4 : (i == 4 ? at : i);
            if (!vals[k])
                continue;
            if (!first)
                rg_cat(u, us, seps[rg_pick(s, RG_N(seps))]);
            first = 0;
            rg_cat(u, us, keys[k]);
            rg_cat(u, us, eqs[rg_pick(s, RG_N(eqs))]);
            rg_cat(u, us, vals[k]);
        }
        rg_cat(u, us, " connect_timeout=3");
        if (malformed)
            rg_cat(u, us, rg_pick(s, 2) ? " 'unterminated" : " novalue");
    }
}

/* A retort.ini around c->url: well-formed, or malformed the ways people
 * write them (no header, "url:", header and setting on one line, no '='). */
static inline void rg_ini(rg_src *s, rg_case *c)
{
    static const char *const shapes[] = {
        "[retort]\nurl = %s\n", "url = %s\n", "[retort]\nurl: %s\n", "[retort] url = %s\n",
        "[retort]\nurl %s\n", "# retort\n[retort]\ndir = m\nurl=%s\nschema = x\n",
        "[other]\nurl = %s\n[retort]\n"};
    snprintf(c->ini, sizeof c->ini, shapes[rg_pick(s, RG_N(shapes))], c->url);
}

/* The %XX- and backslash-decoded reading of text (malloc'd). */
static inline char *rg_decoded(const char *text)
{
    size_t n = strlen(text);
    char *out = malloc(n + 1);
    if (!out)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned hi, lo;
        if (text[i] == '%' && i + 2 < n && sscanf(text + i + 1, "%1x%1x", &hi, &lo) == 2) {
            out[k++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (text[i] == '\\' && i + 1 < n) {
            out[k++] = text[++i];
        } else {
            out[k++] = text[i];
        }
    }
    out[k] = '\0';
    return out;
}

/* Where text shows a piece of c's password (RG_WINDOW bytes of a canary
 * run), as written or decoded; NULL when it shows none.  The piece is
 * copied to found (at least RG_WINDOW + 1 bytes). */
static inline const char *rg_leak(const rg_case *c, const char *text, char *found)
{
    if (!text)
        return NULL;
    char *dec = rg_decoded(text);
    const char *hit = NULL;
    const char *run = c->runs;
    for (int r = 0; r < c->nruns && !hit; r++, run += strlen(run) + 1) {
        size_t n = strlen(run);
        for (size_t i = 0; i + RG_WINDOW <= n && !hit; i++) {
            char w[RG_WINDOW + 1];
            memcpy(w, run + i, RG_WINDOW);
            w[RG_WINDOW] = '\0';
            if (strstr(text, w) || strstr(dec, w)) {
                memcpy(found, w, RG_WINDOW + 1);
                hit = found;
            }
        }
    }
    free(dec);
    return hit;
}

#endif
