/*
 * flyway.c — Flyway's file names: "V<version>__<desc>.sql" (versioned, the
 * up), "U<version>__<desc>.sql" (its undo, the down), "R__<desc>.sql"
 * (repeatable), "B<version>__<desc>.sql" (a baseline: Flyway runs it instead
 * of the versions up to its own on a new database).  A version is digits in segments separated by '.' or '_';
 * Flyway orders versions segment by segment as numbers, so V1_10 comes after
 * V1_2 and V1.1 is the same version as V1_1.  The files carry no markers:
 * the whole file is the SQL.
 */
#include <stdint.h>
#include <string.h>

#include "formats.h"

int rt_flyway_kind(const char *name, size_t stem, size_t *vlen)
{
    *vlen = 0;
    if (stem < 3)
        return RT_FLYWAY_NONE;
    if (name[0] == 'R' && name[1] == '_' && name[2] == '_')
        return stem > 3 ? RT_FLYWAY_REPEATABLE : RT_FLYWAY_NONE;
    if (name[0] != 'V' && name[0] != 'U' && name[0] != 'B')
        return RT_FLYWAY_NONE;
    /* The version: digits, single separators, up to the "__". */
    size_t i = 1;
    int digit_expected = 1;
    while (i < stem) {
        char c = name[i];
        if (c >= '0' && c <= '9') {
            digit_expected = 0;
        } else if (c == '.' || c == '_') {
            if (c == '_' && i + 1 < stem && name[i + 1] == '_' && !digit_expected)
                break;
            if (digit_expected)
                return RT_FLYWAY_NONE;
            digit_expected = 1;
        } else {
            return RT_FLYWAY_NONE;
        }
        i++;
    }
    if (i >= stem || digit_expected)
        return RT_FLYWAY_NONE;
    *vlen = i - 1;
    return name[0] == 'V' ? RT_FLYWAY_VERSIONED
         : name[0] == 'U' ? RT_FLYWAY_UNDO
                          : RT_FLYWAY_BASELINE;
}

/* The next segment's value as a digit string without leading zeros. */
static void segment(const char **p, const char *e, const char **s, size_t *n)
{
    while (*p < e && **p == '0' && *p + 1 < e && (*p)[1] >= '0' && (*p)[1] <= '9')
        (*p)++;
    *s = *p;
    while (*p < e && **p >= '0' && **p <= '9')
        (*p)++;
    *n = (size_t)(*p - *s);
    if (*n == 1 && **s == '0')
        *n = 0; /* "0" and a missing segment are equal */
    if (*p < e)
        (*p)++; /* the separator */
}

int rt_flyway_version_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    const char *ae = a + alen, *be = b + blen;
    while (a < ae || b < be) {
        const char *sa = "", *sb = "";
        size_t na = 0, nb = 0;
        if (a < ae)
            segment(&a, ae, &sa, &na);
        if (b < be)
            segment(&b, be, &sb, &nb);
        if (na != nb)
            return na < nb ? -1 : 1;
        int d = memcmp(sa, sb, na);
        if (d)
            return d < 0 ? -1 : 1;
    }
    return 0;
}

const rt_format rt_format_flyway = {
    "Flyway", "add the line '-- retort:no-transaction'",
    "", NULL, 0, 0,
};

const rt_format rt_format_flyway_repeatable = {
    "Flyway", "add the line '-- retort:no-transaction'",
    "", NULL, 0, 0,
};

long long rt_flyway_checksum(const char *text)
{
    /* CRC-32 (the zlib/Java polynomial) of the text's lines without their
     * line breaks, a leading byte-order mark dropped: what Flyway computes
     * line by line and stores as a signed 32-bit integer. */
    const unsigned char *p = (const unsigned char *)text;
    if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        p += 3;
    uint32_t crc = 0xFFFFFFFFu;
    for (; *p; p++) {
        if (*p == '\r' || *p == '\n')
            continue;
        crc ^= *p;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    crc ^= 0xFFFFFFFFu;
    return crc >= 0x80000000u ? (long long)crc - 0x100000000LL : (long long)crc;
}
