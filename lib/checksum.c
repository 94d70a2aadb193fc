/*
 * checksum.c — SHA-256 of a SQL migration's text, through libcrypto's EVP
 * interface (no hand-written digest).  The down text is part of the sum so
 * that an edited downgrade of an applied revision is noticed too.
 */
#include "checksum.h"

#include <string.h>

#include <openssl/evp.h>

#include "retort/retort.h"

int rt_checksum_sql(const char *up_sql, const char *down_sql, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return RETORT_ENOMEM;
    int ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(ctx, up_sql, strlen(up_sql));
    if (ok && down_sql)
        ok = EVP_DigestUpdate(ctx, "", 1) && EVP_DigestUpdate(ctx, down_sql, strlen(down_sql));
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (!ok || mdlen != 32)
        return RETORT_ENOMEM;
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return RETORT_OK;
}
