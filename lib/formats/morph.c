/*
 * morph.c — mattermost/morph: golang-migrate style pairs whose up file may
 * say "-- morph:nontransactional".  Any other "-- morph:" comment is a
 * typo, not a comment.
 */
#include <string.h>

#include "formats.h"

static int morph_mark(const char *p, size_t n, int *no_tx)
{
    (void)no_tx;
    if (n < 6 || memcmp(p, "morph:", 6) != 0)
        return RT_MARK_NONE;
    return n == 22 && memcmp(p + 6, "nontransactional", 16) == 0 ? RT_MARK_NO_TX
                                                                   : RT_MARK_INVALID;
}

const rt_format rt_format_morph = {
    "morph", "add the line '-- morph:nontransactional'", "morph:nontransactional", morph_mark, 0, 0,
};
