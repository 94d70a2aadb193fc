/*
 * version.c — the library's version at run time, for comparison with the
 * RETORT_VERSION_* macros an application was compiled against.
 */
#include "retort/retort.h"

RETORT_API const char *retort_version(void) { return RETORT_VERSION_STRING; }

RETORT_API int retort_version_number(void) { return RETORT_VERSION_NUMBER; }
