/*
 * commands_test.c — the commands for test suites and CI: `schema` prints
 * the database's canonical schema snapshot, and `test` runs the library's
 * ready-made migration checks, each on its own fresh, empty target so that
 * checks never see each other's leftovers (or the real database's tables).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_schema(cli *c)
{
    retort *r;
    if (cli_open(c, &r, 0) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    const char *text;
    int status = CLI_EXIT_OK;
    if (retort_schema_snapshot(r, &text) != RETORT_OK)
        status = cli_lib_fail(c, r);
    else if (*text)
        printf("%s\n", text);
    retort_free(r);
    return status;
}

typedef struct {
    const char *name;
    int (*run)(retort *r);
} check;

static const check checks[] = {
    {"single-head", retort_test_single_head},
    {"upgrade", retort_test_upgrade},
    {"stairway", retort_test_stairway},
    {"downgrade", retort_test_downgrade},
};
#define NCHECKS ((int)(sizeof checks / sizeof checks[0]))

/* `test --drop-templates`: drops the test templates of the test URL's
 * server or directory, naming each. */
static int drop_templates(cli *c)
{
    if (c->nargs)
        return cli_usage(c, "--drop-templates takes no CHECK");
    retort *r;
    if (cli_open_target(c, &r, 0, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    const char *names = NULL;
    int status = CLI_EXIT_OK;
    if (retort_drop_templates(r, &names) != RETORT_OK) {
        status = cli_lib_fail(c, r);
    } else {
        int n = 0;
        for (const char *p = names; *p;) {
            size_t len = strcspn(p, " ");
            cli_say(c, "dropped %.*s\n", (int)len, p);
            n++;
            p += len;
            p += *p == ' ';
        }
        if (!n)
            cli_say(c, "no test templates\n");
    }
    retort_free(r);
    return status;
}

int cmd_test(cli *c)
{
    if (c->drop_templates)
        return drop_templates(c);
    int selected[NCHECKS] = {0};
    for (int i = 0; i < c->nargs; i++) {
        int found = 0;
        for (int k = 0; k < NCHECKS; k++)
            if (strcmp(c->args[i], checks[k].name) == 0)
                selected[k] = found = 1;
        if (!found)
            return cli_usage(c, "unknown check '%s' (checks: single-head, upgrade, stairway, "
                                "downgrade)", c->args[i]);
    }
    int failed = 0;
    for (int k = 0; k < NCHECKS; k++) {
        if (c->nargs && !selected[k])
            continue;
        retort *r;
        if (cli_open_target(c, &r, 1, 1) != CLI_EXIT_OK)
            return CLI_EXIT_FAILURE;
        if (checks[k].run(r) == RETORT_OK) {
            cli_say(c, "ok %s\n", checks[k].name);
        } else {
            /* The verdict is the output: printed even under -q. */
            printf("FAIL %s: %s\n", checks[k].name, retort_errmsg(r));
            failed++;
        }
        retort_free(r);
    }
    if (failed)
        fprintf(stderr, "retort: test: %d check%s failed\n", failed, failed == 1 ? "" : "s");
    return failed ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
