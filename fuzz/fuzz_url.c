/*
 * fuzz_url.c — the URL functions of lib/url.c (scheme extraction and
 * password redaction) and retort_new(), which resolves a URL to a driver
 * without connecting.  Properties: the scheme is lower-case letters,
 * digits, '+', '.', '-'; a redacted URL never contains the text that
 * followed " password=" in the input when that text is at least 6
 * characters of [A-Za-z0-9] ending the input (a plain password).
 */
#include <ctype.h>

#include <retort/retort.h>

#include "fuzz.h"
#include "memory.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = fuzz_cstring(data, size);
    if (!url)
        return 0;
    char scheme[32];
    size_t n = rt_url_scheme(url, scheme, sizeof scheme);
    FUZZ_CHECK(n < sizeof scheme);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(islower((unsigned char)scheme[i]) || isdigit((unsigned char)scheme[i]) ||
                   strchr("+.-", scheme[i]));

    char *red = rt_url_redact(url);
    if (red) {
        /* A plain password (" password=" then 6+ letters or digits ending
         * the URL, appearing nowhere else, no quoting) must be gone. */
        const char *pw = strstr(url, " password=");
        if (pw && !strchr(url, '\'') && !strchr(url, '\\')) {
            const char *v = pw + 10;
            size_t k = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
            if (k >= 6 && v[k] == '\0' && strstr(url, v) == v)
                FUZZ_CHECK(strstr(red, v) == NULL);
        }
        rt_free(red);
    }

    retort *r = NULL;
    int rc = retort_new(&r, url);
    FUZZ_CHECK(r != NULL || rc == RETORT_ENOMEM);
    FUZZ_CHECK(retort_errmsg(r) != NULL);
    retort_free(r);
    free(url);
    return 0;
}
