/*
 * checksum.h — the SHA-256 recorded for SQL migrations.
 */
#ifndef RT_CHECKSUM_H
#define RT_CHECKSUM_H

/* Hex SHA-256 of up_sql, a NUL byte and down_sql (when not NULL), into out
 * (65 bytes).  Cannot fail. */
void rt_checksum_sql(const char *up_sql, const char *down_sql, char out[65]);

#endif
