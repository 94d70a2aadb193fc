/*
 * commands_test.c — the commands for test suites and CI: `schema` prints
 * the database's canonical schema snapshot, and `test` runs the library's
 * ready-made migration checks, each on its own fresh, empty target so that
 * checks never see each other's leftovers (or the real database's tables).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "template.h"

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
    if (c->strict)
        return cli_usage(c, "--drop-templates runs no check: --strict does not apply");
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

/*
 * The first irreversible revision of r's plan order, copied into buf ("" if
 * none), and its plan index in *index.  Returns RETORT_OK or the library's
 * status.
 */
static int first_irreversible(retort *r, char *buf, size_t size, int *index)
{
    int n = 0, rc = retort_revision_count(r, &n);
    buf[0] = '\0';
    *index = -1;
    for (int i = 0; i < n && rc == RETORT_OK; i++) {
        const char *id;
        int flags;
        rc = retort_revision_info(r, i, &id, NULL, NULL, &flags);
        if (rc == RETORT_OK && (flags & RETORT_REV_IRREVERSIBLE)) {
            snprintf(buf, size, "%s", id);
            *index = i;
            break;
        }
    }
    return rc;
}

/*
 * Runs check k on r and prints its verdict.  Without --strict, an
 * irreversible revision is where the stairway stops (the revisions below it
 * are checked) and makes the downgrade check a skip: *stopped names it.
 * Returns 1 when the check failed.
 */
static int run_check(const cli *c, int k, retort *r, char *stopped, size_t size)
{
    int rc;
    if (!c->strict && checks[k].run == retort_test_downgrade) {
        int index;
        rc = first_irreversible(r, stopped, size, &index);
        if (rc == RETORT_OK && *stopped) {
            printf("skip downgrade: %s is irreversible (no down step), so base cannot be "
                   "reached\n", stopped);
            return 0;
        }
        if (rc == RETORT_OK)
            rc = retort_test_downgrade(r);
    } else if (!c->strict && checks[k].run == retort_test_stairway) {
        const char *at = "";
        rc = retort_test_stairway_partial(r, &at);
        if (rc == RETORT_OK && *at) {
            int index;
            rc = first_irreversible(r, stopped, size, &index);
            if (rc == RETORT_OK) {
                printf("ok stairway: stopped at %s, which is irreversible (no down step); the "
                       "%d revision%s below it %s checked\n", stopped, index,
                       index == 1 ? "" : "s", index == 1 ? "was" : "were");
                return 0;
            }
        }
    } else {
        rc = checks[k].run(r);
    }
    if (rc == RETORT_OK) {
        cli_say(c, "ok %s\n", checks[k].name);
        return 0;
    }
    /* The verdict is the output: printed even under -q. */
    printf("FAIL %s: %s\n", checks[k].name, retort_errmsg(r));
    return 1;
}

/* Every check but single-head runs migrations, and the command cannot run
 * a C migration (it is compiled into the application).  Refused before any
 * check, naming each C file, rather than failing check after check. */
static int refuse_c_migrations(cli *c, const int *selected)
{
    int runs = 0;
    for (int k = 0; k < NCHECKS; k++)
        if ((!c->nargs || selected[k]) && checks[k].run != retort_test_single_head)
            runs = 1;
    if (!runs)
        return CLI_EXIT_OK;
    retort *r;
    /* The fresh target is created at its first operation: none here. */
    if (cli_open_target(c, &r, 1, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    retort_free(r);
    if (!c->ncmig)
        return CLI_EXIT_OK;
    const tpl_cmig *m = &c->cmig[0];
    return cli_fail(c, "revision '%s' is a C migration (%s)%s: the retort command cannot run "
                       "it, so it cannot test the migrations; the application that compiles it "
                       "can (retort_test_upgrade() and the other retort_test_* functions).  "
                       "Nothing was run; 'retort test single-head' needs no migration run",
                    m->id, m->file, c->ncmig > 1 ? ", and others" : "");
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
    if (refuse_c_migrations(c, selected) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    int failed = 0;
    char stopped[256] = ""; /* an id has at most 128 characters */
    for (int k = 0; k < NCHECKS; k++) {
        if (c->nargs && !selected[k])
            continue;
        retort *r;
        if (cli_open_target(c, &r, 1, 1) != CLI_EXIT_OK)
            return CLI_EXIT_FAILURE;
        failed += run_check(c, k, r, stopped, sizeof stopped);
        retort_free(r);
    }
    if (*stopped && c->cfg.verbosity >= 0) {
        fflush(stdout);
        fprintf(stderr, "retort: test: %s is irreversible: the checks stopped there (test "
                        "--strict makes that a failure)\n", stopped);
    }
    if (failed)
        fprintf(stderr, "retort: test: %d check%s failed\n", failed, failed == 1 ? "" : "s");
    return failed ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
