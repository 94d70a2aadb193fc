/*
 * registry.h — the registered revisions, in registration order, with an id
 * index.  Registration validates ids and copies every string; it does not
 * look at other revisions beyond duplicates (the graph does that).
 */
#ifndef RT_REGISTRY_H
#define RT_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "retort/retort.h"

#include "buf.h"

#define RT_ID_MAX 128

/* All strings of a revision live in one allocation owned by id, and
 * parent_ids points into it: registering 100,000 revisions must not cost
 * a dozen mallocs each. */
typedef struct rt_rev {
    char *id;           /* owns the block holding every string below */
    char *parents;      /* normalised: ids separated by one space, "" for a root */
    char **parent_ids;  /* nparents ids, NULL-terminated (in the same block) */
    int nparents;
    char *message;
    retort_fn up, down; /* callbacks, or NULL for SQL revisions */
    void *user;
    char *up_sql, *down_sql; /* NULL when absent */
    char checksum[65];  /* hex SHA-256 for SQL revisions, "" otherwise */
    int flags;          /* RETORT_REV_IRREVERSIBLE | _NO_TRANSACTION | _SQL */
    /* How the revision's own format marks it non-transactional (a static
     * string, e.g. "add the line '-- +goose NO TRANSACTION'"), given when
     * the database refuses a statement inside a transaction; NULL: none. */
    const char *no_tx_hint;
    char *labels;       /* branch labels, normalised (one space between), or NULL; owned */
    char *depends;      /* depends_on ids or labels, normalised, or NULL; owned */
    /* The loader's path of a file whose up section is empty (the template
     * not yet filled in), or NULL; owned.  Upgrades refuse to run it. */
    char *unfilled;
} rt_rev;

/* One slot of the id index: the revision's index + 1 (0: empty) and a
 * 32-bit hash of its id, compared before the revision is looked at. */
typedef struct rt_slot {
    uint32_t hash;
    int index;
} rt_slot;

typedef struct rt_registry {
    rt_rev *revs;
    int n, cap;
    rt_slot *slots;  /* open-addressing id index */
    size_t nslots;   /* a power of two */
    int nlabelled;   /* revisions with branch labels: 0 spares every label lookup */
} rt_registry;

void rt_registry_free(rt_registry *reg);
/* Removes the revisions registered after the first n, so that a caller
 * registering several (retort_load_dir) can undo all of them on failure. */
void rt_registry_truncate(rt_registry *reg, int n);

/* Whether s[0..len) is a valid id: 1-128 of [A-Za-z0-9_.-]. */
int rt_id_valid(const char *s, size_t len);
/* Whether id is one of the reserved target names. */
int rt_id_reserved(const char *s, size_t len);

/* Index of the revision with id s[0..len), or -1. */
int rt_registry_find(const rt_registry *reg, const char *s, size_t len);
/* Index of the revision carrying branch label s[0..len), or -1. */
int rt_registry_find_label(const rt_registry *reg, const char *s, size_t len);
/* Index of the revision named s[0..len): its id, else a branch label; or -1. */
int rt_registry_find_name(const rt_registry *reg, const char *s, size_t len);

/* Sets or clears (empty list) the branch labels / depends_on of revision i.
 * Validates first; on failure nothing changes and err says why. */
int rt_registry_set_labels(rt_registry *reg, int i, const char *labels, rt_buf *err);
int rt_registry_set_depends(rt_registry *reg, int i, const char *depends, rt_buf *err);

/*
 * Adds a revision; on failure returns the status, writes the reason into err
 * and leaves the registry unchanged.  Strings are copied.
 */
int rt_registry_add(rt_registry *reg, const char *id, const char *parents, const char *message,
                    retort_fn up, retort_fn down, void *user, const char *up_sql,
                    const char *down_sql, rt_buf *err);

/*
 * Splits a parents list (spaces and/or commas) into ids, validating each.
 * On success *ids (rt_free each and the array) and *n are set.
 */
int rt_parse_id_list(const char *list, char ***ids, int *n, const char *what, rt_buf *err);
void rt_free_id_list(char **ids, int n);

#endif
