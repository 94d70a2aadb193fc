/*
 * settings.c — the typed setters of the context's settings and the by-name
 * text setter used by configuration files, the command and bindings.  A bad
 * value is refused with a message naming the setting and changes nothing.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "context.h"
#include "error.h"
#include "memory.h"

/* Table and schema names: the strictest rule every backend accepts
 * unquoted, so that they never need escaping in messages or templates. */
static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= RT_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

static int begin_setting(retort *r)
{
    if (!r)
        return RETORT_EINVAL;
    rt_clear_error(r);
    if (r->in_callback)
        return rt_fail(r, RETORT_EMISUSE, "settings cannot change inside a migration callback");
    return RETORT_OK;
}

RETORT_API int retort_set_version_table(retort *r, const char *name)
{
    RT_GUARD(r);
    int rc = begin_setting(r);
    if (rc)
        return rc;
    if (!name || !valid_name(name) || strlen(name) + 4 >= RT_NAME_MAX)
        return rt_fail(r, RETORT_EINVAL, "setting version_table: invalid table name '%.100s' "
                                         "(1-59 characters of [A-Za-z0-9_], not starting with a "
                                         "digit)", name ? name : "(null)");
    /* A fresh test target (retort_new_fresh) has no version table until its
     * first operation creates the target: its name may still be chosen. */
    if (r->db && !r->fresh)
        return rt_fail(r, RETORT_EMISUSE, "setting version_table: must be set before the first "
                                          "operation");
    char old_table[RT_NAME_MAX], old_log[RT_NAME_MAX + 4];
    strcpy(old_table, r->version_table);
    strcpy(old_log, r->log_table);
    strcpy(r->version_table, name);
    strcpy(r->log_table, name);
    strcat(r->log_table, "_log");
    if (r->db && (rc = rt_set_names(r)) != RETORT_OK) {
        strcpy(r->version_table, old_table);
        strcpy(r->log_table, old_log);
        rt_set_names(r);
        return rc;
    }
    return RETORT_OK;
}

RETORT_API int retort_set_schema(retort *r, const char *schema)
{
    RT_GUARD(r);
    int rc = begin_setting(r);
    if (rc)
        return rc;
    if (!schema)
        schema = "";
    if (*schema && !valid_name(schema))
        return rt_fail(r, RETORT_EINVAL, "setting schema: invalid schema name '%.100s' (1-63 "
                                         "characters of [A-Za-z0-9_], not starting with a digit)",
                       schema);
    if (r->backend && !r->backend->sql(RETORT_SQL_CREATE_SCHEMA) && *schema &&
        strcmp(schema, "main") != 0)
        return rt_fail(r, RETORT_EINVAL, "setting schema: the %s backend has no schemas; only "
                                         "'main' or none is accepted, not '%s'",
                       r->backend->name, schema);
    if (r->db)
        return rt_fail(r, RETORT_EMISUSE, "setting schema: must be set before the first "
                                          "operation");
    /* SQLite's "main" is its default: leave names unqualified there. */
    strcpy(r->schema, r->backend && !r->backend->sql(RETORT_SQL_CREATE_SCHEMA) ? "" : schema);
    return RETORT_OK;
}

RETORT_API int retort_set_lock_timeout(retort *r, int ms)
{
    RT_GUARD(r);
    int rc = begin_setting(r);
    if (rc)
        return rc;
    if (ms < 0 || ms > 86400000)
        return rt_fail(r, RETORT_EINVAL, "setting lock_timeout: %d ms is out of range (0 to "
                                         "86400000)", ms);
    r->lock_timeout_ms = ms;
    return RETORT_OK;
}

RETORT_API int retort_set_transaction_mode(retort *r, int mode)
{
    RT_GUARD(r);
    int rc = begin_setting(r);
    if (rc)
        return rc;
    if (mode != RETORT_TX_PER_MIGRATION && mode != RETORT_TX_WHOLE_RUN)
        return rt_fail(r, RETORT_EINVAL, "setting transaction_mode: unknown mode %d", mode);
    r->tx_mode = mode;
    return RETORT_OK;
}

RETORT_API int retort_set_checksum_policy(retort *r, int policy)
{
    RT_GUARD(r);
    int rc = begin_setting(r);
    if (rc)
        return rc;
    if (policy < RETORT_CHECKSUM_WARN || policy > RETORT_CHECKSUM_IGNORE)
        return rt_fail(r, RETORT_EINVAL, "setting checksum_policy: unknown policy %d", policy);
    r->checksum_policy = policy;
    return RETORT_OK;
}

RETORT_API int retort_set_tolerate_unknown(retort *r, int on)
{
    RT_GUARD(r);
    int rc = begin_setting(r);
    if (rc)
        return rc;
    r->tolerate_unknown = on != 0;
    return RETORT_OK;
}

RETORT_API int retort_set_log(retort *r, retort_log_fn fn, void *user)
{
    if (!r)
        return RETORT_EINVAL;
    RT_GUARD(r);
    rt_clear_error(r);
    r->log_fn = fn;
    r->log_user = user;
    return RETORT_OK;
}

RETORT_API int retort_set_event_fn(retort *r, retort_event_fn fn, void *user)
{
    if (!r)
        return RETORT_EINVAL;
    RT_GUARD(r);
    rt_clear_error(r);
    if (r->in_callback)
        return rt_fail(r, RETORT_EMISUSE, "retort_set_event_fn called from inside a callback");
    r->event_fn = fn;
    r->event_user = user;
    return RETORT_OK;
}

RETORT_API int retort_set_log_level(retort *r, int level)
{
    if (!r)
        return RETORT_EINVAL;
    RT_GUARD(r);
    rt_clear_error(r);
    if (level < 0 || level > RETORT_LOG_DEBUG)
        return rt_fail(r, RETORT_EINVAL, "setting log_level: %d is out of range (0 to %d)",
                       level, RETORT_LOG_DEBUG);
    r->log_level = level;
    return RETORT_OK;
}

static int parse_int(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    /* Digits only: strtol would also take leading blanks and a sign. */
    if (*s < '0' || *s > '9')
        return 0;
    long v = strtol(s, &end, 10);
    if (*end || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

static int word_index(const char *value, const char *const *words)
{
    for (int i = 0; words[i]; i++)
        if (strcasecmp(value, words[i]) == 0)
            return i;
    return -1;
}

RETORT_API int retort_set(retort *r, const char *name, const char *value)
{
    int rc;
    if (!r)
        return RETORT_EINVAL;
    RT_GUARD(r);
    rt_clear_error(r);
    if (!name || !value)
        return rt_fail(r, RETORT_EINVAL, "retort_set: %s is NULL", name ? "value" : "name");
    if (strcmp(name, "version_table") == 0)
        return retort_set_version_table(r, value);
    if (strcmp(name, "schema") == 0)
        return retort_set_schema(r, value);
    if (strcmp(name, "lock_timeout") == 0) {
        long v;
        if (!parse_int(value, 0, 86400000, &v))
            return rt_fail(r, RETORT_EINVAL, "setting lock_timeout: '%.64s' is not a number of "
                                             "milliseconds from 0 to 86400000", value);
        return retort_set_lock_timeout(r, (int)v);
    }
    if (strcmp(name, "transaction_mode") == 0) {
        static const char *const modes[] = {"per-migration", "whole-run", NULL};
        int i = word_index(value, modes);
        if (i < 0)
            return rt_fail(r, RETORT_EINVAL, "setting transaction_mode: '%.64s' is not one of "
                                             "per-migration, whole-run", value);
        return retort_set_transaction_mode(r, i);
    }
    if (strcmp(name, "checksum_policy") == 0) {
        static const char *const policies[] = {"warn", "error", "ignore", NULL};
        int i = word_index(value, policies);
        if (i < 0)
            return rt_fail(r, RETORT_EINVAL, "setting checksum_policy: '%.64s' is not one of "
                                             "warn, error, ignore", value);
        return retort_set_checksum_policy(r, i);
    }
    if (strcmp(name, "tolerate_unknown") == 0) {
        static const char *const bools[] = {"0", "false", "no", "off", "1", "true", "yes", "on",
                                            NULL};
        int i = word_index(value, bools);
        if (i < 0)
            return rt_fail(r, RETORT_EINVAL, "setting tolerate_unknown: '%.64s' is not a "
                                             "boolean (true/false, 1/0, yes/no, on/off)", value);
        return retort_set_tolerate_unknown(r, i >= 4);
    }
    if (strcmp(name, "allow_out_of_order") == 0) {
        static const char *const bools[] = {"0", "false", "no", "off", "1", "true", "yes", "on",
                                            NULL};
        int i = word_index(value, bools);
        if (i < 0)
            return rt_fail(r, RETORT_EINVAL, "setting allow_out_of_order: '%.64s' is not a "
                                             "boolean (true/false, 1/0, yes/no, on/off)", value);
        if ((rc = begin_setting(r)) != RETORT_OK)
            return rc;
        r->allow_out_of_order = i >= 4;
        return RETORT_OK;
    }
    if (strcmp(name, "log_level") == 0) {
        static const char *const levels[] = {"none", "error", "warn", "info", "debug", NULL};
        int i = word_index(value, levels);
        if (i < 0)
            return rt_fail(r, RETORT_EINVAL, "setting log_level: '%.64s' is not one of none, "
                                             "error, warn, info, debug", value);
        return retort_set_log_level(r, i);
    }
    if (strcmp(name, "fresh_mode") == 0) {
        static const char *const modes[] = {"database", "schema", NULL};
        int i = word_index(value, modes);
        if (i < 0)
            return rt_fail(r, RETORT_EINVAL, "setting fresh_mode: '%.64s' is not one of "
                                             "database, schema", value);
        if (!r->fresh_base)
            return rt_fail(r, RETORT_EMISUSE, "setting fresh_mode: the context was not made by "
                                              "retort_new_fresh");
        if (!r->fresh_pending)
            return rt_fail(r, RETORT_EMISUSE, "setting fresh_mode: must be set before the "
                                              "first operation creates the fresh target");
        if (i == 1 && !r->backend->sql(RETORT_SQL_CREATE_SCHEMA))
            return rt_fail(r, RETORT_EINVAL, "setting fresh_mode: the %s backend has no "
                                             "schemas; only 'database' is accepted",
                           r->backend->name);
        r->fresh_mode_schema = i == 1;
        return RETORT_OK;
    }
    if (strcmp(name, "template_key") == 0) {
        if (strlen(value) > 1024)
            return rt_fail(r, RETORT_EINVAL, "setting template_key: longer than 1024 bytes");
        char *copy = rt_strdup(value);
        if (!copy)
            return rt_fail(r, RETORT_ENOMEM, "out of memory");
        rt_free(r->template_key);
        r->template_key = copy;
        return RETORT_OK;
    }
    return rt_fail(r, RETORT_EINVAL, "unknown setting '%.64s' (known: version_table, schema, "
                                     "lock_timeout, transaction_mode, checksum_policy, "
                                     "tolerate_unknown, allow_out_of_order, log_level, fresh_mode, template_key)",
                   name);
}
