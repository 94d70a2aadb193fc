/*
 * goose.c — pressly/goose's SQL migrations: "-- +goose Up", "Down",
 * "StatementBegin", "StatementEnd", "NO TRANSACTION", "ENVSUB ON"/"OFF".
 * Annotations are case-insensitive, as goose reads them.  ENVSUB is goose's
 * interpolation (mfridman/interpolate): $VAR, ${VAR}, ${VAR-default},
 * ${VAR:-default}, ${VAR?message}, ${VAR:?message}, and "$$" for one '$';
 * an unset variable without a default becomes "".  It is applied when the
 * directory is loaded; the recorded checksum is of the file's text.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "formats.h"

/* Whether p[0..n) equals word, ignoring case and with any run of blanks in
 * p matching the single spaces of word. */
static int word_eq(const char *p, size_t n, const char *word)
{
    size_t i = 0;
    for (const char *w = word; *w; w++) {
        if (*w == ' ') {
            if (i >= n || (p[i] != ' ' && p[i] != '\t'))
                return 0;
            while (i < n && (p[i] == ' ' || p[i] == '\t'))
                i++;
            continue;
        }
        if (i >= n || (p[i] | 0x20) != (*w | 0x20))
            return 0;
        i++;
    }
    return i == n;
}

static int goose_mark(const char *p, size_t n, int *no_tx)
{
    (void)no_tx;
    if (n < 6 || strncasecmp(p, "+goose", 6) != 0 || (n > 6 && p[6] != ' ' && p[6] != '\t'))
        return RT_MARK_NONE;
    p += 6;
    n -= 6;
    while (n && (*p == ' ' || *p == '\t'))
        p++, n--;
    static const struct {
        const char *word;
        int kind;
    } marks[] = {
        {"up", RT_MARK_UP},
        {"down", RT_MARK_DOWN},
        {"statementbegin", RT_MARK_BEGIN},
        {"statementend", RT_MARK_END},
        {"no transaction", RT_MARK_NO_TX},
        {"envsub on", RT_MARK_ENVSUB_ON},
        {"envsub off", RT_MARK_ENVSUB_OFF},
    };
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (word_eq(p, n, marks[i].word))
            return marks[i].kind;
    return RT_MARK_INVALID;
}

const rt_format rt_format_goose = {
    "goose", "add the line '-- +goose NO TRANSACTION'",
    "+goose Up, +goose Down, +goose StatementBegin, +goose StatementEnd, "
    "+goose NO TRANSACTION, +goose ENVSUB ON, +goose ENVSUB OFF",
    goose_mark, 1, 1,
};

static int name_start(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

int rt_goose_envsub(const char *s, size_t n, rt_buf *out, rt_buf *err)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] != '$' || i + 1 >= n) {
            rt_buf_append_char(out, s[i++]);
            continue;
        }
        if (s[i + 1] == '$') { /* "$$" is one '$' */
            rt_buf_append_char(out, '$');
            i += 2;
            continue;
        }
        if (name_start(s[i + 1])) {
            size_t j = i + 1;
            while (j < n && name_char(s[j]))
                j++;
            char name[256];
            size_t len = j - i - 1;
            if (len >= sizeof name) {
                rt_buf_append_n(out, s + i, j - i);
            } else {
                memcpy(name, s + i + 1, len);
                name[len] = '\0';
                const char *v = getenv(name);
                rt_buf_append(out, v ? v : "");
            }
            i = j;
            continue;
        }
        if (s[i + 1] != '{') {
            rt_buf_append_char(out, s[i++]);
            continue;
        }
        size_t j = i + 2;
        while (j < n && name_char(s[j]))
            j++;
        size_t close = j;
        int depth = 1;
        while (close < n && s[close] != '\n') {
            if (s[close] == '{')
                depth++;
            else if (s[close] == '}' && --depth == 0)
                break;
            close++;
        }
        if (j == i + 2 || !name_start(s[i + 2]) || close >= n || s[close] != '}') {
            rt_buf_append_char(out, s[i++]); /* not an expansion: kept as written */
            continue;
        }
        char name[256];
        size_t len = j - i - 2;
        if (len >= sizeof name) {
            rt_buf_append_n(out, s + i, close + 1 - i);
            i = close + 1;
            continue;
        }
        memcpy(name, s + i + 2, len);
        name[len] = '\0';
        const char *v = getenv(name);
        const char *op = s + j, *word = op;
        size_t oplen = 0;
        if (j < close) {
            if (s[j] == ':' && j + 1 < close && (s[j + 1] == '-' || s[j + 1] == '?'))
                oplen = 2;
            else if (s[j] == '-' || s[j] == '?')
                oplen = 1;
            else {
                rt_buf_printf(err, "ENVSUB: '%.*s' is not an expansion goose knows (${VAR}, "
                                   "${VAR-default}, ${VAR:-default}, ${VAR?message}, "
                                   "${VAR:?message})",
                              (int)(close + 1 - i), s + i);
                return -1;
            }
            word = op + oplen;
        }
        size_t wlen = (size_t)(s + close - word);
        int colon = oplen == 2;
        int unset = !v || (colon && !*v);
        if (oplen && op[oplen - 1] == '?' && unset) {
            rt_buf_printf(err, "ENVSUB: environment variable %s is %s%s%.*s", name,
                          v ? "empty" : "not set", wlen ? ": " : "", (int)wlen, word);
            return -1;
        }
        if (oplen && op[oplen - 1] == '-' && unset)
            rt_buf_append_n(out, word, wlen);
        else
            rt_buf_append(out, v ? v : "");
        i = close + 1;
    }
    return 0;
}
