/*
 * backend_registry.c — the process-wide table of drivers: the built-in ones,
 * added on first use, and those registered by retort_register_backend().
 * This is the library's only global mutable state; a mutex guards it.
 * Registered drivers are never removed, so a pointer handed out stays valid.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "builtin_backends.h"
#include "retort/backend.h"

#define MAX_BACKENDS 32

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static const retort_backend *backends[MAX_BACKENDS];
static int nbackends;
static int builtins_added;

/* The smallest struct that has every member of version 1, of 2, and of 3
 * (quote_literal and the fresh-target members, one release). */
#define V1_SIZE (offsetof(retort_backend, native) + sizeof(void *))
#define V2_SIZE (offsetof(retort_backend, data_version) + sizeof(void *))
#define V3_SIZE (offsetof(retort_backend, template_drop) + sizeof(void *))

/* A driver's struct must be as long as the version it claims. */
static int size_fits_version(const retort_backend *b)
{
    return b->struct_size >= (b->abi_version >= 3   ? V3_SIZE
                              : b->abi_version >= 2 ? V2_SIZE
                                                    : V1_SIZE);
}

static void add_builtins_locked(void)
{
    if (builtins_added)
        return;
    builtins_added = 1;
#ifdef RETORT_HAVE_SQLITE
    backends[nbackends++] = &rt_sqlite_backend;
#endif
#ifdef RETORT_HAVE_POSTGRES
    backends[nbackends++] = &rt_postgres_backend;
#endif
}

static const retort_backend *find_locked(const char *scheme)
{
    for (int i = 0; i < nbackends; i++) {
        const retort_backend *b = backends[i];
        if (strcasecmp(b->name, scheme) == 0)
            return b;
        for (const char *const *s = b->schemes; *s; s++)
            if (strcasecmp(*s, scheme) == 0)
                return b;
    }
    return NULL;
}

RETORT_API int retort_register_backend(const retort_backend *b)
{
    if (!b || b->abi_version < 1 || b->abi_version > RETORT_BACKEND_ABI_VERSION ||
        !size_fits_version(b) || !b->name || !*b->name || !b->schemes || !b->schemes[0] ||
        !b->connect || !b->disconnect || !b->exec || !b->exec_params || !b->query || !b->sql ||
        !b->begin || !b->commit || !b->rollback || !b->table_exists)
        return RETORT_EINVAL;
    pthread_mutex_lock(&registry_lock);
    add_builtins_locked();
    int rc = RETORT_OK;
    if (nbackends == MAX_BACKENDS)
        rc = RETORT_EBACKEND;
    for (const char *const *s = b->schemes; rc == RETORT_OK && *s; s++)
        if (!**s || find_locked(*s))
            rc = RETORT_EBACKEND;
    if (rc == RETORT_OK && find_locked(b->name))
        rc = RETORT_EBACKEND;
    if (rc == RETORT_OK)
        backends[nbackends++] = b;
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

RETORT_API const retort_backend *retort_backend_find(const char *scheme)
{
    if (!scheme)
        return NULL;
    pthread_mutex_lock(&registry_lock);
    add_builtins_locked();
    const retort_backend *b = find_locked(scheme);
    pthread_mutex_unlock(&registry_lock);
    return b;
}

RETORT_API size_t retort_backend_schemes(char *out, size_t size)
{
    rt_buf list = RT_BUF_INIT;
    pthread_mutex_lock(&registry_lock);
    add_builtins_locked();
    for (int i = 0; i < nbackends; i++)
        for (const char *const *s = backends[i]->schemes; *s; s++) {
            if (list.len)
                rt_buf_append_char(&list, ' ');
            rt_buf_append(&list, *s);
        }
    pthread_mutex_unlock(&registry_lock);
    size_t need = list.len;
    if (out && size) {
        size_t n = need < size - 1 ? need : size - 1;
        memcpy(out, rt_buf_str(&list), n);
        out[n] = '\0';
    }
    rt_buf_free(&list);
    return need;
}
