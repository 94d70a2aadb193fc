/*
 * steps.h — migration callbacks for the integration tests.  A "step" is one
 * revision's behaviour: the SQL its up and down callbacks run, whether up
 * fails after running it, and counters of how often each ran.  Every call
 * also appends "+id " or "-id " to a trace, so a test can assert the order
 * revisions ran in.  Header-only; each test executable includes it once.
 */
#ifndef RETORT_TEST_STEPS_H
#define RETORT_TEST_STEPS_H

#include "fixture.h"

typedef struct step {
    char id[64];
    char up_sql[512];
    char down_sql[512];
    int ups, downs;       /* how often each callback ran */
    int fail_up;          /* up runs its SQL, then returns failure */
    int fail_down;        /* down runs its SQL, then returns failure */
    const char *message;  /* given to retort_conn_set_error when failing */
} step;

static char step_trace[16384];

static inline void trace_append(char sign, const char *id)
{
    size_t len = strlen(step_trace);
    snprintf(step_trace + len, sizeof step_trace - len, "%c%s ", sign, id);
}

static inline int step_up(retort_conn *conn, void *user)
{
    step *s = user;
    s->ups++;
    trace_append('+', s->id);
    if (s->up_sql[0]) {
        int rc = retort_exec(conn, s->up_sql);
        if (rc != RETORT_OK)
            return rc;
    }
    if (s->fail_up) {
        if (s->message)
            retort_conn_set_error(conn, s->message);
        return 1;
    }
    return 0;
}

static inline int step_down(retort_conn *conn, void *user)
{
    step *s = user;
    s->downs++;
    trace_append('-', s->id);
    if (s->down_sql[0]) {
        int rc = retort_exec(conn, s->down_sql);
        if (rc != RETORT_OK)
            return rc;
    }
    if (s->fail_down) {
        if (s->message)
            retort_conn_set_error(conn, s->message);
        return 1;
    }
    return 0;
}

/* Fills s for a revision that creates table t_ID and drops it again. */
static inline step *step_init(step *s, const char *id)
{
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    snprintf(s->up_sql, sizeof s->up_sql, "CREATE TABLE t_%s (x INTEGER)", id);
    snprintf(s->down_sql, sizeof s->down_sql, "DROP TABLE t_%s", id);
    return s;
}

/* Registers s as a reversible callback revision creating table t_ID. */
static inline void add_step(retort *r, step *s, const char *id, const char *parents)
{
    step_init(s, id);
    assert_ok(r, retort_add(r, id, parents, "creates a table", step_up, step_down, s));
}

/* Registers s again in another context (same behaviour, same counters). */
static inline void readd_step(retort *r, step *s, const char *parents)
{
    assert_ok(r, retort_add(r, s->id, parents, "creates a table", step_up, step_down, s));
}

/* Registers s as an irreversible callback revision creating table t_ID. */
static inline void add_irreversible_step(retort *r, step *s, const char *id,
                                         const char *parents)
{
    step_init(s, id);
    assert_ok(r, retort_add(r, id, parents, "one way", step_up, NULL, s));
}

/* Registers a linear chain ids[0] <- ids[1] <- ... */
static inline void add_chain(retort *r, step *s, const char *const *ids, int n)
{
    for (int i = 0; i < n; i++)
        add_step(r, &s[i], ids[i], i ? ids[i - 1] : NULL);
}

static inline int it_setup(void **state)
{
    step_trace[0] = '\0';
    return fixture_setup(state);
}

#define IT_TEST(f) cmocka_unit_test_setup_teardown(f, it_setup, fixture_teardown)

#define assert_trace(expected) assert_string_equal(step_trace, expected)

#endif
