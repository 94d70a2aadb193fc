/*
 * memory.h — the one place the core allocates through.  Every allocation of
 * the library goes through these wrappers so that an allocator hook (and the
 * allocation-failure tests) can see all of them.  Each returns NULL on
 * failure like its libc namesake; callers turn that into RETORT_ENOMEM.
 */
#ifndef RT_MEMORY_H
#define RT_MEMORY_H

#include <stddef.h>

void *rt_malloc(size_t size);
void *rt_calloc(size_t count, size_t size);
void *rt_realloc(void *ptr, size_t size);
void rt_free(void *ptr);
char *rt_strdup(const char *s);
char *rt_strndup(const char *s, size_t n);
/* Counts live contexts, so that the allocator hook cannot change under one. */
void rt_context_created(void);
void rt_context_freed(void);
/* realloc for arrays, failing (NULL, ptr untouched) on count * size overflow. */
void *rt_reallocarray(void *ptr, size_t count, size_t size);

#endif
