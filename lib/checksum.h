/*
 * checksum.h — the SHA-256 recorded for SQL migrations (libcrypto).
 */
#ifndef RT_CHECKSUM_H
#define RT_CHECKSUM_H

/* Hex SHA-256 of up_sql, a NUL byte and down_sql (when not NULL), into out
 * (65 bytes).  RETORT_OK or RETORT_ENOMEM. */
int rt_checksum_sql(const char *up_sql, const char *down_sql, char out[65]);

#endif
