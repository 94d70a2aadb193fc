/*
 * fuzz_redact.c — no password reaches any output (issue 14).  The input
 * makes the choices of redact_gen.h: a password from a hostile alphabet,
 * a URL around it in one of the ways people write them, sometimes
 * malformed, and a retort.ini around that URL.  Then every path that can
 * speak without a server: the redacted URL, retort_new's message, a
 * connection refused by a closed port on 127.0.0.1 with every log line down
 * to debug, and the retort.ini parser's messages (tools/config.c, compiled
 * in as in the command).  Property: none of them shows a piece of the
 * password, as written or decoded.  The paths that need a server (wrong
 * password, wrong database, a working connection) are the deterministic
 * test's, tests/hostile/test_redaction.c.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <retort/retort.h>

#include "config.h"
#include "fuzz.h"
#include "memory.h"
#include "redact_gen.h"
#include "url.h"

static char ini_path[64];

static void check(const rg_case *c, const char *what, const char *text)
{
    char piece[RG_WINDOW + 1];
    if (rg_leak(c, text, piece)) {
        fprintf(stderr, "fuzz_redact: %s shows \"%s\" of the password\n  url: %s\n  text: %s\n",
                what, piece, c->url, text);
        abort();
    }
}

static void collect(int level, const char *message, void *user)
{
    (void)level;
    check(user, "a log line", message);
}

static void drive_url(const rg_case *c, const char *url)
{
    retort *r = NULL;
    int rc = retort_new(&r, url);
    FUZZ_CHECK(r != NULL || rc == RETORT_ENOMEM);
    check(c, "retort_new's message", retort_errmsg(r));
    if (rc == RETORT_OK) {
        retort_set_log(r, collect, (void *)c);
        retort_set_log_level(r, RETORT_LOG_DEBUG);
        const char *heads = NULL;
        rc = retort_current(r, &heads);
        FUZZ_CHECK(rc != RETORT_OK); /* nothing listens on 127.0.0.1:1 */
        check(c, "a connection error", retort_errmsg(r));
    }
    retort_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ini_path[0]) {
        snprintf(ini_path, sizeof ini_path, "/tmp/retort-fuzz-redact-XXXXXX");
        int fd = mkstemp(ini_path);
        if (fd < 0)
            abort();
        close(fd);
        unsetenv("RETORT_DATABASE_URL");
        unsetenv("RETORT_DIR");
        unsetenv("RETORT_CONFIG");
    }
    rg_src src = {data, size, 0, 14};
    static rg_case c;
    memset(&c, 0, sizeof c);
    rg_password(&src, &c);
    rg_url(&src, &c, -1, "127.0.0.1", "1", "app", "db", rg_pick(&src, 3) == 0);

    char *shown = rt_url_redact(c.url);
    if (shown)
        check(&c, "the redacted URL", shown);
    rt_free(shown);
    drive_url(&c, c.url);

    rg_ini(&src, &c);
    FILE *f = fopen(ini_path, "wb");
    if (!f)
        abort();
    fputs(c.ini, f);
    fclose(f);
    cli_flags flags = {0};
    flags.config = ini_path;
    cli_config cfg;
    char err[1024] = "";
    if (cli_config_resolve(&cfg, &flags, err, sizeof err) != 0) {
        check(&c, "a retort.ini error", err);
        return 0;
    }
    /* An ini value is one line: of a URL with a line break the ini holds
     * only what comes before it, where the password's first piece is no
     * longer a password (postgres://app:PIECE reads as host app, port
     * PIECE) and libpq names it as the port it now is.  The parse errors
     * above are still checked for such URLs; the connection is not. */
    if (cfg.url && !strpbrk(c.url, "\r\n"))
        drive_url(&c, cfg.url);
    cli_config_free(&cfg);
    return 0;
}
