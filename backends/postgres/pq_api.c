/*
 * pq_api.c — loads libpq on first use (pq_api.h says why).
 */
#define RT_PQ_API_IMPLEMENTATION
#include "pq_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#ifndef RT_LIBPQ_SONAME
#define RT_LIBPQ_SONAME "libpq.so.5"
#endif

rt_pq_api rt_pq;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded;
static char load_error[512];

static void load(void)
{
    /* Never closed: PGconn handles outlive any one context, and an
     * application linking libpq itself gets this same copy. */
    void *lib = dlopen(RT_LIBPQ_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(load_error, sizeof load_error,
                 "PostgreSQL URLs need libpq, which could not be loaded (%s): %s; install it "
                 "(Debian: libpq5)",
                 RT_LIBPQ_SONAME, dlerror());
        return;
    }
    /* POSIX guarantees that a dlsym result converts to a function pointer. */
#define RT_PQ_RESOLVE(name)                                                                    \
    if (!(rt_pq.name = (__typeof__(rt_pq.name))dlsym(lib, #name))) {                          \
        snprintf(load_error, sizeof load_error,                                                \
                 "the libpq loaded (%s) lacks %s: it is older than the one retort was built "  \
                 "against",                                                                    \
                 RT_LIBPQ_SONAME, #name);                                                      \
        return;                                                                                \
    }
    RT_PQ_REQUIRED(RT_PQ_RESOLVE)
#undef RT_PQ_RESOLVE
#define RT_PQ_RESOLVE_OPTIONAL(name) rt_pq.name = (__typeof__(rt_pq.name))dlsym(lib, #name);
    RT_PQ_OPTIONAL(RT_PQ_RESOLVE_OPTIONAL)
#undef RT_PQ_RESOLVE_OPTIONAL
    loaded = 1;
}

int rt_pq_load(const char **why)
{
    pthread_once(&load_once, load);
    if (!loaded)
        *why = load_error;
    return loaded;
}
