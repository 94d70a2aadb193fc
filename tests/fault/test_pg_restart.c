/*
 * test_pg_restart.c — the PostgreSQL server stopped and restarted between
 * two runs.  The test needs to stop the server, so it starts a private
 * cluster of its own (initdb and pg_ctl from /usr/lib/postgresql/N/bin, on a
 * Unix socket in a temporary directory, no TCP), run as the "postgres" user
 * when the test runs as root.  It skips, with the reason, where there are no
 * server binaries.  While the server is down a run fails with a clear
 * connection error and changes nothing; once it is back the next run
 * completes, from a new context and from the one that saw the server go.
 */
#include <fcntl.h>
#include <glob.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <sys/stat.h>

#include <retort/backend.h>

#include "fault_util.h"

enum { NREVS = 4 };

static struct {
    char bindir[256];
    char dir[256];  /* the cluster's temporary directory: data/, socket, log */
    int port;
    int as_postgres; /* root: run the server binaries as "postgres" */
    uid_t uid;
    gid_t gid;
    int running;
    int dbcounter;
} C;

/* Runs a server binary (argv[0] a name in bindir); returns its exit status. */
static int run_server_tool(const char *const *argv)
{
    char exe[400];
    snprintf(exe, sizeof exe, "%s/%s", C.bindir, argv[0]);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        if (C.as_postgres && (setgid(C.gid) != 0 || setuid(C.uid) != 0))
            _exit(126);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int server_start(void)
{
    char opts[512], data[300], log[300];
    snprintf(data, sizeof data, "%s/data", C.dir);
    snprintf(log, sizeof log, "%s/server.log", C.dir);
    snprintf(opts, sizeof opts, "-k %s -p %d -c listen_addresses='' -c fsync=off", C.dir,
             C.port);
    const char *argv[] = {"pg_ctl", "-D", data, "-l", log, "-o", opts, "-w", "-t", "60",
                          "start", NULL};
    int rc = run_server_tool(argv);
    C.running = rc == 0;
    return rc;
}

static int server_stop(const char *mode)
{
    char data[300];
    snprintf(data, sizeof data, "%s/data", C.dir);
    const char *argv[] = {"pg_ctl", "-D", data, "-m", mode, "-w", "stop", NULL};
    int rc = run_server_tool(argv);
    if (rc == 0)
        C.running = 0;
    return rc;
}

static void remove_dir_tree(const char *dir)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
}

/* Why the cluster cannot be had here, or NULL after starting it. */
static const char *cluster_up(void)
{
    static char why[300];
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/pg_ctl", 0, NULL, &g) != 0 || g.gl_pathc == 0)
        return "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/pg_ctl)";
    /* The highest version: glob sorts, and versions here have two digits. */
    snprintf(C.bindir, sizeof C.bindir, "%s", g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    *strrchr(C.bindir, '/') = '\0';
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        if (!pw)
            return "running as root and there is no 'postgres' user to run the server as";
        C.as_postgres = 1;
        C.uid = pw->pw_uid;
        C.gid = pw->pw_gid;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(C.dir, sizeof C.dir, "%s/rt-pgc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(C.dir))
        return "cannot create a temporary directory";
    if (C.as_postgres && chown(C.dir, C.uid, C.gid) != 0)
        return "cannot hand the temporary directory to the postgres user";
    C.port = 20000 + (int)(getpid() % 20000);
    char data[300];
    snprintf(data, sizeof data, "%s/data", C.dir);
    const char *initdb[] = {"initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                            "--locale=C", "--no-sync", NULL};
    if (run_server_tool(initdb) != 0) {
        snprintf(why, sizeof why, "initdb failed in %s", C.dir);
        return why;
    }
    if (server_start() != 0) {
        snprintf(why, sizeof why, "pg_ctl start failed (see %s/server.log)", C.dir);
        return why;
    }
    return NULL;
}

static int group_teardown(void **state)
{
    (void)state;
    if (C.running)
        server_stop("immediate");
    if (C.dir[0])
        remove_dir_tree(C.dir);
    return 0;
}

/* ----------------------------------------------------- per-test database */

static char db[64];
static char url[512];

static PGconn *connect_to(const char *dbname)
{
    char port[16];
    snprintf(port, sizeof port, "%d", C.port);
    const char *keys[] = {"host", "port", "user", "dbname", NULL};
    const char *values[] = {C.dir, port, "postgres", dbname, NULL};
    PGconn *c = PQconnectdbParams(keys, values, 0);
    if (!c || PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to the private cluster: %s",
                 c ? PQerrorMessage(c) : "out of memory");
    return c;
}

static char *scalar(const char *sql)
{
    PGconn *c = connect_to(db);
    PGresult *res = PQexec(c, sql);
    char *out = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
        out = strdup(PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
    else if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(c);
    return out;
}

#define assert_applied(expected)                                                               \
    do {                                                                                       \
        char *v_ = scalar("SELECT COALESCE(string_agg(id, ' ' ORDER BY id), '') FROM "         \
                          "retort_version WHERE state = 'applied'");                           \
        assert_non_null(v_);                                                                   \
        assert_string_equal(v_, expected);                                                     \
        free(v_);                                                                              \
    } while (0)

static int test_setup(void **state)
{
    (void)state;
    snprintf(db, sizeof db, "restart_%d", ++C.dbcounter);
    snprintf(url, sizeof url, "postgresql:host=%s port=%d user=postgres dbname=%s", C.dir,
             C.port, db);
    PGconn *c = connect_to("postgres");
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    PGresult *res = PQexec(c, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    PQfinish(c);
    return ok ? 0 : -1;
}

static retort *new_context(void)
{
    retort *r = NULL;
    if (retort_new(&r, url) != RETORT_OK)
        fail_msg("retort_new: %s", retort_errmsg(r));
    if (chain_add(r, NREVS) != RETORT_OK)
        fail_msg("chain_add: %s", retort_errmsg(r));
    return r;
}

static void test_server_down_between_runs_is_a_clear_error_and_the_run_after_restart_completes(
    void **state)
{
    (void)state;
    retort *first = new_context();
    assert_ok(first, retort_upgrade(first, "r01"));
    assert_int_equal(server_stop("fast"), 0);

    /* The context that had a session: it is gone. */
    int rc = retort_migrate_to_head(first);
    assert_int_not_equal(rc, RETORT_OK);
    assert_contains(retort_errmsg(first), "connection");
    /* A new process while the server is down: cannot connect, and says where. */
    retort *during = new_context();
    assert_rc(during, retort_migrate_to_head(during), RETORT_ECONNECT);
    char port[16];
    snprintf(port, sizeof port, "%d", C.port);
    assert_contains(retort_errmsg(during), port);
    retort_free(during);

    assert_int_equal(server_start(), 0);
    assert_applied("r00 r01");
    char *t = scalar("SELECT COUNT(*) FROM pg_tables WHERE tablename = 't_r02'");
    assert_string_equal(t, "0");
    free(t);

    retort *after = new_context();
    assert_ok(after, retort_migrate_to_head(after));
    assert_applied("r00 r01 r02 r03");
    retort_free(after);
    retort_free(first);
}

static void test_context_kept_across_a_server_restart_completes_its_next_run(void **state)
{
    (void)state;
    retort *r = new_context();
    assert_ok(r, retort_upgrade(r, "r01"));
    assert_int_equal(server_stop("fast"), 0);
    assert_int_equal(server_start(), 0);
    /* An application that keeps its context across a database restart
     * (a failover, a maintenance window) must not be stuck with a dead
     * session forever. */
    int rc = retort_migrate_to_head(r);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", retort_errmsg(r));
    retort_free(r);
    if (rc != RETORT_OK)
        fail_msg("the run after the restart failed (%d): %s", rc, msg);
    assert_applied("r00 r01 r02 r03");
}

int main(void)
{
    if (!retort_backend_find("postgresql")) {
        printf("1..0 # SKIP retort was built without the PostgreSQL backend\n");
        return 0;
    }
    const char *why = cluster_up();
    if (why) {
        printf("1..0 # SKIP cannot start a private PostgreSQL cluster: %s\n", why);
        group_teardown(NULL);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(
            test_server_down_between_runs_is_a_clear_error_and_the_run_after_restart_completes,
            test_setup),
        cmocka_unit_test_setup(test_context_kept_across_a_server_restart_completes_its_next_run,
                               test_setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, group_teardown);
    return rc;
}
