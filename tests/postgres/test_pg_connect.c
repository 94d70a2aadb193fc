/*
 * test_pg_connect.c — PostgreSQL only: connection failures.  Each is
 * RETORT_ECONNECT with a message naming the host and the database, and no
 * message or log line ever holds a password: neither one written in the
 * URL nor PGPASSWORD from the environment.  A database name that looks like
 * connection keywords stays a name: the connection fails naming it rather
 * than going where the keywords point.
 *
 * The server comes from the libpq environment (PGHOST, PGPORT, PGUSER,
 * PGPASSWORD); URLs below spell host, port and user out where a test needs
 * them in the URL itself.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "pg_support.c"

/* ------------------------------------------------------------ helpers */

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

#define HOST() env_or("PGHOST", "localhost")
#define PORT() env_or("PGPORT", "5432")
#define USER() env_or("PGUSER", "postgres")

/* A TCP port on 127.0.0.1 that nothing listens on (it was free a moment
 * ago: bound, read back and closed). */
static int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
             getsockname(fd, (struct sockaddr *)&a, &len) == 0;
    close(fd);
    assert_true(ok);
    return ntohs(a.sin_port);
}

/* Every log line of every level, to check that none holds a password. */
static char logged[16384];

static void capture_log(int level, const char *message, void *user)
{
    (void)level;
    (void)user;
    size_t len = strlen(logged);
    snprintf(logged + len, sizeof logged - len, "%s\n", message);
}

/* A context on url logging everything into logged[]. */
static retort *new_logged(const char *url)
{
    logged[0] = '\0';
    retort *r = pgt_new_url(url);
    assert_ok(r, retort_set_log(r, capture_log, NULL));
    assert_ok(r, retort_set_log_level(r, RETORT_LOG_DEBUG));
    assert_ok(r, retort_add_sql(r, "r1", NULL, NULL, "CREATE TABLE t_r1 (x INTEGER)", NULL));
    return r;
}

/* Neither secret (NULL: none) nor PGPASSWORD in the message or the log. */
static void assert_no_password(retort *r, const char *secret)
{
    const char *env_password = getenv("PGPASSWORD");
    if (secret) {
        assert_not_contains(retort_errmsg(r), secret);
        assert_not_contains(logged, secret);
    }
    if (env_password && *env_password) {
        assert_not_contains(retort_errmsg(r), env_password);
        assert_not_contains(logged, env_password);
    }
}

/* Migrating and reading the state both fail to connect. */
static void assert_econnect(retort *r)
{
    assert_rc(r, retort_migrate_to_head(r), RETORT_ECONNECT);
    char first[2048];
    snprintf(first, sizeof first, "%s", retort_errmsg(r));
    const char *heads = NULL;
    assert_rc(r, retort_current(r, &heads), RETORT_ECONNECT);
    assert_string_equal(retort_errmsg(r), first); /* the same failure, told the same way */
}

/* Whether libpq itself gets in with this password: a server that trusts
 * local connections checks none, and then a wrong one cannot be tested. */
static int server_accepts_password(const char *password)
{
    const char *const keys[] = {"host", "port", "user", "dbname", "password", NULL};
    const char *const values[] = {HOST(), PORT(), USER(), T.db, password, NULL};
    PGconn *c = PQconnectdbParams(keys, values, 0);
    int ok = c && PQstatus(c) == CONNECTION_OK;
    PQfinish(c);
    return ok;
}

/* ---------------------------------------------------------------- tests */

static void test_connection_refused_is_econnect_naming_host_and_database(void **state)
{
    (void)state;
    char url[300], secret[64];
    snprintf(secret, sizeof secret, "Refused-Secret-%ld", (long)getpid());
    snprintf(url, sizeof url, "postgresql://%s:%s@127.0.0.1:%d/rt_refused_db", USER(), secret,
             unused_port());
    retort *r = new_logged(url);
    assert_econnect(r);
    assert_contains(retort_errmsg(r), "127.0.0.1");
    assert_contains(retort_errmsg(r), "rt_refused_db");
    assert_contains(retort_errmsg(r), "refused");
    assert_no_password(r, secret);
}

static void test_wrong_password_is_econnect_naming_host_and_database_but_not_the_password(
    void **state)
{
    (void)state;
    char secret[64];
    snprintf(secret, sizeof secret, "Wrong-Secret-%ld", (long)getpid());
    if (server_accepts_password(secret))
        skip(); /* this server does not check passwords (trust authentication) */
    char urls[2][400];
    snprintf(urls[0], sizeof urls[0], "postgresql://%s:%s@%s:%s/%s", USER(), secret, HOST(),
             PORT(), T.db);
    snprintf(urls[1], sizeof urls[1], "postgresql:host=%s port=%s user=%s dbname=%s "
                                      "password='%s'",
             HOST(), PORT(), USER(), T.db, secret);
    for (int i = 0; i < 2; i++) {
        retort *r = new_logged(urls[i]);
        assert_econnect(r);
        assert_contains(retort_errmsg(r), "password authentication failed");
        assert_contains(retort_errmsg(r), HOST());
        assert_contains(retort_errmsg(r), T.db);
        assert_no_password(r, secret);
    }
}

static void test_unknown_database_is_econnect_naming_host_and_database(void **state)
{
    (void)state;
    char missing[96], urls[2][400];
    snprintf(missing, sizeof missing, "%s_missing", T.db);
    /* The password from the environment, and the right one in the URL: the
     * connection gets past authentication before it fails. */
    snprintf(urls[0], sizeof urls[0], "postgresql:dbname=%s", missing);
    snprintf(urls[1], sizeof urls[1], "postgresql://%s:%s@%s:%s/%s", USER(),
             env_or("PGPASSWORD", ""), HOST(), PORT(), missing);
    for (int i = 0; i < 2; i++) {
        retort *r = new_logged(urls[i]);
        assert_econnect(r);
        assert_contains(retort_errmsg(r), HOST());
        assert_contains(retort_errmsg(r), missing);
        assert_contains(retort_errmsg(r), "does not exist");
        assert_no_password(r, NULL);
    }
}

static void test_database_name_with_connection_keywords_in_a_uri_stays_literal(void **state)
{
    (void)state;
    char url[400];
    snprintf(url, sizeof url, "postgresql://%s:%s/x%%20host%%3Devil", HOST(), PORT());
    retort *r = new_logged(url);
    assert_econnect(r);
    assert_contains(retort_errmsg(r), "database \"x host=evil\" does not exist");
    assert_contains(retort_errmsg(r), HOST());
    assert_not_contains(retort_errmsg(r), "\"evil\""); /* no attempt to reach host "evil" */
}

/* The same with keywords that would succeed if they were obeyed: they name
 * this test's database, which must stay untouched. */
static void test_database_name_with_keywords_naming_a_real_database_does_not_reach_it(
    void **state)
{
    (void)state;
    char urls[2][400], literal[160];
    snprintf(literal, sizeof literal, "nodb dbname=%s", T.db);
    snprintf(urls[0], sizeof urls[0], "postgresql://%s:%s/nodb%%20dbname%%3D%s", HOST(), PORT(),
             T.db);
    snprintf(urls[1], sizeof urls[1], "postgresql:dbname='nodb dbname=%s'", T.db);
    for (int i = 0; i < 2; i++) {
        retort *r = new_logged(urls[i]);
        assert_econnect(r);
        assert_contains(retort_errmsg(r), literal);
    }
    assert_false(pgt_table_exists(NULL, "retort_version"));
    assert_false(pgt_table_exists(NULL, "t_r1"));
}

/* libpq reads a URI's password up to the '@', '?' and '#' included (they
 * should be percent-encoded, but a careless password has them raw). */
static void test_password_with_raw_uri_delimiters_never_appears_in_messages(void **state)
{
    (void)state;
    const char *secrets[] = {"pa?ss-Secret", "pa#ss-Secret", "pa?s#s-Secret"};
    if (server_accepts_password(secrets[0]))
        skip(); /* this server does not check passwords (trust authentication) */
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        char url[400];
        snprintf(url, sizeof url, "postgresql://%s:%s@%s:%s/%s", USER(), secrets[i], HOST(),
                 PORT(), T.db);
        retort *r = new_logged(url);
        assert_econnect(r);
        assert_no_password(r, "Secret");
    }
}

#define PG_TEST(f) cmocka_unit_test_setup_teardown(f, pgt_setup, pgt_teardown)

int main(void)
{
    if (pgt_skip_unless_server())
        return 0;
    const struct CMUnitTest tests[] = {
        PG_TEST(test_connection_refused_is_econnect_naming_host_and_database),
        PG_TEST(test_wrong_password_is_econnect_naming_host_and_database_but_not_the_password),
        PG_TEST(test_unknown_database_is_econnect_naming_host_and_database),
        PG_TEST(test_database_name_with_connection_keywords_in_a_uri_stays_literal),
        PG_TEST(test_database_name_with_keywords_naming_a_real_database_does_not_reach_it),
        PG_TEST(test_password_with_raw_uri_delimiters_never_appears_in_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
