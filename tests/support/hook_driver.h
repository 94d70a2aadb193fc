/*
 * hook_driver.h — a driver that wraps a built-in one through the public
 * vtable (as examples/backend-plugin does) and calls the test back right
 * after each successful commit, so that a test can let another migrator
 * run to completion at exactly that point of a run: between a commit and
 * the next BEGIN, where the write lock is free.  Test-only; it costs users
 * nothing.  Header-only; include once per test executable.
 *
 * Use: hook_driver_url("sqlite", fixture_url()) gives "hooksqlite:..." for
 * retort_new; hook_after_commit(fn, user) arms the hook; fn receives the
 * number of commits made through the wrapper since arming (1, 2, ...) and
 * returns nonzero to disarm itself.
 */
#ifndef RETORT_TEST_HOOK_DRIVER_H
#define RETORT_TEST_HOOK_DRIVER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <retort/backend.h>

typedef int (*hook_fn)(int commits, void *user);

static const retort_backend *hook_real;
static hook_fn hook_after;
static void *hook_user;
static int hook_commits;
static char hook_scheme[32];

static inline void hook_after_commit(hook_fn fn, void *user)
{
    hook_after = fn;
    hook_user = user;
    hook_commits = 0;
}

/* "hooksqlite:PATH" -> "sqlite:PATH" for the real driver. */
static inline int hook_connect(const char *url, int timeout_ms, void **db, retort_report *rep)
{
    const char *rest = strchr(url, ':');
    size_t len = strlen(hook_real->name) + strlen(rest ? rest : "") + 1;
    char *real = malloc(len);
    if (!real) {
        retort_report_error(rep, RETORT_ENOMEM, "out of memory");
        return RETORT_ENOMEM;
    }
    snprintf(real, len, "%s%s", hook_real->name, rest ? rest : "");
    int rc = hook_real->connect(real, timeout_ms, db, rep);
    free(real);
    return rc;
}

static inline int hook_commit(void *db, retort_report *rep)
{
    int rc = hook_real->commit(db, rep);
    if (rc == RETORT_OK && hook_after) {
        hook_fn fn = hook_after;
        hook_after = NULL; /* a hook that migrates must not re-enter itself */
        if (!fn(++hook_commits, hook_user))
            hook_after = fn;
    }
    return rc;
}

/* Registers the wrapper around the driver named real (once per process)
 * and returns url with its scheme replaced by the wrapper's, malloc'd. */
static inline char *hook_driver_url(const char *real, const char *url)
{
    static retort_backend wrapped;
    static const char *schemes[2];
    if (!hook_real) {
        hook_real = retort_backend_find(real);
        if (!hook_real)
            return NULL;
        wrapped = *hook_real;
        snprintf(hook_scheme, sizeof hook_scheme, "hook%s", real);
        schemes[0] = hook_scheme;
        schemes[1] = NULL;
        wrapped.name = hook_scheme;
        wrapped.schemes = schemes;
        wrapped.connect = hook_connect;
        wrapped.commit = hook_commit;
        if (retort_register_backend(&wrapped) != RETORT_OK)
            return NULL;
    }
    const char *rest = strchr(url, ':');
    size_t len = strlen(hook_scheme) + strlen(rest ? rest : "") + 1;
    char *out = malloc(len);
    if (out)
        snprintf(out, len, "%s%s", hook_scheme, rest ? rest : "");
    return out;
}

#endif
