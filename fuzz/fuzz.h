/*
 * fuzz.h — what every fuzz target shares: the libFuzzer entry point's
 * declaration and a NUL-terminated copy of the input (the parsers under test
 * take C strings).  A target is built two ways (fuzz/meson.build): linked
 * with libFuzzer under -Dfuzzing=true, or with replay.c as a plain
 * executable that runs the seed corpus and every kept crashing input as a
 * regression test in the ordinary test suite.
 */
#ifndef RETORT_FUZZ_H
#define RETORT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a C string, cut at its first NUL (as a caller's string
 * would be); malloc'd, NULL when out of memory. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

/* A property a target checks: abort() so that libFuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                       \
    do {                                                                                       \
        if (!(cond))                                                                           \
            abort();                                                                           \
    } while (0)

#endif
