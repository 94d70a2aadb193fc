/*
 * unit_util.h — a registry and its graph as a cmocka test state, for the
 * unit tests of graph.c, planner.c and registry.c.  Header-only: every unit
 * test executable includes it once.
 */
#ifndef RETORT_TEST_UNIT_UTIL_H
#define RETORT_TEST_UNIT_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "graph.h"
#include "registry.h"
#include "retort/retort.h"

#include "assertions.h"

typedef struct world {
    rt_registry reg;
    rt_graph g;
    rt_buf err;
    rt_buf out;
    unsigned char *mark; /* per revision: applied */
} world;

static inline int world_setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    *state = w;
    return 0;
}

static inline int world_teardown(void **state)
{
    world *w = *state;
    rt_graph_free(&w->g);
    rt_registry_free(&w->reg);
    rt_buf_free(&w->err);
    rt_buf_free(&w->out);
    free(w->mark);
    free(w);
    return 0;
}

static inline int noop_step(retort_conn *conn, void *user)
{
    (void)conn;
    (void)user;
    return 0;
}

/* Registers a reversible callback revision; fails the test on error. */
static inline void add_rev(world *w, const char *id, const char *parents)
{
    rt_buf_reset(&w->err);
    int rc = rt_registry_add(&w->reg, id, parents, NULL, noop_step, noop_step, NULL, NULL, NULL,
                             &w->err);
    if (rc != RETORT_OK)
        fail_msg("registering %s (parents \"%s\") failed with %d: %s", id,
                 parents ? parents : "", rc, rt_buf_str(&w->err));
    rt_graph_invalidate(&w->g);
}

/* Registers an irreversible callback revision. */
static inline void add_irreversible(world *w, const char *id, const char *parents)
{
    rt_buf_reset(&w->err);
    int rc = rt_registry_add(&w->reg, id, parents, NULL, noop_step, NULL, NULL, NULL, NULL,
                             &w->err);
    if (rc != RETORT_OK)
        fail_msg("registering %s failed with %d: %s", id, rc, rt_buf_str(&w->err));
    rt_graph_invalidate(&w->g);
}

static inline void build_ok(world *w)
{
    rt_buf_reset(&w->err);
    int rc = rt_graph_build(&w->g, &w->reg, &w->err);
    if (rc != RETORT_OK)
        fail_msg("rt_graph_build returned %d: %s", rc, rt_buf_str(&w->err));
    free(w->mark);
    w->mark = calloc((size_t)w->reg.n + 1, 1);
    assert_non_null(w->mark);
}

static inline int idx_of(world *w, const char *id)
{
    int i = rt_registry_find(&w->reg, id, strlen(id));
    if (i < 0)
        fail_msg("revision %s is not registered", id);
    return i;
}

/* Marks the space-separated ids as applied. */
static inline void apply(world *w, const char *ids)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", ids);
    for (char *save = NULL, *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
        w->mark[idx_of(w, t)] = 1;
}

/* The graph's plan order as space-separated ids (in w->out). */
static inline const char *topo_ids(world *w)
{
    rt_buf_reset(&w->out);
    for (int k = 0; k < w->g.n; k++) {
        if (k)
            rt_buf_append_char(&w->out, ' ');
        rt_buf_append(&w->out, w->reg.revs[w->g.topo[k]].id);
    }
    return rt_buf_str(&w->out);
}

static inline const char *head_ids(world *w)
{
    rt_buf_reset(&w->out);
    for (int k = 0; k < w->g.nheads; k++) {
        if (k)
            rt_buf_append_char(&w->out, ' ');
        rt_buf_append(&w->out, w->reg.revs[w->g.heads[k]].id);
    }
    return rt_buf_str(&w->out);
}

#define WORLD_TEST(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)

#endif
