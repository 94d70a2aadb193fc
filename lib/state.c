/*
 * state.c — the recorded state (state.h): rows read from the version table
 * and their mapping onto the registry.
 */
#include "state.h"

#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "retort/retort.h"

/* A row's strings share one allocation owned by id: reading 100,000 rows
 * must not cost seven mallocs each. */
static void row_free(rt_row *row) { rt_free(row->id); }

void rt_state_forget(rt_state *s)
{
    for (int i = 0; i < s->n; i++)
        row_free(&s->rows[i]);
    s->n = 0;
    s->loaded = 0;
    s->table_missing = 0;
    s->nunknown = s->ndirty = 0;
    if (s->mark)
        memset(s->mark, 0, (size_t)s->nmark);
}

void rt_state_free(rt_state *s)
{
    rt_state_forget(s);
    rt_free(s->rows);
    rt_free(s->mark);
    memset(s, 0, sizeof *s);
}

int rt_state_add_row(rt_state *s, int ncols, const char *const *v)
{
    if (ncols < 7 || !v[0])
        return RETORT_EDB;
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 32;
        rt_row *rows = rt_reallocarray(s->rows, (size_t)cap, sizeof *rows);
        if (!rows)
            return RETORT_ENOMEM;
        s->rows = rows;
        s->cap = cap;
    }
    static const char *const defaults[7] = {"", "", "", NULL, "applied", "", "0"};
    size_t len[7], total = 0;
    for (int i = 0; i < 7; i++) {
        const char *value = v[i] ? v[i] : defaults[i];
        len[i] = value ? strlen(value) : 0;
        total += len[i] + 1;
    }
    char *block = rt_malloc(total);
    if (!block)
        return RETORT_ENOMEM;
    char *fields[7];
    char *w = block;
    for (int i = 0; i < 7; i++) {
        const char *value = v[i] ? v[i] : defaults[i];
        fields[i] = value ? w : NULL;
        if (value)
            memcpy(w, value, len[i]);
        w[len[i]] = '\0';
        w += len[i] + 1;
    }
    rt_row row = {fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6], -1};
    s->rows[s->n++] = row;
    return RETORT_OK;
}

int rt_state_resolve(rt_state *s, const rt_registry *reg)
{
    if (s->nmark < reg->n || !s->mark) {
        unsigned char *mark = rt_realloc(s->mark, (size_t)reg->n + 1);
        if (!mark)
            return RETORT_ENOMEM;
        s->mark = mark;
        s->nmark = reg->n;
    }
    memset(s->mark, 0, (size_t)s->nmark);
    s->nunknown = s->ndirty = 0;
    for (int i = 0; i < s->n; i++) {
        rt_row *row = &s->rows[i];
        int dirty = strcmp(row->state, "applied") != 0;
        row->rev = rt_registry_find(reg, row->id, strlen(row->id));
        if (row->rev < 0)
            s->nunknown++;
        else
            s->mark[row->rev] = dirty ? RT_DIRTY : RT_APPLIED;
        s->ndirty += dirty;
    }
    return RETORT_OK;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int rt_state_heads(const rt_state *s, const rt_graph *g, rt_buf *out)
{
    /* Sort every parent named by a row, then a row is a head when its id
     * is not among them: n log n, no hash set needed. */
    size_t nparents = 0;
    for (int i = 0; i < s->n; i++)
        for (const char *p = s->rows[i].parents; *p; p++)
            if (*p != ' ' && (p == s->rows[i].parents || p[-1] == ' '))
                nparents++;
    char **parents = rt_calloc(nparents + 1, sizeof *parents);
    const char **heads = rt_calloc((size_t)s->n + 1, sizeof *heads);
    int rc = RETORT_OK;
    if (!parents || !heads) {
        rc = RETORT_ENOMEM;
        goto out;
    }
    size_t k = 0;
    for (int i = 0; i < s->n; i++) {
        const char *p = s->rows[i].parents;
        while (*p) {
            while (*p == ' ')
                p++;
            const char *start = p;
            while (*p && *p != ' ')
                p++;
            if (p > start && k < nparents) {
                if (!(parents[k++] = rt_strndup(start, (size_t)(p - start)))) {
                    rc = RETORT_ENOMEM;
                    goto out;
                }
            }
        }
    }
    qsort(parents, k, sizeof *parents, cmp_str_ptr);
    int nheads = 0;
    for (int i = 0; i < s->n; i++) {
        const char *id = s->rows[i].id;
        if (bsearch(&id, parents, k, sizeof *parents, cmp_str_ptr))
            continue;
        int v = s->rows[i].rev, applied_child = 0;
        if (g && g->valid && v >= 0 && v < g->n && s->mark && v < s->nmark)
            for (int j = g->child_start[v]; j < g->child_start[v + 1] && !applied_child; j++)
                applied_child = g->child[j] < s->nmark && s->mark[g->child[j]] != RT_UNAPPLIED;
        if (!applied_child)
            heads[nheads++] = id;
    }
    qsort(heads, (size_t)nheads, sizeof *heads, cmp_str_ptr);
    for (int i = 0; i < nheads; i++) {
        if (i)
            rt_buf_append_char(out, ' ');
        rt_buf_append(out, heads[i]);
    }
    if (rt_buf_failed(out))
        rc = RETORT_ENOMEM;
out:
    if (parents)
        for (size_t i = 0; i < nparents; i++)
            rt_free(parents[i]);
    rt_free(parents);
    rt_free(heads);
    return rc;
}
