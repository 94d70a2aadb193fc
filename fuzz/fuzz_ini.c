/*
 * fuzz_ini.c — the retort command's retort.ini parser (tools/config.c,
 * compiled into the target as it is into the command): the input is
 * written to a temporary file, resolved as the --config file, and its
 * settings applied to a context with retort_set().  Property: a failure
 * always has a message.
 */
#include <stdio.h>
#include <unistd.h>

#include <retort/retort.h>

#include "config.h"
#include "fuzz.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/retort-fuzz-ini-XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0)
            abort();
        close(fd);
        /* The environment must not choose for the file. */
        unsetenv("RETORT_DATABASE_URL");
        unsetenv("RETORT_DIR");
        unsetenv("RETORT_CONFIG");
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    cli_flags flags = {0};
    flags.config = path;
    cli_config cfg;
    char err[1024] = "";
    if (cli_config_resolve(&cfg, &flags, err, sizeof err) != 0) {
        FUZZ_CHECK(err[0]);
        return 0;
    }
    retort *r = NULL;
    if (retort_new(&r, "sqlite::memory:") != RETORT_OK)
        abort();
    err[0] = '\0';
    if (cli_config_apply(&cfg, r, 0, err, sizeof err) != RETORT_OK)
        FUZZ_CHECK(err[0]);
    retort_free(r);
    cli_config_free(&cfg);
    return 0;
}
