/*
 * memory.c — allocation wrappers (see memory.h) and the allocator hook
 * (retort_set_allocator).  The hook is process-wide state beside the backend
 * registry: like sqlite3_config(SQLITE_CONFIG_MALLOC) it may only change
 * while no context exists, which a live-context count enforces.
 */
#include "memory.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "retort/retort.h"

static retort_malloc_fn hook_malloc;
static retort_realloc_fn hook_realloc;
static retort_free_fn hook_free;
static atomic_int live_contexts;

void rt_context_created(void) { atomic_fetch_add(&live_contexts, 1); }

void rt_context_freed(void) { atomic_fetch_sub(&live_contexts, 1); }

RETORT_API int retort_set_allocator(retort_malloc_fn malloc_fn, retort_realloc_fn realloc_fn,
                                    retort_free_fn free_fn)
{
    int given = (malloc_fn != NULL) + (realloc_fn != NULL) + (free_fn != NULL);
    if (given != 0 && given != 3)
        return RETORT_EINVAL;
    if (atomic_load(&live_contexts) != 0)
        return RETORT_EMISUSE;
    hook_malloc = malloc_fn;
    hook_realloc = realloc_fn;
    hook_free = free_fn;
    return RETORT_OK;
}

void *rt_malloc(size_t size)
{
    if (!size)
        size = 1;
    return hook_malloc ? hook_malloc(size) : malloc(size);
}

void *rt_calloc(size_t count, size_t size)
{
    if (!count)
        count = 1;
    if (!size)
        size = 1;
    if (count > SIZE_MAX / size)
        return NULL;
    if (!hook_malloc)
        return calloc(count, size);
    void *p = hook_malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *rt_realloc(void *ptr, size_t size)
{
    if (!size)
        size = 1;
    return hook_realloc ? hook_realloc(ptr, size) : realloc(ptr, size);
}

void rt_free(void *ptr)
{
    if (!ptr)
        return;
    if (hook_free)
        hook_free(ptr);
    else
        free(ptr);
}

char *rt_strndup(const char *s, size_t n)
{
    char *copy = rt_malloc(n + 1);
    if (copy) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    return copy;
}

char *rt_strdup(const char *s) { return rt_strndup(s, strlen(s)); }

void *rt_reallocarray(void *ptr, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return rt_realloc(ptr, count * size);
}
