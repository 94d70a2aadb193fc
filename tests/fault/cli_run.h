/*
 * cli_run.h — runs the built `retort` command (RETORT_EXE, set by meson)
 * from a C test with fork/execv (no shell, so hostile arguments reach it
 * byte for byte), capturing its standard output and error.  Header-only;
 * used by tests/fault and tests/hostile.
 */
#ifndef RETORT_TEST_CLI_RUN_H
#define RETORT_TEST_CLI_RUN_H

#include <errno.h>
#include <fcntl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

typedef struct cli_result {
    int status; /* exit status; 128 + signal when killed */
    char *out;  /* malloc'd */
    char *err;  /* malloc'd */
} cli_result;

static inline void cli_result_free(cli_result *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
}

/* Whether the command is available (meson sets RETORT_EXE). */
static inline const char *cli_exe(void)
{
    const char *exe = getenv("RETORT_EXE");
    return exe && *exe && access(exe, X_OK) == 0 ? exe : NULL;
}

/* Runs RETORT_EXE with args (NULL-terminated, without argv[0]) in cwd
 * (NULL: the fixture's directory); fails the test if it cannot start. */
static inline cli_result cli_run_in(const char *cwd, const char *const *args)
{
    const char *exe = cli_exe();
    if (!exe)
        fail_msg("RETORT_EXE does not name the built retort command");
    char *outp = fixture_path("cli.out"), *errp = fixture_path("cli.err");
    int n = 0;
    while (args[n])
        n++;
    char **argv = calloc((size_t)n + 2, sizeof *argv);
    assert_non_null(argv);
    argv[0] = (char *)exe;
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || in < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || dup2(in, 0) < 0)
            _exit(126);
        if (chdir(cwd ? cwd : fixture_dir()) != 0)
            _exit(126);
        execv(exe, argv);
        _exit(127);
    }
    free(argv);
    int status = 0;
    pid_t w;
    do
        w = waitpid(pid, &status, 0);
    while (w < 0 && errno == EINTR);
    cli_result res;
    res.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    res.out = fixture_read_file(outp);
    res.err = fixture_read_file(errp);
    if (!res.out)
        res.out = calloc(1, 1);
    if (!res.err)
        res.err = calloc(1, 1);
    free(outp);
    free(errp);
    return res;
}

static inline cli_result cli_run(const char *const *args) { return cli_run_in(NULL, args); }

/* Writes text to the file at path (fails the test on error). */
static inline void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

/* Writes a retort.ini in the fixture's directory for the fixture's
 * database (and schema, on PostgreSQL), with extra lines appended; returns
 * its malloc'd path. */
static inline char *write_fixture_ini(const char *extra)
{
    char *path = fixture_path("retort.ini");
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("cannot write %s", path);
    fprintf(f, "[retort]\nurl = %s\ndir = migrations\n", fixture_url());
    if (fixture_schema())
        fprintf(f, "schema = %s\n", fixture_schema());
    if (extra)
        fputs(extra, f);
    fclose(f);
    return path;
}

/* A retort command process must never die of a signal (a crash). */
#define assert_no_crash(res)                                                                   \
    do {                                                                                       \
        if ((res).status >= 128)                                                               \
            fail_msg("the command died (status %d); stderr: %s", (res).status, (res).err);     \
    } while (0)

#endif
