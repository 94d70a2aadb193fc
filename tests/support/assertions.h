/*
 * assertions.h — cmocka assertions with readable failure messages for tests
 * of the public API: substrings of messages, and status codes shown with the
 * context's own message.  Shared by the fixture, the PostgreSQL-only tests
 * and the unit tests, which set up differently but assert alike.
 * Include after <cmocka.h> and <retort/retort.h>.
 */
#ifndef RETORT_TEST_ASSERTIONS_H
#define RETORT_TEST_ASSERTIONS_H

#include <string.h>

#define assert_contains(haystack, needle)                                                      \
    do {                                                                                       \
        const char *h_ = (haystack), *n_ = (needle);                                           \
        if (!h_ || !strstr(h_, n_))                                                            \
            fail_msg("expected \"%s\" to contain \"%s\"", h_ ? h_ : "(NULL)", n_);             \
    } while (0)

#define assert_not_contains(haystack, needle)                                                  \
    do {                                                                                       \
        const char *h_ = (haystack), *n_ = (needle);                                           \
        if (!h_)                                                                               \
            fail_msg("expected a string, got NULL");                                           \
        if (strstr(h_, n_))                                                                    \
            fail_msg("expected \"%s\" NOT to contain \"%s\"", h_, n_);                         \
    } while (0)

/* Asserts the call returned code; on mismatch shows the context's message. */
#define assert_rc(r, call, code)                                                               \
    do {                                                                                       \
        int rc_ = (call);                                                                      \
        if (rc_ != (code))                                                                     \
            fail_msg("%s returned %d (%s), expected %d (%s); errmsg: %s", #call, rc_,          \
                     retort_strerror(rc_), (int)(code), retort_strerror(code),                 \
                     retort_errmsg(r));                                                        \
    } while (0)

#define assert_ok(r, call) assert_rc(r, call, RETORT_OK)

#endif
