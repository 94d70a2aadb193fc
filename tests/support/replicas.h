/*
 * replicas.h — many processes migrating the fixture's database at once, as
 * replicas of an application starting together, for the tests that prove
 * every revision body runs exactly once (tests/integration/test_concurrency.c
 * once, tests/fault/test_repeat.c twenty times over).
 *
 * Each body is counted twice, independently: a line appended with O_APPEND
 * to a file by the callback before it touches the database (what actually
 * ran, even if rolled back afterwards), and an INSERT into a counter table
 * (what the database kept).  Header-only; include after fixture.h, once per
 * test executable.
 */
#ifndef RETORT_TEST_REPLICAS_H
#define RETORT_TEST_REPLICAS_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

enum { REPLICA_MAX_REVS = 64 };

/* One revision of the chain c00, c01, ... that every replica registers. */
typedef struct crev {
    char id[16];
    char parent[16];
    const char *runs_path;
} crev;

static inline int counted_up(retort_conn *conn, void *user)
{
    const crev *c = user;
    int fd = open(c->runs_path, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0)
        return 1;
    char line[64];
    int n = snprintf(line, sizeof line, "%s %ld\n", c->id, (long)getpid());
    ssize_t w = write(fd, line, (size_t)n);
    close(fd);
    if (w != n)
        return 1;
    if (!c->parent[0]) {
        int rc = retort_exec(conn, "CREATE TABLE counter (rev VARCHAR(16))");
        if (rc)
            return rc;
    }
    const char *params[] = {c->id};
    return retort_exec_params(conn, "INSERT INTO counter (rev) VALUES ($1)", 1, params);
}

static inline int counted_down(retort_conn *conn, void *user)
{
    (void)conn;
    (void)user;
    return 0;
}

/* One replica: waits for the start signal (the parent closing the pipe),
 * builds its own context on the fixture's database, registers nrev counted
 * revisions and migrates to head.  Exits with the status code; never
 * returns. */
static inline void replica(int gate, const char *runs_path, int nrev)
{
    char go;
    ssize_t got;
    do
        got = read(gate, &go, 1); /* returns 0 when the parent closes the pipe */
    while (got < 0 && errno == EINTR);
    close(gate);

    crev revs[REPLICA_MAX_REVS];
    retort *r = NULL;
    int rc = nrev <= REPLICA_MAX_REVS ? retort_new(&r, fixture_url()) : RETORT_EINVAL;
    if (rc == RETORT_OK && fixture_schema())
        rc = retort_set_schema(r, fixture_schema());
    for (int i = 0; rc == RETORT_OK && i < nrev; i++) {
        snprintf(revs[i].id, sizeof revs[i].id, "c%02d", i);
        if (i)
            snprintf(revs[i].parent, sizeof revs[i].parent, "c%02d", i - 1);
        else
            revs[i].parent[0] = '\0';
        revs[i].runs_path = runs_path;
        rc = retort_add(r, revs[i].id, revs[i].parent, NULL, counted_up, counted_down,
                        &revs[i]);
    }
    if (rc == RETORT_OK)
        rc = retort_migrate_to_head(r);
    if (rc != RETORT_OK)
        fprintf(stderr, "replica %ld: status %d: %s\n", (long)getpid(), rc,
                r ? retort_errmsg(r) : "too many revisions");
    retort_free(r);
    _exit(rc == RETORT_OK ? 0 : rc > 0 && rc < 125 ? rc : 125);
}

/* Starts nproc replicas at once; returns how many exited with status 0. */
static inline int run_replicas(const char *runs_path, int nproc, int nrev)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL); /* no buffered output duplicated into the children */
    pid_t *pids = calloc((size_t)nproc, sizeof *pids);
    assert_non_null(pids);
    for (int i = 0; i < nproc; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(fds[1]);
            replica(fds[0], runs_path, nrev);
        }
    }
    close(fds[0]);
    close(fds[1]); /* go */
    int ok = 0;
    for (int i = 0; i < nproc; i++) {
        int status = 0;
        pid_t w;
        do
            w = waitpid(pids[i], &status, 0);
        while (w < 0 && errno == EINTR);
        assert_int_equal(w, pids[i]);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            ok++;
        else if (WIFEXITED(status))
            print_error("replica %d exited with status %d\n", i, WEXITSTATUS(status));
        else
            print_error("replica %d died (wait status %d)\n", i, status);
    }
    free(pids);
    return ok;
}

/* Asserts that each of the nrev bodies ran exactly once (the runs file),
 * and that the database kept exactly one counter row and one version row
 * for each.  where prefixes the failure messages. */
static inline void assert_each_ran_once(const char *runs_path, int nrev, const char *where)
{
    int counts[REPLICA_MAX_REVS] = {0}, other = 0;
    assert_true(nrev <= REPLICA_MAX_REVS);
    char *text = fixture_read_file(runs_path);
    assert_non_null(text);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        int k = -1;
        if (sscanf(line, "c%d ", &k) == 1 && k >= 0 && k < nrev)
            counts[k]++;
        else
            other++;
    }
    free(text);
    assert_int_equal(other, 0);
    for (int k = 0; k < nrev; k++)
        if (counts[k] != 1)
            fail_msg("%s: revision c%02d's body ran %d times", where, k, counts[k]);
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM counter"), nrev);
    assert_int_equal(fixture_count("SELECT COUNT(DISTINCT rev) FROM counter"), nrev);
    char ids[REPLICA_MAX_REVS * 4 + 1] = "";
    for (int k = 0; k < nrev; k++)
        snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%sc%02d", k ? " " : "", k);
    assert_version_ids(ids);
}

#endif
