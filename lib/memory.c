/*
 * memory.c — allocation wrappers (see memory.h).  Owns no state today; the
 * point is that nothing else in the library calls malloc directly.
 */
#include "memory.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *rt_malloc(size_t size) { return malloc(size ? size : 1); }

void *rt_calloc(size_t count, size_t size) { return calloc(count ? count : 1, size ? size : 1); }

void *rt_realloc(void *ptr, size_t size) { return realloc(ptr, size ? size : 1); }

void rt_free(void *ptr) { free(ptr); }

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
