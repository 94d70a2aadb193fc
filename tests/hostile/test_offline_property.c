/*
 * test_offline_property.c — a property test of offline scripts: revisions
 * whose messages and SQL carry hostile text (drawn by a seeded PRNG from
 * fragments that end SQL contexts and that the shells interpret: quotes,
 * backslashes, dollar quotes, semicolons, comment openers, line breaks,
 * psql's \! and :variables, the sqlite3 shell's .shell, unicode) and whose
 * ids are random within [A-Za-z0-9_.-], rendered with retort_upgrade_sql /
 * retort_downgrade_sql and run by the real shells, psql and sqlite3.
 *
 * Properties, for every draw:
 *   - the shell runs the script without error and without running anything
 *     but SQL (a fragment that would run a shell command leaves a marker);
 *   - every version row holds exactly the id, parents, message and
 *     checksum of its revision (retort_check then finds every checksum
 *     matching), and the migrations' own rows hold exactly their text;
 *   - the schema and rows equal those of an online run of the same
 *     revisions;
 *   - the downgrade script brings the database back to no version row and
 *     no migration row.
 *
 * Bounded: ROUNDS draws per backend, seconds in all.  RETORT_PROPERTY_SEED
 * replays a draw (the seed is printed on failure).
 */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fixture.h"

/* Draws per backend; RETORT_PROPERTY_ROUNDS asks for more. */
#define ROUNDS 8
#define MAX_REVS 4

static uint64_t rng;

static uint32_t next(void)
{
    /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * UINT64_C(2685821657736338717)) >> 32);
}

static const char *const fragments[] = {
    "'", "''", "\"", "\\", "\\\\", "\\'", "$$", "$retort$", "$retort", "$retort1$", "$1", "$2",
    ";", "--", "/*", "*/", "\n", "\r", "\r\n", "\t", " ", "\n.shell touch pwned\n",
    "\n\\! touch pwned\n", "\\! touch pwned", ":foo", ":'foo'", ":\"foo\"", "\\gexec", "E'",
    "U&'", "\\x", "caf\xc3\xa9", "\xf0\x9f\x92\xa5", "\xe2\x80\xae", "{tag}", "{schema_name}",
    "{table}", "BEGIN;", "COMMIT;", "ROLLBACK;", "DROP TABLE payload; --", "x", "y", "0",
    "\n;\n", "\n-- retort:down\n", "%s%n", NULL};

static size_t nfragments(void)
{
    size_t n = 0;
    while (fragments[n])
        n++;
    return n;
}

/* 0..max fragments (malloc'd). */
static char *hostile_text(int max)
{
    size_t cap = 1024, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    int n = (int)(next() % (unsigned)(max + 1));
    for (int i = 0; i < n; i++) {
        const char *f = fragments[next() % nfragments()];
        size_t fl = strlen(f);
        if (len + fl + 1 > cap)
            break;
        memcpy(s + len, f, fl);
        len += fl;
    }
    s[len] = '\0';
    return s;
}

static void random_id(char *out, int k)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
    int n = 1 + (int)(next() % 20);
    /* the round number keeps ids unique; the rest is random */
    int w = snprintf(out, 64, "%d", k);
    for (int i = 0; i < n; i++)
        out[w++] = alphabet[next() % (sizeof alphabet - 1)];
    out[w] = '\0';
}

/* A literal of text the test writes itself, in the shell's dialect: a
 * dollar quote with a tag absent from the text (PostgreSQL), '' doubling
 * (SQLite, which has no backslash escapes) with a CR as char(13), which
 * the sqlite3 shell would otherwise drop at the end of a line. */
static void append_literal(char **buf, size_t *len, size_t *cap, const char *text)
{
    size_t need = *len + 20 * strlen(text) + 64;
    if (need > *cap) {
        *cap = need * 2;
        *buf = realloc(*buf, *cap);
        assert_non_null(*buf);
    }
    if (fixture_is_postgres()) {
        char tag[32];
        for (int n = 0;; n++) {
            snprintf(tag, sizeof tag, "$t%d", n);
            if (!strstr(text, tag))
                break;
        }
        *len += (size_t)sprintf(*buf + *len, "%s$%s%s$", tag, text, tag);
    } else {
        (*buf)[(*len)++] = '(';
        (*buf)[(*len)++] = '\'';
        for (const char *p = text; *p; p++) {
            if (*p == '\r') {
                *len += (size_t)sprintf(*buf + *len, "' || char(13) || '");
                continue;
            }
            if (*p == '\'')
                (*buf)[(*len)++] = '\'';
            (*buf)[(*len)++] = *p;
        }
        (*buf)[(*len)++] = '\'';
        (*buf)[(*len)++] = ')';
        (*buf)[*len] = '\0';
    }
}

typedef struct {
    char id[64];
    char *message;
    char *text; /* what the revision inserts into payload */
    char *up, *down;
} rev;

static char *statement(const char *fmt_head, const char *id, const char *text,
                       const char *fmt_tail)
{
    size_t cap = 256, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    len = (size_t)snprintf(s, cap, fmt_head, id);
    append_literal(&s, &len, &cap, text);
    size_t tl = strlen(fmt_tail);
    if (len + tl + 1 > cap) {
        s = realloc(s, len + tl + 1);
        assert_non_null(s);
    }
    memcpy(s + len, fmt_tail, tl + 1);
    return s;
}

static void draw(rev *revs, int n, int round)
{
    for (int i = 0; i < n; i++) {
        random_id(revs[i].id, round * 10 + i);
        revs[i].message = hostile_text(8);
        revs[i].text = hostile_text(12);
        /* The SQL body carries hostile text in a literal and in a block
         * comment (whose closer it must not hold, nor an opener, which
         * PostgreSQL nests: the body is code the author wrote, and
         * well-formed). */
        char *comment = hostile_text(6);
        for (char *p = comment; *p; p++)
            if ((p[0] == '*' && p[1] == '/') || (p[0] == '/' && p[1] == '*'))
                p[0] = ' ';
        size_t cl = strlen(comment) + 64;
        char *head = malloc(cl + 128);
        assert_non_null(head);
        snprintf(head, cl + 128, "/* %s */ INSERT INTO payload (rev, body) VALUES ('%%s', ",
                 comment);
        revs[i].up = statement(head, revs[i].id, revs[i].text, ");");
        free(head);
        free(comment);
        size_t dl = strlen(revs[i].id) + sizeof "DELETE FROM payload WHERE rev = '';";
        revs[i].down = malloc(dl);
        assert_non_null(revs[i].down);
        snprintf(revs[i].down, dl, "DELETE FROM payload WHERE rev = '%s';", revs[i].id);
    }
}

static void free_revs(rev *revs, int n)
{
    for (int i = 0; i < n; i++) {
        free(revs[i].message);
        free(revs[i].text);
        free(revs[i].up);
        free(revs[i].down);
    }
}

static void register_revs(retort *r, const rev *revs, int n)
{
    for (int i = 0; i < n; i++)
        assert_ok(r, retort_add_sql(r, revs[i].id, i ? revs[i - 1].id : NULL, revs[i].message,
                                    revs[i].up, revs[i].down));
}

/* Runs script with the backend's shell, from the test directory. */
static void run_shell(const char *script, const char *schema_or_db, uint64_t seed, int round)
{
    char *path = fixture_path("script.sql");
    char *out = fixture_path("shell.out");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(script, f);
    fclose(f);
    char cmd[4096];
    /* Every other round, the session reads backslashes in '...' as
     * escapes, as a database owner can make it (ALTER DATABASE ... SET
     * standard_conforming_strings = off): retort's literals must read the
     * same either way. */
    if (fixture_is_postgres())
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && PGOPTIONS='-csearch_path=%s -cstandard_conforming_strings=%s' "
                 "psql -X -q -v ON_ERROR_STOP=1 -f script.sql > shell.out 2>&1",
                 fixture_dir(), schema_or_db, round % 2 ? "off" : "on");
    else
        snprintf(cmd, sizeof cmd, "cd '%s' && sqlite3 -bail '%s' < script.sql > shell.out 2>&1",
                 fixture_dir(), schema_or_db);
    int status = system(cmd);
    char *output = fixture_read_file(out);
    char *marker = fixture_path("pwned");
    struct stat st;
    int pwned = stat(marker, &st) == 0;
    if (status != 0 || pwned || (output && *output))
        fail_msg("seed %llu: the %s shell %s (status %d):\n%s\nscript:\n%s",
                 (unsigned long long)seed, fixture_is_postgres() ? "psql" : "sqlite3",
                 pwned ? "ran a shell command" : "failed or complained", status,
                 output ? output : "", script);
    free(marker);
    free(output);
    free(out);
    free(path);
}

/* Every version row and payload row, in one text, read without retort. */
static char *rows_of(const char *qualifier, int with_checksum)
{
    char sql[1024];
    const char *ck = with_checksum ? "COALESCE(checksum, '')" : "''";
    snprintf(sql, sizeof sql,
             "SELECT COALESCE((SELECT group_concat(id || '|' || parents || '|' || message || '|' "
             "|| %s || '|' || state, '#') FROM (SELECT * FROM "
             "%sretort_version ORDER BY id)), '') || '##' || COALESCE((SELECT "
             "group_concat(rev || '|' || body, '#') FROM (SELECT * FROM %spayload ORDER BY "
             "rev)), '')",
             ck, qualifier, qualifier);
    if (fixture_is_postgres()) {
        /* group_concat is SQLite's; string_agg PostgreSQL's */
        snprintf(sql, sizeof sql,
                 "SELECT COALESCE((SELECT string_agg(id || '|' || parents || '|' || message || "
                 "'|' || %s || '|' || state, '#' ORDER BY id COLLATE \"C\") "
                 "FROM %sretort_version), '') || '##' || COALESCE((SELECT string_agg(rev || "
                 "'|' || body, '#' ORDER BY rev COLLATE \"C\") FROM %spayload), '')",
                 ck, qualifier, qualifier);
    }
    return fixture_scalar(sql);
}

static char *expected_rows(const rev *revs, int n)
{
    /* ids sorted bytewise, as the queries order them */
    int order[MAX_REVS];
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(revs[order[j]].id, revs[order[i]].id) < 0) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    size_t cap = 64;
    for (int i = 0; i < n; i++)
        cap += strlen(revs[i].message) + 2 * strlen(revs[i].text) + 300;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t len = 0;
    s[0] = '\0';
    for (int k = 0; k < n; k++) {
        const rev *v = &revs[order[k]];
        int idx = (int)(v - revs);
        len += (size_t)snprintf(s + len, cap - len, "%s%s|%s|%s||applied", k ? "#" : "",
                                v->id, idx ? revs[idx - 1].id : "", v->message);
    }
    len += (size_t)snprintf(s + len, cap - len, "##");
    for (int k = 0; k < n; k++) {
        const rev *v = &revs[order[k]];
        len += (size_t)snprintf(s + len, cap - len, "%s%s|%s", k ? "#" : "", v->id, v->text);
    }
    return s;
}

static void assert_text(const char *got, const char *expected, uint64_t seed, const char *what,
                        const char *script)
{
    if (strcmp(got, expected) != 0) {
        size_t at = 0;
        while (got[at] && got[at] == expected[at])
            at++;
        fail_msg("seed %llu: %s: first difference at byte %zu (got 0x%02x, expected 0x%02x)\n"
                 " got      [%s]\n expected [%s]\nscript:\n%s",
                 (unsigned long long)seed, what, at, (unsigned char)got[at],
                 (unsigned char)expected[at], got, expected, script ? script : "");
    }
}

static const char *qualifier_for(const char *schema, char *buf, size_t size)
{
    if (!schema)
        return "";
    snprintf(buf, size, "\"%s\".", schema);
    return buf;
}

/* One draw on one backend: offline in the fixture's database, online in a
 * second one (a second schema, a second file), then compared. */
static void one_round(int round, uint64_t seed)
{
    rev revs[MAX_REVS];
    int n = 1 + (int)(next() % MAX_REVS);
    draw(revs, n, round);

    const char *schema = fixture_schema();
    char online_schema[128], qbuf[200], qbuf2[200], online_url[1200], online_db[1024];
    fixture_exec("CREATE TABLE payload (rev VARCHAR(200) PRIMARY KEY, body TEXT NOT NULL)");

    /* offline */
    retort *r = fixture_new();
    register_revs(r, revs, n);
    const char *script = NULL;
    assert_ok(r, retort_upgrade_sql(r, "head", &script));
    char *up_script = strdup(script);
    assert_non_null(up_script);
    run_shell(up_script, schema ? schema : fixture_sqlite_path(), seed, round);
    char *got = rows_of(qualifier_for(schema, qbuf, sizeof qbuf), 0);
    char *want = expected_rows(revs, n);
    assert_text(got, want, seed, "rows after the offline upgrade", up_script);
    free(got);
    free(want);
    char *offline_rows = rows_of(qualifier_for(schema, qbuf, sizeof qbuf), 1);
    /* retort agrees: every head applied, every checksum matches */
    assert_ok(r, retort_check(r));

    /* online, elsewhere */
    retort *o = NULL;
    if (schema) {
        snprintf(online_schema, sizeof online_schema, "%s_on", schema);
        char sql[800];
        snprintf(sql, sizeof sql,
                 "DROP SCHEMA IF EXISTS \"%s\" CASCADE; CREATE SCHEMA \"%s\"; CREATE TABLE "
                 "\"%s\".payload (rev VARCHAR(200) PRIMARY KEY, body TEXT NOT NULL)",
                 online_schema, online_schema, online_schema);
        fixture_exec(sql);
        snprintf(online_url, sizeof online_url, "postgresql:options='-csearch_path=%s'",
                 online_schema);
        assert_int_equal(retort_new(&o, online_url), RETORT_OK);
        fixture_adopt(o);
        assert_ok(o, retort_set_schema(o, online_schema));
    } else {
        snprintf(online_db, sizeof online_db, "%s/online-%d.db", fixture_dir(), round);
        snprintf(online_url, sizeof online_url, "sqlite:%s", online_db);
        assert_int_equal(retort_new(&o, online_url), RETORT_OK);
        fixture_adopt(o);
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(online_db, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "CREATE TABLE payload (rev VARCHAR(200) PRIMARY KEY, "
                                          "body TEXT NOT NULL)",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
    }
    register_revs(o, revs, n);
    assert_ok(o, retort_migrate_to_head(o));
    const char *snap = NULL;
    assert_ok(o, retort_schema_snapshot(o, &snap));
    char *online_snap = strdup(snap);
    assert_ok(r, retort_schema_snapshot(r, &snap));
    assert_text(snap, online_snap, seed, "schema after offline vs online upgrade", up_script);
    free(online_snap);
    if (schema) {
        /* the same rows, checksums included */
        got = rows_of(qualifier_for(online_schema, qbuf2, sizeof qbuf2), 1);
        assert_text(got, offline_rows, seed, "rows after the online upgrade", NULL);
        free(got);
        char sql[200];
        snprintf(sql, sizeof sql, "DROP SCHEMA \"%s\" CASCADE", online_schema);
        fixture_free(o);
        fixture_exec(sql);
    } else {
        /* another file: compared through retort's own reading */
        const char *heads = NULL;
        assert_ok(o, retort_current(o, &heads));
        assert_string_equal(heads, revs[n - 1].id);
        fixture_free(o);
        unlink(online_db);
    }
    free(offline_rows);

    /* the downgrade script takes everything back out */
    char target[200];
    snprintf(target, sizeof target, "%s:base", revs[n - 1].id);
    assert_ok(r, retort_downgrade_sql(r, target, &script));
    char *down_script = strdup(script);
    assert_non_null(down_script);
    run_shell(down_script, schema ? schema : fixture_sqlite_path(), seed, round);
    got = rows_of(qualifier_for(schema, qbuf, sizeof qbuf), 1);
    assert_text(got, "##", seed, "rows after the offline downgrade", down_script);
    free(got);
    free(down_script);
    free(up_script);
    fixture_free(r);
    fixture_exec(schema ? "DROP TABLE payload, retort_version, retort_version_log"
                        : "DROP TABLE payload; DROP TABLE retort_version; "
                          "DROP TABLE retort_version_log");
    free_revs(revs, n);
}

static void test_offline_scripts_of_hostile_revisions_record_exactly_their_text(void **state)
{
    (void)state;
    const char *env = getenv("RETORT_PROPERTY_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : UINT64_C(20261203);
    const char *renv = getenv("RETORT_PROPERTY_ROUNDS");
    int rounds = renv ? atoi(renv) : ROUNDS;
    for (int round = 0; round < rounds; round++) {
        rng = (seed + (uint64_t)round) * UINT64_C(0x9E3779B97F4A7C15) | 1;
        one_round(round, seed + (uint64_t)round);
    }
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_offline_scripts_of_hostile_revisions_record_exactly_their_text, fixture_setup,
            fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
