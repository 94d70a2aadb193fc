/*
 * fuzz_loader.c — the migration-file parser through retort_load_dir(): the
 * input becomes the only file of a temporary directory, as ID.sql, or as
 * ID.up.sql (with the part after the first 0x01 byte as ID.down.sql), by
 * the input's first byte; a first byte from 0xF0 on selects the layouts of
 * other tools instead: Flyway's V1_1__fuzz.sql (with U1.1__fuzz.sql after
 * 0x01) or a diesel directory 2024-01-01-000000_fuzz/ holding up.sql,
 * down.sql and metadata.toml (cut at 0x01 bytes).  The single file covers
 * goose's, sql-migrate's, dbmate's and morph's markers by its text.  A
 * loaded directory is then rendered as an
 * offline script (no connection), which exercises the statements it
 * registered.  Property: failure always comes with a message naming
 * something, and a failed load registers nothing.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <retort/retort.h>

#include "fuzz.h"

static char dir[64];

static int write_file(const char *name, const uint8_t *data, size_t size)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite(data, 1, size, f);
    return fclose(f);
}

#define DIESEL "2024-01-01-000000_fuzz"

static void remove_files(void)
{
    static const char *const names[] = {
        "001_fuzz.sql",       "001_fuzz.up.sql",    "001_fuzz.down.sql",
        "V1_1__fuzz.sql",     "U1.1__fuzz.sql",     DIESEL "/up.sql",
        DIESEL "/down.sql",   DIESEL "/metadata.toml",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/" DIESEL, dir);
    rmdir(path);
}

/* Writes the parts of data separated by 0x01 bytes to names, in order. */
static void write_parts(const char *const *names, int n, const uint8_t *data, size_t size)
{
    for (int i = 0; i < n; i++) {
        const uint8_t *cut = i < n - 1 ? memchr(data, 0x01, size) : NULL;
        size_t len = cut ? (size_t)(cut - data) : size;
        write_file(names[i], data, len);
        if (!cut)
            return;
        data += len + 1;
        size -= len + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/retort-fuzz-loader-XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    if (size < 1)
        return 0;
    int format = data[0] >= 0xF0 ? 3 + (data[0] & 1) : data[0] % 3;
    data++, size--;
    remove_files();
    if (format == 3) {
        static const char *const names[] = {"V1_1__fuzz.sql", "U1.1__fuzz.sql"};
        write_parts(names, 2, data, size);
    } else if (format == 4) {
        char path[128];
        snprintf(path, sizeof path, "%s/" DIESEL, dir);
        if (mkdir(path, 0700) != 0)
            abort();
        static const char *const names[] = {DIESEL "/up.sql", DIESEL "/down.sql",
                                            DIESEL "/metadata.toml"};
        write_parts(names, 3, data, size);
    } else if (format == 0) {
        write_file("001_fuzz.sql", data, size);
    } else {
        const uint8_t *cut = format == 2 ? memchr(data, 0x01, size) : NULL;
        size_t up = cut ? (size_t)(cut - data) : size;
        write_file("001_fuzz.up.sql", data, up);
        if (cut)
            write_file("001_fuzz.down.sql", cut + 1, size - up - 1);
    }
    retort *r = NULL;
    if (retort_new(&r, "sqlite::memory:") != RETORT_OK)
        abort();
    int rc = retort_load_dir(r, dir);
    /* Read the message before the next call clears it. */
    int has_message = *retort_errmsg(r) != '\0';
    int count = -1;
    retort_revision_count(r, &count);
    if (rc != RETORT_OK) {
        FUZZ_CHECK(has_message);
        FUZZ_CHECK(count == 0);
    } else {
        FUZZ_CHECK(count == 1);
        const char *script = NULL;
        if (retort_upgrade_sql(r, "head", &script) != RETORT_OK)
            FUZZ_CHECK(*retort_errmsg(r));
        if (retort_downgrade_sql(r, "head:base", &script) != RETORT_OK)
            FUZZ_CHECK(*retort_errmsg(r));
    }
    retort_free(r);
    remove_files();
    return 0;
}
