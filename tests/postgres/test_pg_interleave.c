/*
 * test_pg_interleave.c — PostgreSQL only: migrators that start while
 * another process is inside a run, which holds the advisory lock for the
 * whole run.  Process A runs in a child and stops inside one revision's
 * body (a C callback that tells the test through a pipe, then waits for a
 * go byte); the others start then, and the test lets A go only once each
 * of them is either polling for the lock (seen in pg_stat_activity under
 * its application_name) or has already exited.
 *
 *  - A command and library calls started during a slow non-transactional
 *    revision wait for the lock and succeed: the dirty row they saw first
 *    belonged to a revision still running (not "failed midway"), nothing
 *    runs twice, and no stale error is left on the context.
 *  - A downgrade or a stamp racing an upgrade leaves the recorded set
 *    closed under parents: what they read before the lock is planned again
 *    under it.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "pg_support.c"

/* ------------------------------------------------------------ children */

typedef struct gate {
    int tell[2]; /* child -> test: "I am inside the body" */
    int go[2];   /* test -> child: "carry on" */
} gate;

static gate G;

static void wait_byte(int fd)
{
    char c;
    ssize_t got;
    do
        got = read(fd, &c, 1);
    while (got < 0 && errno == EINTR);
}

/* The body that stops: tells the test, waits for go, then does its work. */
static int stopping_up(retort_conn *conn, void *user)
{
    if (write(G.tell[1], "x", 1) != 1)
        return 1;
    wait_byte(G.go[0]);
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO runs VALUES ('%s')", (const char *)user);
    return retort_exec(conn, sql);
}

static int counted_up(retort_conn *conn, void *user)
{
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO runs VALUES ('%s')", (const char *)user);
    return retort_exec(conn, sql);
}

static int counted_down(retort_conn *conn, void *user)
{
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO runs VALUES ('-%s')", (const char *)user);
    return retort_exec(conn, sql);
}

static const char *const ids[] = {"c1", "c2", "c3", "c4", "c5", "c6"};
enum { N = 6 };

/* A context in a child: its own session named app, the chain c1..c6 with
 * stop's body stopping (NULL: none); c3 non-transactional if nontx. */
static retort *child_context(const char *app, const char *stop, int nontx)
{
    setenv("PGAPPNAME", app, 1);
    retort *r = NULL;
    if (retort_new(&r, T.url) != RETORT_OK)
        _exit(90);
    for (int i = 0; i < N; i++) {
        int stops = stop && strcmp(stop, ids[i]) == 0;
        if (retort_add(r, ids[i], i ? ids[i - 1] : NULL, NULL, stops ? stopping_up : counted_up,
                       counted_down, (void *)ids[i]) != RETORT_OK)
            _exit(91);
    }
    if (nontx && retort_revision_set_transactional(r, "c3", 0) != RETORT_OK)
        _exit(92);
    return r;
}

/* Exits 0 only when the call succeeded and left no error behind. */
static void finish(retort *r, int rc, const char *what)
{
    int code = retort_errcode(r);
    const char *msg = retort_errmsg(r);
    if (rc != RETORT_OK || code != RETORT_OK || *msg)
        fprintf(stderr, "%s: returned %d, retort_errcode %d, retort_errmsg \"%s\"\n", what, rc,
                code, msg);
    int ok = rc == RETORT_OK && code == RETORT_OK && !*msg;
    retort_free(r);
    _exit(ok ? 0 : rc ? (rc < 100 ? rc : 99) : 98);
}

typedef enum { OP_UPGRADE, OP_DOWNGRADE, OP_STAMP_BASE, OP_PLAN } op;

static pid_t spawn(const char *app, const char *stop, int nontx, op what)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid)
        return pid;
    close(G.tell[0]);
    close(G.go[1]);
    retort *r = child_context(app, stop, nontx);
    int rc;
    const char *ids_out = NULL;
    switch (what) {
    case OP_UPGRADE:
        finish(r, retort_migrate_to_head(r), app);
        break;
    case OP_DOWNGRADE:
        finish(r, retort_downgrade(r, "base"), app);
        break;
    case OP_STAMP_BASE:
        finish(r, retort_stamp(r, "base"), app);
        break;
    case OP_PLAN:
        rc = retort_plan(r, 1, "head", &ids_out);
        if (rc == RETORT_OK && *ids_out) {
            fprintf(stderr, "%s: planned \"%s\" after the other run finished\n", app, ids_out);
            _exit(97);
        }
        finish(r, rc, app);
        break;
    }
    _exit(96);
}

/* The retort command in a child: `retort upgrade` on the test's database
 * and the directory dir, its stdout into out. */
static pid_t spawn_command(const char *app, const char *dir, const char *out)
{
    const char *bin = getenv("RETORT");
    if (!bin || !*bin)
        fail_msg("RETORT must name the retort command");
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid)
        return pid;
    setenv("PGAPPNAME", app, 1);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || dup2(fd, 1) < 0)
        _exit(95);
    execl(bin, "retort", "--url", T.url, "--dir", dir, "upgrade", (char *)NULL);
    _exit(94);
}

static int exit_status(pid_t pid)
{
    int status = 0;
    pid_t w;
    do
        w = waitpid(pid, &status, 0);
    while (w < 0 && errno == EINTR);
    assert_int_equal(w, pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Waits until the session named app polls for the migration lock, or its
 * process has exited (then returns 0).  A condition polled, with a bound:
 * no ordering rests on the delay. */
static int wait_until_waiting_for_lock(const char *app, pid_t pid)
{
    double deadline = pgt_now() + 60.0;
    while (pgt_now() < deadline) {
        if (pgt_count("SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE "
                      "application_name = $1 AND query LIKE '%pg_try_advisory_lock%'",
                      app, NULL) > 0)
            return 1;
        /* Exited already (peeked at, not reaped: exit_status reports it). */
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == pid) {
            print_error("%s exited before waiting for the lock\n", app);
            return 0;
        }
        pgt_sleep_ms(5);
    }
    fail_msg("%s never polled for the migration lock", app);
    return 0;
}

static void open_gate(void)
{
    assert_int_equal(pipe(G.tell), 0);
    assert_int_equal(pipe(G.go), 0);
}

/* Starts A, upgrading to head, and returns once it is inside stop's body. */
static pid_t start_a(const char *stop, int nontx)
{
    open_gate();
    pid_t a = spawn("rt_a", stop, nontx, OP_UPGRADE);
    close(G.tell[1]);
    char c;
    ssize_t got;
    do
        got = read(G.tell[0], &c, 1);
    while (got < 0 && errno == EINTR);
    if (got != 1) {
        kill(a, SIGKILL);
        exit_status(a);
        fail_msg("process A never reached the body of %s", stop);
    }
    return a;
}

static void release_a(void)
{
    assert_int_equal(write(G.go[1], "g", 1), 1);
    close(G.go[1]);
    close(G.go[0]);
    close(G.tell[0]);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* --------------------------------------------------------------- tests */

static void test_calls_started_during_a_slow_non_transactional_revision_wait_and_succeed(
    void **state)
{
    (void)state;
    pgt_exec("CREATE TABLE runs (id TEXT)", NULL);
    /* The command reads the same chain from a directory (its bodies never
     * run here: A applies everything). */
    char dir[512], out[512], path[600];
    pgt_path(dir, sizeof dir, "m");
    assert_int_equal(mkdir(dir, 0700), 0);
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "%s/%s.sql", dir, ids[i]);
        char text[256];
        snprintf(text, sizeof text, "%s%s%s-- retort:up\nSELECT 1;\n-- retort:down\nSELECT 1;\n",
                 i ? "-- retort:parents " : "", i ? ids[i - 1] : "", i ? "\n" : "");
        if (i == 2)
            snprintf(text, sizeof text, "-- retort:parents c2\n-- retort:no-transaction\n"
                                        "-- retort:up\nSELECT 1;\n-- retort:down\nSELECT 1;\n");
        write_file(path, text);
    }
    pgt_path(out, sizeof out, "command.out");

    pid_t a = start_a("c3", 1); /* inside c3, non-transactional: its row is dirty */
    assert_text(pgt_rows("SELECT id, state FROM retort_version ORDER BY seq", NULL),
                "c1|applied c2|applied c3|dirty");
    pid_t cmd = spawn_command("rt_cmd", dir, out);
    pid_t lib = spawn("rt_lib", NULL, 1, OP_UPGRADE);
    pid_t plan = spawn("rt_plan", NULL, 1, OP_PLAN);
    wait_until_waiting_for_lock("rt_cmd", cmd);
    wait_until_waiting_for_lock("rt_lib", lib);
    wait_until_waiting_for_lock("rt_plan", plan);
    release_a();

    assert_int_equal(exit_status(a), 0);
    assert_int_equal(exit_status(cmd), 0);
    assert_int_equal(exit_status(lib), 0);
    assert_int_equal(exit_status(plan), 0);
    assert_text(pgt_rows("SELECT id, state FROM retort_version ORDER BY seq", NULL),
                "c1|applied c2|applied c3|applied c4|applied c5|applied c6|applied");
    /* Each body ran once, and no operator action was ever needed. */
    assert_text(pgt_rows("SELECT id FROM runs ORDER BY id COLLATE \"C\"", NULL), "c1 c2 c3 c4 c5 c6");
    assert_int_equal(pgt_count("SELECT count(*) FROM retort_version_log WHERE direction LIKE "
                               "'mark-%'",
                               NULL),
                     0);
    /* The command only waited: it claims nothing. */
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char text[4096] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    if (strstr(text, "Applied"))
        fail_msg("the command that only waited printed: %s", text);
    assert_contains(text, "Nothing to upgrade: at c6");
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "%s/%s.sql", dir, ids[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* A (upgrading c1..c6) stops inside c4; B reads c1..c3 applied, plans, and
 * waits for the lock; A finishes; B must act on c1..c6 as they are then. */
static void race_upgrade(op other, const char *expect_runs)
{
    pgt_exec("CREATE TABLE runs (id TEXT)", NULL);
    pid_t a = start_a("c4", 0);
    pid_t b = spawn("rt_b", NULL, 0, other);
    wait_until_waiting_for_lock("rt_b", b);
    release_a();
    assert_int_equal(exit_status(a), 0);
    assert_int_equal(exit_status(b), 0);
    assert_int_equal(pgt_count("SELECT count(*) FROM retort_version v WHERE v.parents <> '' "
                               "AND NOT EXISTS (SELECT 1 FROM retort_version p "
                               "WHERE p.id = v.parents)",
                               NULL),
                     0);
    assert_text(pgt_rows("SELECT id FROM retort_version ORDER BY seq", NULL), "");
    assert_text(pgt_rows("SELECT id FROM runs ORDER BY id COLLATE \"C\"", NULL), expect_runs);
}

static void test_a_downgrade_racing_an_upgrade_reverts_what_the_upgrade_applied_meanwhile(
    void **state)
{
    (void)state;
    race_upgrade(OP_DOWNGRADE, "-c1 -c2 -c3 -c4 -c5 -c6 c1 c2 c3 c4 c5 c6");
}

static void test_stamp_base_racing_an_upgrade_unrecords_every_revision(void **state)
{
    (void)state;
    race_upgrade(OP_STAMP_BASE, "c1 c2 c3 c4 c5 c6");
}

#define PG_TEST(f) cmocka_unit_test_setup_teardown(f, pgt_setup, pgt_teardown)

int main(void)
{
    if (pgt_skip_unless_server())
        return 0;
    const struct CMUnitTest tests[] = {
        PG_TEST(test_calls_started_during_a_slow_non_transactional_revision_wait_and_succeed),
        PG_TEST(test_a_downgrade_racing_an_upgrade_reverts_what_the_upgrade_applied_meanwhile),
        PG_TEST(test_stamp_base_racing_an_upgrade_unrecords_every_revision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
