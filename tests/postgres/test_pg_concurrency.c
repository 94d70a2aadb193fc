/*
 * test_pg_concurrency.c — PostgreSQL only: sixteen processes, each with its
 * own context, migrating one database at once, as replicas of an
 * application starting together.  Every revision body must run exactly
 * once and every process must return RETORT_OK.
 *
 * A body is counted twice, independently: a line appended (O_APPEND, one
 * write) to a file before it touches the database, which records every run
 * even if it is rolled back afterwards, and a row inserted into a counter
 * table in the migration, which records what the database kept.  Both must
 * be 1 per revision, and the version table and audit log must show each
 * revision applied once.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "pg_support.c"

enum { NPROC = 16, NREV = 6 };

/* One revision's body. */
typedef struct counted {
    char id[32];
    char counter[48];  /* the table counting runs; the first revision creates it */
    int first;
    const char *runs;  /* the file counting runs */
    const char *extra; /* SQL run after counting, or NULL */
} counted;

static int counted_up(retort_conn *conn, void *user)
{
    const counted *c = user;
    char line[96];
    int n = snprintf(line, sizeof line, "%s %ld\n", c->id, (long)getpid());
    int fd = open(c->runs, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0)
        return 1;
    ssize_t w = write(fd, line, (size_t)n);
    close(fd);
    if (w != n)
        return 1;
    char sql[160];
    if (c->first) {
        snprintf(sql, sizeof sql, "CREATE TABLE %s (rev TEXT NOT NULL, pid INTEGER NOT NULL)",
                 c->counter);
        int rc = retort_exec(conn, sql);
        if (rc != RETORT_OK)
            return rc;
    }
    snprintf(sql, sizeof sql, "INSERT INTO %s (rev, pid) VALUES ($1, $2::integer)", c->counter);
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    const char *params[] = {c->id, pid};
    int rc = retort_exec_params(conn, sql, 2, params);
    if (rc == RETORT_OK && c->extra)
        rc = retort_exec(conn, c->extra);
    return rc;
}

/* What one replica migrates: a chain of NREV revisions PREFIXr0..r5. */
typedef struct group {
    const char *schema;  /* retort_set_schema, NULL: left unset */
    const char *table;   /* retort_set_version_table, NULL: the default */
    const char *prefix;  /* of revision ids and the counter table */
    int cic_at;          /* the revision that also builds an index concurrently, -1: none */
} group;

static void group_ids(const group *g, int k, char *id, size_t idsize)
{
    snprintf(id, idsize, "%sr%d", g->prefix, k);
}

static void group_counter(const group *g, char *out, size_t size)
{
    snprintf(out, size, "%scounter", g->prefix);
}

/* ------------------------------------------------------------ replicas */

/* One replica: waits at the gate, builds its own context, migrates, and
 * leaves with _exit (never returns, never touches cmocka or the parent's
 * connections). */
static void replica(int gate, const group *g, const char *runs)
{
    char go;
    ssize_t got;
    do
        got = read(gate, &go, 1); /* 0 when the parent closes the pipe: go */
    while (got < 0 && errno == EINTR);
    close(gate);

    counted revs[NREV];
    char index_sql[160];
    retort *r = NULL;
    int rc = retort_new(&r, T.url);
    if (rc == RETORT_OK && g->schema)
        rc = retort_set_schema(r, g->schema);
    if (rc == RETORT_OK && g->table)
        rc = retort_set_version_table(r, g->table);
    for (int k = 0; rc == RETORT_OK && k < NREV; k++) {
        counted *c = &revs[k];
        memset(c, 0, sizeof *c);
        group_ids(g, k, c->id, sizeof c->id);
        group_counter(g, c->counter, sizeof c->counter);
        c->first = k == 0;
        c->runs = runs;
        char parent[32] = "";
        if (k)
            group_ids(g, k - 1, parent, sizeof parent);
        if (k == g->cic_at) {
            snprintf(index_sql, sizeof index_sql,
                     "CREATE INDEX CONCURRENTLY %scounter_rev_idx ON %s (rev)", g->prefix,
                     c->counter);
            c->extra = index_sql;
        }
        rc = retort_add(r, c->id, parent, NULL, counted_up, NULL, c);
        if (rc == RETORT_OK && k == g->cic_at)
            rc = retort_revision_set_transactional(r, c->id, 0);
    }
    if (rc == RETORT_OK)
        rc = retort_migrate_to_head(r);
    if (rc != RETORT_OK)
        fprintf(stderr, "replica %ld (%s): status %d: %s\n", (long)getpid(),
                g->table ? g->table : "retort_version", rc, retort_errmsg(r));
    retort_free(r);
    _exit(rc == RETORT_OK ? 0 : rc > 0 && rc < 125 ? rc : 125);
}

/* Forks NPROC replicas, replica i migrating groups[i % ngroups], opens the
 * gate so that they start together, and returns how many returned
 * RETORT_OK (the others' messages are on stderr). */
static int run_replicas(const group *groups, int ngroups, const char *runs)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL); /* no buffered output duplicated into the children */
    pid_t pids[NPROC];
    for (int i = 0; i < NPROC; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            close(fds[1]); /* let the ones started go, then wait for them */
            for (int j = 0; j < i; j++)
                waitpid(pids[j], NULL, 0);
            fail_msg("fork: %s", strerror(errno));
        }
        if (pids[i] == 0) {
            close(fds[1]);
            replica(fds[0], &groups[i % ngroups], runs);
        }
    }
    close(fds[0]);
    close(fds[1]); /* go */
    int ok = 0;
    for (int i = 0; i < NPROC; i++) {
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
    return ok;
}

static void assert_all_replicas_succeeded(int ok)
{
    if (ok != NPROC)
        fail_msg("%d of %d replicas failed (their messages are above)", NPROC - ok, NPROC);
}

/* ---------------------------------------------------------- end state */

/* How many lines of the runs file are for revision id. */
static int runs_of(const char *runs, const char *id)
{
    FILE *f = fopen(runs, "r");
    if (!f)
        return 0;
    char line[128];
    int n = 0;
    size_t len = strlen(id);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, id, len) == 0 && line[len] == ' ')
            n++;
    fclose(f);
    return n;
}

static int runs_total(const char *runs)
{
    FILE *f = fopen(runs, "r");
    if (!f)
        return 0;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* Each revision of g: its body ran once (file and counter table), its
 * version row is 'applied', the audit log holds one successful "up" and
 * no failure; and the version table holds exactly the chain, in order. */
static void assert_group_applied_once(const group *g, const char *runs)
{
    char vt[160], log[160], counter[48], expected[NREV * 34] = "";
    const char *schema = g->schema ? g->schema : "public";
    const char *table = g->table ? g->table : "retort_version";
    snprintf(vt, sizeof vt, "\"%s\".\"%s\"", schema, table);
    snprintf(log, sizeof log, "\"%s\".\"%s_log\"", schema, table);
    group_counter(g, counter, sizeof counter);

    char sql[320];
    for (int k = 0; k < NREV; k++) {
        char id[32];
        group_ids(g, k, id, sizeof id);
        int file_runs = runs_of(runs, id);
        if (file_runs != 1)
            fail_msg("the body of %s ran %d times (runs file)", id, file_runs);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE rev = $1", counter);
        long kept = pgt_count(sql, id, NULL);
        if (kept != 1)
            fail_msg("the body of %s left %ld rows in %s", id, kept, counter);
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM %s WHERE revision = $1 AND direction = 'up' AND "
                 "outcome = 'ok'",
                 log);
        long logged = pgt_count(sql, id, NULL);
        if (logged != 1)
            fail_msg("the audit log records %ld successful upgrades of %s", logged, id);
        size_t len = strlen(expected);
        snprintf(expected + len, sizeof expected - len, "%s%s|applied", k ? " " : "", id);
    }
    snprintf(sql, sizeof sql, "SELECT id, state FROM %s ORDER BY seq", vt);
    assert_text(pgt_rows(sql, NULL), expected);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE outcome <> 'ok'", log);
    assert_int_equal(pgt_count(sql, NULL), 0);
}

/* -------------------------------------------------------------- tests */

static void test_sixteen_processes_run_each_revision_body_exactly_once_and_all_succeed(
    void **state)
{
    (void)state;
    char runs[300];
    pgt_path(runs, sizeof runs, "runs");
    const group g = {NULL, NULL, "", -1};
    assert_all_replicas_succeeded(run_replicas(&g, 1, runs));
    assert_group_applied_once(&g, runs);
    assert_int_equal(runs_total(runs), NREV);
}

static void test_sixteen_processes_started_again_at_head_all_succeed_and_run_nothing(
    void **state)
{
    (void)state;
    char runs[300];
    pgt_path(runs, sizeof runs, "runs");
    const group g = {NULL, NULL, "", -1};
    assert_all_replicas_succeeded(run_replicas(&g, 1, runs));
    assert_all_replicas_succeeded(run_replicas(&g, 1, runs)); /* every replica restarts */
    assert_group_applied_once(&g, runs);
    assert_int_equal(runs_total(runs), NREV);
}

/* The lock key spells the default schema out, so a migrator that leaves it
 * unset and one that names "public" must wait for each other: with two
 * keys both would run the same bodies. */
static void test_processes_leaving_the_schema_unset_and_naming_public_share_one_lock(
    void **state)
{
    (void)state;
    char runs[300];
    pgt_path(runs, sizeof runs, "runs");
    const group groups[2] = {{NULL, NULL, "", -1}, {"public", NULL, "", -1}};
    assert_all_replicas_succeeded(run_replicas(groups, 2, runs));
    assert_group_applied_once(&groups[0], runs);
    assert_int_equal(runs_total(runs), NREV);
}

/* A replica may first read the version row of a non-transactional revision
 * as 'dirty' while another one is running it; it must wait for the lock
 * and then see it applied, not report a dirty database. */
static void test_sixteen_processes_build_a_concurrent_index_revision_once(void **state)
{
    (void)state;
    char runs[300];
    pgt_path(runs, sizeof runs, "runs");
    const group g = {NULL, NULL, "", 3};
    assert_all_replicas_succeeded(run_replicas(&g, 1, runs));
    assert_group_applied_once(&g, runs);
    assert_int_equal(runs_total(runs), NREV);
    assert_int_equal(pgt_index_state("counter_rev_idx"), 1);
    /* The insert and the index build, each committed on its own. */
    assert_text(pgt_rows("SELECT statements_done FROM retort_version_log WHERE revision = 'r3'",
                         NULL),
                "2");
}

/* Different version tables have different locks, so their migrators run
 * side by side, and all of them find the schema missing at first: creating
 * it must not fail for the ones that lose that race. */
static void test_processes_migrating_different_version_tables_into_a_new_schema_all_succeed(
    void **state)
{
    (void)state;
    char runs[300];
    pgt_path(runs, sizeof runs, "runs");
    const group groups[4] = {{"fresh_schema", "versions_a", "a_", -1},
                             {"fresh_schema", "versions_b", "b_", -1},
                             {"fresh_schema", "versions_c", "c_", -1},
                             {"fresh_schema", "versions_d", "d_", -1}};
    assert_all_replicas_succeeded(run_replicas(groups, 4, runs));
    for (int i = 0; i < 4; i++)
        assert_group_applied_once(&groups[i], runs);
    assert_int_equal(runs_total(runs), 4 * NREV);
}

#define PG_TEST(f) cmocka_unit_test_setup_teardown(f, pgt_setup, pgt_teardown)

int main(void)
{
    if (pgt_skip_unless_server())
        return 0;
    const struct CMUnitTest tests[] = {
        PG_TEST(test_sixteen_processes_run_each_revision_body_exactly_once_and_all_succeed),
        PG_TEST(test_sixteen_processes_started_again_at_head_all_succeed_and_run_nothing),
        PG_TEST(test_processes_leaving_the_schema_unset_and_naming_public_share_one_lock),
        PG_TEST(test_sixteen_processes_build_a_concurrent_index_revision_once),
        PG_TEST(test_processes_migrating_different_version_tables_into_a_new_schema_all_succeed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
