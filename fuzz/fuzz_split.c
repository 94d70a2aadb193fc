/*
 * fuzz_split.c — the statement splitter (lib/sql_split.c).  Properties:
 * every statement lies inside the text, statements come in order without
 * overlapping, the position always advances, and the loop ends.
 */
#include "fuzz.h"
#include "sql_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *sql = fuzz_cstring(data, size);
    if (!sql)
        return 0;
    size_t len = strlen(sql), pos = 0, start = 0, end = 0, prev_end = 0;
    int n = 0;
    while (rt_sql_next_statement(sql, &pos, &start, &end)) {
        FUZZ_CHECK(start <= end && end <= len);
        FUZZ_CHECK(start >= prev_end);
        FUZZ_CHECK(pos > start || (start == end && pos >= start));
        FUZZ_CHECK(pos <= len + 1);
        FUZZ_CHECK(++n <= (int)len + 1); /* no endless loop */
        prev_end = end;
    }
    free(sql);
    return 0;
}
