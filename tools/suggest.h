/*
 * suggest.h — the edit distance behind the command's "did you mean"
 * (commands, options, retort.ini keys).
 */
#ifndef RETORT_TOOLS_SUGGEST_H
#define RETORT_TOOLS_SUGGEST_H
#include <stddef.h>

/* Levenshtein distance of the la bytes at a and the string b; 99 when
 * either is longer than 63 characters (no suggestion is made for them). */
size_t cli_edit_distance(const char *a, size_t la, const char *b);

#endif
