/*
 * registry.c — registration of revisions (retort_add, retort_add_sql,
 * retort_revision_set_transactional) and the id index.  Validates what can
 * be validated from one revision alone; graph-wide checks belong to graph.c.
 */
#include "registry.h"

#include <stdint.h>
#include <string.h>

#include "checksum.h"
#include "context.h"
#include "error.h"
#include "memory.h"

int rt_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > RT_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

int rt_id_reserved(const char *s, size_t len)
{
    return (len == 4 && memcmp(s, "base", 4) == 0) || (len == 4 && memcmp(s, "head", 4) == 0) ||
           (len == 5 && memcmp(s, "heads", 5) == 0);
}

static uint64_t hash_id(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

int rt_registry_find(const rt_registry *reg, const char *s, size_t len)
{
    if (!reg->nslots)
        return -1;
    size_t mask = reg->nslots - 1;
    for (size_t i = (size_t)hash_id(s, len) & mask;; i = (i + 1) & mask) {
        int slot = reg->slots[i];
        if (!slot)
            return -1;
        const char *id = reg->revs[slot - 1].id;
        if (strncmp(id, s, len) == 0 && id[len] == '\0')
            return slot - 1;
    }
}

static void index_insert(int *slots, size_t nslots, const char *id, int index)
{
    size_t mask = nslots - 1;
    size_t i = (size_t)hash_id(id, strlen(id)) & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = index + 1;
}

/* Keeps the index at most half full so probes stay short. */
static int index_reserve(rt_registry *reg, int want)
{
    if ((size_t)want * 2 <= reg->nslots)
        return RETORT_OK;
    size_t nslots = reg->nslots ? reg->nslots : 64;
    while ((size_t)want * 2 > nslots)
        nslots *= 2;
    int *slots = rt_calloc(nslots, sizeof *slots);
    if (!slots)
        return RETORT_ENOMEM;
    for (int i = 0; i < reg->n; i++)
        index_insert(slots, nslots, reg->revs[i].id, i);
    rt_free(reg->slots);
    reg->slots = slots;
    reg->nslots = nslots;
    return RETORT_OK;
}

void rt_free_id_list(char **ids, int n)
{
    for (int i = 0; i < n; i++)
        rt_free(ids[i]);
    rt_free(ids);
}

int rt_parse_id_list(const char *list, char ***ids_out, int *n_out, const char *what, rt_buf *err)
{
    char **ids = NULL;
    int n = 0, cap = 0;
    const char *p = list ? list : "";
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ' ' && *p != ',' && *p != '\t')
            p++;
        size_t len = (size_t)(p - start);
        if (!rt_id_valid(start, len)) {
            rt_buf_printf(err, "%s: invalid revision id '%.*s' (ids are 1-128 characters of "
                               "[A-Za-z0-9_.-])", what, (int)(len > 200 ? 200 : len), start);
            rt_free_id_list(ids, n);
            return RETORT_EINVAL;
        }
        for (int i = 0; i < n; i++) {
            if (strlen(ids[i]) == len && memcmp(ids[i], start, len) == 0) {
                rt_buf_printf(err, "%s: revision '%.*s' is listed twice", what, (int)len, start);
                rt_free_id_list(ids, n);
                return RETORT_EINVAL;
            }
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            char **grown = rt_reallocarray(ids, (size_t)cap, sizeof *ids);
            if (!grown) {
                rt_free_id_list(ids, n);
                return RETORT_ENOMEM;
            }
            ids = grown;
        }
        if (!(ids[n] = rt_strndup(start, len))) {
            rt_free_id_list(ids, n);
            return RETORT_ENOMEM;
        }
        n++;
    }
    *ids_out = ids;
    *n_out = n;
    return RETORT_OK;
}

static void rev_free(rt_rev *rev)
{
    rt_free(rev->id);
    rt_free(rev->parents);
    rt_free_id_list(rev->parent_ids, rev->nparents);
    rt_free(rev->message);
    rt_free(rev->up_sql);
    rt_free(rev->down_sql);
}

void rt_registry_free(rt_registry *reg)
{
    for (int i = 0; i < reg->n; i++)
        rev_free(&reg->revs[i]);
    rt_free(reg->revs);
    rt_free(reg->slots);
    memset(reg, 0, sizeof *reg);
}

int rt_registry_add(rt_registry *reg, const char *id, const char *parents, const char *message,
                    retort_fn up, retort_fn down, void *user, const char *up_sql,
                    const char *down_sql, rt_buf *err)
{
    if (!id) {
        rt_buf_append(err, "revision id is NULL");
        return RETORT_EINVAL;
    }
    size_t idlen = strlen(id);
    if (!rt_id_valid(id, idlen)) {
        rt_buf_printf(err, "invalid revision id '%.*s': ids are 1-128 characters of "
                           "[A-Za-z0-9_.-]", (int)(idlen > 200 ? 200 : idlen), id);
        return RETORT_EINVAL;
    }
    if (rt_id_reserved(id, idlen)) {
        rt_buf_printf(err, "invalid revision id '%s': 'base', 'head' and 'heads' are reserved "
                           "target names", id);
        return RETORT_EINVAL;
    }
    if (rt_registry_find(reg, id, idlen) >= 0) {
        rt_buf_printf(err, "revision '%s' is already registered", id);
        return RETORT_EEXIST;
    }
    if (reg->n == INT32_MAX - 1) {
        rt_buf_append(err, "too many revisions");
        return RETORT_EINVAL;
    }

    rt_buf what = RT_BUF_INIT;
    rt_buf_printf(&what, "parents of revision '%s'", id);
    if (rt_buf_failed(&what))
        return RETORT_ENOMEM;
    rt_rev rev;
    memset(&rev, 0, sizeof rev);
    int rc = rt_parse_id_list(parents, &rev.parent_ids, &rev.nparents, rt_buf_str(&what), err);
    rt_buf_free(&what);
    if (rc != RETORT_OK)
        return rc;
    for (int i = 0; i < rev.nparents; i++) {
        if (strcmp(rev.parent_ids[i], id) == 0) {
            rt_buf_printf(err, "revision '%s' lists itself as a parent", id);
            rt_free_id_list(rev.parent_ids, rev.nparents);
            return RETORT_EINVAL;
        }
    }

    rt_buf joined = RT_BUF_INIT;
    for (int i = 0; i < rev.nparents; i++) {
        if (i)
            rt_buf_append_char(&joined, ' ');
        rt_buf_append(&joined, rev.parent_ids[i]);
    }
    rev.parents = rt_buf_take(&joined);
    rev.id = rt_strdup(id);
    rev.message = rt_strdup(message ? message : "");
    rev.up = up;
    rev.down = down;
    rev.user = user;
    int oom = !rev.parents || !rev.id || !rev.message;
    if (up_sql) {
        rev.up_sql = rt_strdup(up_sql);
        rev.down_sql = down_sql ? rt_strdup(down_sql) : NULL;
        oom |= !rev.up_sql || (down_sql && !rev.down_sql);
        rev.flags |= RETORT_REV_SQL;
        if (!oom && rt_checksum_sql(up_sql, down_sql, rev.checksum) != RETORT_OK)
            oom = 1;
    }
    if (!(up_sql ? down_sql != NULL : down != NULL))
        rev.flags |= RETORT_REV_IRREVERSIBLE;

    if (!oom && reg->n == reg->cap) {
        int cap = reg->cap ? reg->cap * 2 : 16;
        rt_rev *grown = rt_reallocarray(reg->revs, (size_t)cap, sizeof *grown);
        if (grown) {
            reg->revs = grown;
            reg->cap = cap;
        } else {
            oom = 1;
        }
    }
    if (!oom && index_reserve(reg, reg->n + 1) != RETORT_OK)
        oom = 1;
    if (oom) {
        rev_free(&rev);
        return RETORT_ENOMEM;
    }
    reg->revs[reg->n] = rev;
    index_insert(reg->slots, reg->nslots, rev.id, reg->n);
    reg->n++;
    return RETORT_OK;
}

/* ---- public registration API ---- */

static int add_common(retort *r, const char *id, const char *parents, const char *message,
                      retort_fn up, retort_fn down, void *user, const char *up_sql,
                      const char *down_sql)
{
    rt_buf err = RT_BUF_INIT;
    int rc = rt_registry_add(&r->reg, id, parents, message, up, down, user, up_sql, down_sql,
                             &err);
    if (rc == RETORT_OK) {
        rt_graph_invalidate(&r->graph);
        rt_state_forget(&r->state);
    } else if (rc == RETORT_ENOMEM) {
        rt_fail(r, rc, "out of memory registering revision '%s'", id);
    } else {
        rt_fail(r, rc, "%s", rt_buf_str(&err));
    }
    rt_buf_free(&err);
    return rc;
}

RETORT_API int retort_add(retort *r, const char *id, const char *parents, const char *message,
                          retort_fn up, retort_fn down, void *user)
{
    if (!r)
        return RETORT_EINVAL;
    rt_clear_error(r);
    if (r->in_callback)
        return rt_fail(r, RETORT_EMISUSE, "retort_add called from inside a migration callback");
    if (!up)
        return rt_fail(r, RETORT_EINVAL, "revision '%s': the up callback is NULL",
                       id ? id : "(null)");
    return add_common(r, id, parents, message, up, down, user, NULL, NULL);
}

RETORT_API int retort_add_sql(retort *r, const char *id, const char *parents,
                              const char *message, const char *up_sql, const char *down_sql)
{
    if (!r)
        return RETORT_EINVAL;
    rt_clear_error(r);
    if (r->in_callback)
        return rt_fail(r, RETORT_EMISUSE,
                       "retort_add_sql called from inside a migration callback");
    if (!up_sql)
        return rt_fail(r, RETORT_EINVAL, "revision '%s': the up SQL is NULL",
                       id ? id : "(null)");
    return add_common(r, id, parents, message, NULL, NULL, NULL, up_sql, down_sql);
}

RETORT_API int retort_revision_set_transactional(retort *r, const char *id, int on)
{
    if (!r)
        return RETORT_EINVAL;
    rt_clear_error(r);
    if (!id)
        return rt_fail(r, RETORT_EINVAL, "retort_revision_set_transactional: id is NULL");
    if (r->in_callback)
        return rt_fail(r, RETORT_EMISUSE, "retort_revision_set_transactional called from inside "
                                          "a migration callback");
    int i = rt_registry_find(&r->reg, id, strlen(id));
    if (i < 0)
        return rt_fail(r, RETORT_ENOTFOUND, "revision '%.200s' is not registered", id);
    if (on)
        r->reg.revs[i].flags &= ~RETORT_REV_NO_TRANSACTION;
    else
        r->reg.revs[i].flags |= RETORT_REV_NO_TRANSACTION;
    return RETORT_OK;
}
