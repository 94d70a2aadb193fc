/*
 * registry.c — registration of revisions (retort_add, retort_add_sql,
 * retort_revision_set_transactional) and the id index.  Validates what can
 * be validated from one revision alone; graph-wide checks belong to graph.c.
 */
#include "registry.h"

#include <stdint.h>
#include <stdio.h>
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

/* A slot's hash is the id's FNV-1a folded to 32 bits: compared before
 * the revision is touched, it spares a probe two cache misses (revision,
 * then its id) for every slot that is not the one. */
static uint32_t slot_hash(uint64_t h) { return (uint32_t)(h ^ (h >> 32)); }

int rt_registry_find(const rt_registry *reg, const char *s, size_t len)
{
    if (!reg->nslots)
        return -1;
    size_t mask = reg->nslots - 1;
    uint64_t h = hash_id(s, len);
    uint32_t sh = slot_hash(h);
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        const rt_slot *slot = &reg->slots[i];
        if (!slot->index)
            return -1;
        if (slot->hash != sh)
            continue;
        const char *id = reg->revs[slot->index - 1].id;
        if (strncmp(id, s, len) == 0 && id[len] == '\0')
            return slot->index - 1;
    }
}

static void index_insert(rt_slot *slots, size_t nslots, const char *id, int index)
{
    size_t mask = nslots - 1;
    uint64_t h = hash_id(id, strlen(id));
    size_t i = (size_t)h & mask;
    while (slots[i].index)
        i = (i + 1) & mask;
    slots[i].hash = slot_hash(h);
    slots[i].index = index + 1;
}

/* Keeps the index at most half full so probes stay short. */
static int index_reserve(rt_registry *reg, int want)
{
    if ((size_t)want * 2 <= reg->nslots)
        return RETORT_OK;
    size_t nslots = reg->nslots ? reg->nslots : 64;
    while ((size_t)want * 2 > nslots)
        nslots *= 2;
    rt_slot *slots = rt_calloc(nslots, sizeof *slots);
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

/* parent_ids lives in the block id owns. */
static void rev_free(rt_rev *rev)
{
    rt_free(rev->id);
    rt_free(rev->labels);
    rt_free(rev->depends);
    rt_free(rev->unfilled);
}

int rt_registry_find_label(const rt_registry *reg, const char *s, size_t len)
{
    if (!reg->nlabelled)
        return -1;
    for (int i = 0; i < reg->n; i++) {
        const char *l = reg->revs[i].labels;
        if (!l)
            continue;
        while (*l) {
            size_t n = strcspn(l, " ");
            if (n == len && memcmp(l, s, len) == 0)
                return i;
            l += n;
            if (*l)
                l++;
        }
    }
    return -1;
}

int rt_registry_find_name(const rt_registry *reg, const char *s, size_t len)
{
    int i = rt_registry_find(reg, s, len);
    return i >= 0 ? i : rt_registry_find_label(reg, s, len);
}

/* Joins ids with single spaces into a new string ("" when n is 0). */
static char *join_ids(char **ids, int n)
{
    size_t total = 1;
    for (int i = 0; i < n; i++)
        total += strlen(ids[i]) + 1;
    char *s = rt_malloc(total), *w = s;
    if (!s)
        return NULL;
    for (int i = 0; i < n; i++) {
        if (i)
            *w++ = ' ';
        size_t len = strlen(ids[i]);
        memcpy(w, ids[i], len);
        w += len;
    }
    *w = '\0';
    return s;
}

int rt_registry_set_labels(rt_registry *reg, int at, const char *labels, rt_buf *err)
{
    char **ids = NULL;
    int n = 0;
    const char *id = reg->revs[at].id;
    rt_buf what = RT_BUF_INIT;
    rt_buf_printf(&what, "branch labels of revision '%s'", id);
    int rc = rt_buf_failed(&what) ? RETORT_ENOMEM
                                   : rt_parse_id_list(labels, &ids, &n, rt_buf_str(&what), err);
    rt_buf_free(&what);
    if (rc != RETORT_OK)
        return rc;
    for (int k = 0; k < n && rc == RETORT_OK; k++) {
        size_t len = strlen(ids[k]);
        int other;
        if (rt_id_reserved(ids[k], len)) {
            rt_buf_printf(err, "branch label '%s' of revision '%s' is a reserved target name "
                               "('base', 'head', 'heads')", ids[k], id);
            rc = RETORT_EINVAL;
        } else if ((other = rt_registry_find(reg, ids[k], len)) >= 0) {
            rt_buf_printf(err, "branch label '%s' of revision '%s' is the id of a registered "
                               "revision; labels must differ from every id", ids[k], id);
            rc = RETORT_EEXIST;
        } else if ((other = rt_registry_find_label(reg, ids[k], len)) >= 0 && other != at) {
            rt_buf_printf(err, "branch label '%s' of revision '%s' is already the label of "
                               "revision '%s'; labels are unique", ids[k], id,
                          reg->revs[other].id);
            rc = RETORT_EEXIST;
        }
    }
    char *joined = NULL;
    if (rc == RETORT_OK && n && !(joined = join_ids(ids, n)))
        rc = RETORT_ENOMEM;
    rt_free_id_list(ids, n);
    if (rc != RETORT_OK)
        return rc;
    reg->nlabelled += (joined != NULL) - (reg->revs[at].labels != NULL);
    rt_free(reg->revs[at].labels);
    reg->revs[at].labels = joined;
    return RETORT_OK;
}

int rt_registry_set_depends(rt_registry *reg, int at, const char *depends, rt_buf *err)
{
    char **ids = NULL;
    int n = 0;
    const char *id = reg->revs[at].id;
    rt_buf what = RT_BUF_INIT;
    rt_buf_printf(&what, "depends_on of revision '%s'", id);
    int rc = rt_buf_failed(&what) ? RETORT_ENOMEM
                                   : rt_parse_id_list(depends, &ids, &n, rt_buf_str(&what), err);
    rt_buf_free(&what);
    if (rc != RETORT_OK)
        return rc;
    for (int k = 0; k < n && rc == RETORT_OK; k++) {
        if (strcmp(ids[k], id) == 0) {
            rt_buf_printf(err, "revision '%s' lists itself in its depends_on", id);
            rc = RETORT_EINVAL;
        } else if (rt_id_reserved(ids[k], strlen(ids[k]))) {
            rt_buf_printf(err, "depends_on of revision '%s': '%s' is a reserved target name, "
                               "not a revision", id, ids[k]);
            rc = RETORT_EINVAL;
        }
    }
    char *joined = NULL;
    if (rc == RETORT_OK && n && !(joined = join_ids(ids, n)))
        rc = RETORT_ENOMEM;
    rt_free_id_list(ids, n);
    if (rc != RETORT_OK)
        return rc;
    rt_free(reg->revs[at].depends);
    reg->revs[at].depends = joined;
    return RETORT_OK;
}

void rt_registry_free(rt_registry *reg)
{
    for (int i = 0; i < reg->n; i++)
        rev_free(&reg->revs[i]);
    rt_free(reg->revs);
    rt_free(reg->slots);
    memset(reg, 0, sizeof *reg);
}

void rt_registry_truncate(rt_registry *reg, int n)
{
    if (n < 0 || n >= reg->n)
        return;
    for (int i = n; i < reg->n; i++) {
        reg->nlabelled -= reg->revs[i].labels != NULL;
        rev_free(&reg->revs[i]);
    }
    reg->n = n;
    /* Open addressing cannot simply delete entries; rebuild the index. */
    memset(reg->slots, 0, reg->nslots * sizeof *reg->slots);
    for (int i = 0; i < n; i++)
        index_insert(reg->slots, reg->nslots, reg->revs[i].id, i);
}

/* Copies s (len bytes) to *w and advances it past the terminating NUL. */
static char *place(char **w, const char *s, size_t len)
{
    char *at = *w;
    memcpy(at, s, len);
    at[len] = '\0';
    *w += len + 1;
    return at;
}

static int is_separator(char c) { return c == ' ' || c == ',' || c == '\t'; }

/* The next id of a parents list, from *p on; 0 at the end of the list. */
static int next_parent(const char **p, const char **start, size_t *len)
{
    const char *q = *p;
    while (is_separator(*q))
        q++;
    if (!*q) {
        *p = q;
        return 0;
    }
    *start = q;
    while (*q && !is_separator(*q))
        q++;
    *len = (size_t)(q - *start);
    *p = q;
    return 1;
}

/*
 * Validates a revision's parents list where it lies, without allocating:
 * registration runs once per revision, 100,000 times at startup for some.
 * *n receives the number of ids, *bytes their total length.  The messages
 * are rt_parse_id_list's.
 */
static int check_parents(const char *id, size_t idlen, const char *parents, int *n,
                         size_t *bytes, rt_buf *err)
{
    const char *p = parents, *tok;
    size_t len;
    *n = 0;
    *bytes = 0;
    while (next_parent(&p, &tok, &len)) {
        if (!rt_id_valid(tok, len)) {
            rt_buf_printf(err, "parents of revision '%s': invalid revision id '%.*s' (ids are "
                               "1-128 characters of [A-Za-z0-9_.-])",
                          id, (int)(len > 200 ? 200 : len), tok);
            return RETORT_EINVAL;
        }
        const char *q = parents, *earlier;
        size_t elen;
        while (next_parent(&q, &earlier, &elen) && earlier < tok) {
            if (elen == len && memcmp(earlier, tok, len) == 0) {
                rt_buf_printf(err, "parents of revision '%s': revision '%.*s' is listed twice",
                              id, (int)len, tok);
                return RETORT_EINVAL;
            }
        }
        if (*n == INT32_MAX - 1) {
            rt_buf_printf(err, "revision '%s' has too many parents", id);
            return RETORT_EINVAL;
        }
        ++*n;
        *bytes += len;
    }
    for (p = parents; next_parent(&p, &tok, &len);) {
        if (len == idlen && memcmp(tok, id, len) == 0) {
            rt_buf_printf(err, "revision '%s' lists itself as a parent", id);
            return RETORT_EINVAL;
        }
    }
    return RETORT_OK;
}

/* Length of the longest valid UTF-8 prefix of s (strict: no overlong
 * forms, surrogates or code points past U+10FFFF); strlen(s) when valid. */
static size_t utf8_valid_prefix(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (s[i]) {
        unsigned c = s[i];
        int n = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2
                              : c >= 0xF0 && c <= 0xF4 ? 3 : -1;
        if (n < 0)
            return i;
        unsigned lo = 0x80, hi = 0xBF; /* the second byte's range */
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
        else if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
        for (int k = 1; k <= n; k++) {
            unsigned b = s[i + (size_t)k];
            if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF))
                return i;
        }
        i += (size_t)n + 1;
    }
    return i;
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
    int labelled = rt_registry_find_label(reg, id, idlen);
    if (labelled >= 0) {
        rt_buf_printf(err, "revision id '%s' is already a branch label of revision '%s'", id,
                      reg->revs[labelled].id);
        return RETORT_EEXIST;
    }
    if (reg->n == INT32_MAX - 1) {
        rt_buf_append(err, "too many revisions");
        return RETORT_EINVAL;
    }
    if (!parents)
        parents = "";
    int nlist;
    size_t ids_len;
    int rc = check_parents(id, idlen, parents, &nlist, &ids_len, err);
    if (rc != RETORT_OK)
        return rc;

    if (!message)
        message = "";
    size_t msglen = strlen(message);
    /* The version table and the audit log store it as text: PostgreSQL
     * would refuse it later, as a bare "parameter $3", mid-run. */
    size_t valid = utf8_valid_prefix(message);
    if (valid < msglen) {
        size_t shown = valid > 60 ? 60 : valid;
        while (shown && ((unsigned char)message[shown] & 0xC0) == 0x80)
            shown--; /* not in the middle of a character */
        rt_buf_printf(err, "revision '%s': its message \"%.*s...\" is not valid UTF-8 (byte "
                           "0x%02X at offset %zu); messages are stored as text",
                      id, (int)shown, message,
                      (unsigned)(unsigned char)message[valid], valid);
        return RETORT_EINVAL;
    }
    size_t uplen = up_sql ? strlen(up_sql) : 0, downlen = down_sql ? strlen(down_sql) : 0;
    /* One block: id, the parents joined by spaces, each parent, message,
     * up, down (all NUL-terminated), then the parent_ids array, aligned. */
    size_t strings = idlen + 1 + (nlist ? ids_len + (size_t)nlist : 1) + ids_len +
                     (size_t)nlist + msglen + 1 + (up_sql ? uplen + 1 : 0) +
                     (up_sql && down_sql ? downlen + 1 : 0);
    size_t align = sizeof(char *);
    size_t array_at = (strings + align - 1) / align * align;
    size_t total = array_at + ((size_t)nlist + 1) * sizeof(char *);

    rt_rev rev;
    memset(&rev, 0, sizeof rev);
    char *block = rt_malloc(total);
    int oom = !block;
    if (!oom) {
        char *w = block;
        rev.id = place(&w, id, idlen);
        rev.parents = w;
        const char *p = parents, *tok;
        size_t len;
        for (int i = 0; next_parent(&p, &tok, &len); i++) {
            memcpy(w, tok, len);
            w += len;
            *w++ = i + 1 < nlist ? ' ' : '\0';
        }
        if (!nlist)
            *w++ = '\0';
        rev.parent_ids = (char **)(void *)(block + array_at);
        p = parents;
        for (int i = 0; next_parent(&p, &tok, &len); i++)
            rev.parent_ids[i] = place(&w, tok, len);
        rev.parent_ids[nlist] = NULL;
        rev.nparents = nlist;
        rev.message = place(&w, message, msglen);
        if (up_sql) {
            rev.up_sql = place(&w, up_sql, uplen);
            if (down_sql)
                rev.down_sql = place(&w, down_sql, downlen);
        }
    }
    rev.up = up;
    rev.down = down;
    rev.user = user;
    if (!oom && up_sql) {
        rev.flags |= RETORT_REV_SQL;
        rt_checksum_sql(up_sql, down_sql, rev.checksum);
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
        rt_free(block);
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
    RT_GUARD(r);
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
    RT_GUARD(r);
    rt_clear_error(r);
    if (r->in_callback)
        return rt_fail(r, RETORT_EMISUSE,
                       "retort_add_sql called from inside a migration callback");
    if (!up_sql)
        return rt_fail(r, RETORT_EINVAL, "revision '%s': the up SQL is NULL",
                       id ? id : "(null)");
    return add_common(r, id, parents, message, NULL, NULL, NULL, up_sql, down_sql);
}

static int set_list(retort *r, const char *fn, const char *id, const char *list, int labels)
{
    if (!r)
        return RETORT_EINVAL;
    rt_clear_error(r);
    if (!id)
        return rt_fail(r, RETORT_EINVAL, "%s: id is NULL", fn);
    if (r->in_callback)
        return rt_fail(r, RETORT_EMISUSE, "%s called from inside a migration callback", fn);
    int i = rt_registry_find(&r->reg, id, strlen(id));
    if (i < 0)
        return rt_fail(r, RETORT_ENOTFOUND, "%s: revision '%.200s' is not registered", fn, id);
    rt_buf err = RT_BUF_INIT;
    int rc = labels ? rt_registry_set_labels(&r->reg, i, list, &err)
                    : rt_registry_set_depends(&r->reg, i, list, &err);
    if (rc == RETORT_OK) {
        rt_graph_invalidate(&r->graph);
        rt_state_forget(&r->state);
    } else if (rc == RETORT_ENOMEM) {
        rt_fail(r, rc, "%s: out of memory", fn);
    } else {
        rt_fail(r, rc, "%s", rt_buf_str(&err));
    }
    rt_buf_free(&err);
    return rc;
}

RETORT_API int retort_revision_set_branch_labels(retort *r, const char *id, const char *labels)
{
    return set_list(r, "retort_revision_set_branch_labels", id, labels, 1);
}

RETORT_API int retort_revision_set_depends_on(retort *r, const char *id, const char *depends_on)
{
    return set_list(r, "retort_revision_set_depends_on", id, depends_on, 0);
}

RETORT_API int retort_revision_set_transactional(retort *r, const char *id, int on)
{
    if (!r)
        return RETORT_EINVAL;
    RT_GUARD(r);
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
