/*
 * checksum.c — SHA-256 of a SQL migration's text, through nettle (no
 * hand-written digest).  nettle rather than OpenSSL's EVP interface: EVP
 * initialises its provider machinery on first use and allocates per call,
 * which cost more than hashing 1,000 migrations on every startup; nettle
 * hashes on the stack with no global state.
 *
 * The down text is part of the sum so that an edited downgrade of an
 * applied revision is noticed too.
 */
#include "checksum.h"

#include <string.h>

#include <nettle/sha2.h>

void rt_checksum_sql(const char *up_sql, const char *down_sql, char out[65])
{
    struct sha256_ctx ctx;
    uint8_t md[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(up_sql), (const uint8_t *)up_sql);
    if (down_sql) {
        sha256_update(&ctx, 1, (const uint8_t *)"");
        sha256_update(&ctx, strlen(down_sql), (const uint8_t *)down_sql);
    }
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, md);
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < SHA256_DIGEST_SIZE; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}
