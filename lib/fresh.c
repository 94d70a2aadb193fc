/*
 * fresh.c — fresh test targets made by the driver (its fresh_create and
 * template members, backend.h version 3): a database of their own, created
 * at the first operation, and cloned from a template of the registered
 * migrations when that operation is an upgrade to the head.
 *
 * The core knows no dialect here: it computes the template's key from the
 * registry and hands the driver a callback that migrates the template, the
 * driver decides what a database, a template and a lock are.
 *
 * Lifecycle of a context from retort_new_fresh:
 *   pending: nothing created yet (settings such as fresh_mode and
 *            template_key still apply);
 *   created: at the first operation, by rt_fresh_materialize (empty) or by
 *            rt_fresh_upgrade_from_template (a clone of the template);
 *   dropped: by retort_free, through the teardown hook.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "context.h"
#include "error.h"
#include "log.h"
#include "memory.h"
#include "url.h"

int rt_fresh_schema(retort *r); /* harness.c: the schema-per-test mode */

static int set_url(retort *r, const char *url)
{
    char *copy = rt_strdup(url), *redacted = rt_url_redact(url);
    if (!copy || !redacted) {
        rt_free(copy);
        rt_free(redacted);
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    }
    rt_free(r->url);
    rt_free(r->url_redacted);
    r->url = copy;
    r->url_redacted = redacted;
    r->url_is_default = 0;
    return RETORT_OK;
}

static int take_url(void *ctx, const char *line)
{
    char **out = ctx;
    rt_free(*out);
    *out = rt_strdup(line);
    return 0;
}

/* Closes the core's connection first (a database cannot be dropped with a
 * session on it), then has the driver drop what it made. */
static void driver_teardown(retort *r)
{
    if (r->db) {
        r->backend->disconnect(r->db);
        r->db = NULL;
    }
    if (!r->fresh_handle)
        return;
    struct retort_report rep;
    rt_report_init(&rep);
    if (r->backend->fresh_drop(r->fresh_handle, &rep) != RETORT_OK)
        rt_log(r, RETORT_LOG_WARN, "could not drop the fresh test database %s: %s; drop it by "
                                   "hand",
               r->url_redacted, rt_report_message(&rep));
    r->fresh_handle = NULL;
    rt_report_free(&rep);
}

/* Creates the target: a copy of template tmpl, or empty (NULL), and
 * connects to it. */
static int create_target(retort *r, const char *tmpl)
{
    struct retort_report rep;
    rt_report_init(&rep);
    char *url = NULL;
    void *handle = NULL;
    int rc = r->backend->fresh_create(r->fresh_base, tmpl, r->lock_timeout_ms, &handle, take_url,
                                      &url, &rep);
    if (rc != RETORT_OK) {
        rt_fail_report(r, &rep, rc, "cannot create the fresh test database");
        rt_report_free(&rep);
        rt_free(url);
        return r->errcode;
    }
    rt_report_free(&rep);
    r->fresh_handle = handle;
    r->teardown = driver_teardown;
    rc = url ? set_url(r, url) : rt_fail(r, RETORT_ENOMEM, "out of memory");
    rt_free(url);
    if (rc == RETORT_OK)
        rc = rt_connect(r);
    if (rc == RETORT_OK)
        rt_log(r, RETORT_LOG_DEBUG, "fresh test database %s created%s%s", r->url_redacted,
               tmpl ? " from template " : "", tmpl ? tmpl : "");
    return rc;
}

int rt_fresh_materialize(retort *r)
{
    r->fresh_pending = 0;
    if (r->fresh_mode_schema)
        return rt_fresh_schema(r);
    return create_target(r, NULL);
}

/* ------------------------------------------------------------ template */

static void hash_text(const char *text, char out[65]) { rt_checksum_sql(text, NULL, out); }

/*
 * The template's key: "PROJECT_MIGRATIONS", PROJECT being 8 hex digits of
 * the SHA-256 of the root revisions (ids and checksums: what identifies a
 * history), MIGRATIONS 24 of the SHA-256 of everything that decides the
 * template's content: each revision's id, parents, SQL checksum (callbacks
 * have none: template_key stands for their code) and flags, the version
 * table's name and schema, and template_key.
 */
static int template_key_of(retort *r, char out[40])
{
    rt_buf all = RT_BUF_INIT, roots = RT_BUF_INIT;
    rt_buf_printf(&all, "retort template 1\n%s\n%s\n%zu:%s\n", r->version_table, r->schema,
                  r->template_key ? strlen(r->template_key) : 0,
                  r->template_key ? r->template_key : "");
    for (int i = 0; i < r->reg.n; i++) {
        const rt_rev *rev = &r->reg.revs[i];
        rt_buf_printf(&all, "%s\t%s\t%s\t%d\n", rev->id, rev->parents,
                      *rev->checksum ? rev->checksum : "callback", rev->flags);
        if (rev->nparents == 0)
            rt_buf_printf(&roots, "%s\t%s\n", rev->id, rev->checksum);
    }
    int rc = RETORT_OK;
    if (rt_buf_failed(&all) || rt_buf_failed(&roots)) {
        rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
    } else {
        char h1[65], h2[65];
        hash_text(rt_buf_str(&roots), h1);
        hash_text(rt_buf_str(&all), h2);
        snprintf(out, 40, "%.8s_%.24s", h1, h2);
    }
    rt_buf_free(&all);
    rt_buf_free(&roots);
    return rc;
}

/* What the driver calls, under its lock, to migrate an empty template:
 * the context itself, pointed at the template for the time of the build. */
static int build_template(void *ctx, const char *build_url)
{
    retort *r = ctx;
    char *saved = r->url, *saved_redacted = r->url_redacted;
    r->url = NULL;
    r->url_redacted = NULL;
    int rc = set_url(r, build_url);
    if (rc == RETORT_OK) {
        rt_log(r, RETORT_LOG_INFO, "building the test template %s", r->url_redacted);
        rc = retort_upgrade(r, "heads");
    }
    if (r->db) {
        r->backend->disconnect(r->db);
        r->db = NULL;
    }
    r->conn_broken = 0;
    r->state.loaded = 0; /* what was read belongs to the template */
    r->dv_known = 0;
    rt_free(r->url);
    rt_free(r->url_redacted);
    r->url = saved;
    r->url_redacted = saved_redacted;
    return rc;
}

/* Whether a template can stand for these migrations: every revision is
 * SQL, whose text the key hashes, or template_key stands for the code of
 * the callbacks.  Without it a changed callback would be served the
 * template its old code built, so those migrate step by step. */
static int templatable(const retort *r)
{
    if (r->template_key)
        return 1;
    for (int i = 0; i < r->reg.n; i++)
        if (!(r->reg.revs[i].flags & RETORT_REV_SQL))
            return 0;
    return 1;
}

int rt_fresh_upgrade_from_template(retort *r, int *cloned)
{
    *cloned = 0;
    if (!templatable(r)) {
        rt_log(r, RETORT_LOG_DEBUG, "no test template: callback migrations and no "
                                    "template_key; migrating the fresh target step by step");
        return rt_fresh_materialize(r);
    }
    char key[40];
    int rc = template_key_of(r, key);
    if (rc != RETORT_OK)
        return rc;
    r->fresh_pending = 0;
    /* The common case, a template that exists: one copy, no look-up. */
    rc = create_target(r, key);
    if (rc == RETORT_OK) {
        *cloned = 1;
        return RETORT_OK;
    }
    if (rc != RETORT_ENOTFOUND || r->fresh_handle) {
        rt_log(r, RETORT_LOG_INFO, "cannot copy the test template %s (%s): migrating the fresh "
                                   "target step by step",
               key, retort_errmsg(r));
        rt_clear_error(r);
        return r->fresh_handle ? rt_connect(r) : create_target(r, NULL);
    }
    rt_clear_error(r);
    struct retort_report rep;
    rt_report_init(&rep);
    int built = 0;
    rc = r->backend->template_ensure(r->fresh_base, key, r->lock_timeout_ms, build_template, r,
                                     &built, &rep);
    if (rc != RETORT_OK) {
        /* A migration that fails in the template fails the same way here,
         * leaving the target where it stops, as migrating without a
         * template would: the caller sees exactly that. */
        if (r->errcode == RETORT_OK)
            rt_fail_report(r, &rep, rc, "cannot build the test template");
        rt_log(r, RETORT_LOG_INFO, "no test template (%s): migrating the fresh target step by "
                                   "step",
               retort_errmsg(r));
        rt_report_free(&rep);
        rt_clear_error(r);
        return create_target(r, NULL);
    }
    rt_report_free(&rep);
    if (built)
        rt_log(r, RETORT_LOG_INFO, "test template %s built", key);
    rc = create_target(r, key);
    if (rc == RETORT_OK)
        *cloned = 1;
    if (rc != RETORT_OK && !r->fresh_handle) {
        /* The template went between its check and the copy (another
         * process dropped it as stale, or retort_drop_templates): an empty
         * target, migrated step by step, is the same target. */
        rt_log(r, RETORT_LOG_INFO, "cannot copy the test template %s (%s): migrating the fresh "
                                   "target step by step",
               key, retort_errmsg(r));
        rt_clear_error(r);
        rc = create_target(r, NULL);
    }
    return rc;
}

/* ----------------------------------------------------------------- API */

RETORT_API int retort_fresh_url(retort *r, const char **url)
{
    if (!r || !url)
        return RETORT_EINVAL;
    rt_clear_error(r);
    *url = NULL;
    if (r->in_callback)
        return rt_fail(r, RETORT_EMISUSE, "retort_fresh_url called from inside a migration "
                                          "callback");
    if (!r->fresh_base)
        return rt_fail(r, RETORT_EMISUSE, "retort_fresh_url: the context was not made by "
                                          "retort_new_fresh");
    int rc = rt_connect(r); /* creates the target if no operation has yet */
    if (rc != RETORT_OK)
        return rc;
    *url = r->url;
    return RETORT_OK;
}

static int note_dropped(void *ctx, const char *name)
{
    rt_buf *out = ctx;
    rt_buf_printf(out, "%s%s", out->len ? " " : "", name);
    return 0;
}

RETORT_API int retort_drop_templates(retort *r, const char **dropped)
{
    if (!r || !dropped)
        return RETORT_EINVAL;
    rt_clear_error(r);
    *dropped = NULL;
    if (r->in_callback)
        return rt_fail(r, RETORT_EMISUSE, "retort_drop_templates called from inside a migration "
                                          "callback");
    if (!r->fresh_base)
        return rt_fail(r, RETORT_EMISUSE, "retort_drop_templates: the context was not made by "
                                          "retort_new_fresh");
    if (!RT_DRIVER_HAS(r, template_drop))
        return rt_fail(r, RETORT_EINVAL, "retort_drop_templates: the %s backend has no test "
                                         "templates",
                       r->backend->name);
    rt_buf_reset(&r->out);
    struct retort_report rep;
    rt_report_init(&rep);
    int rc = r->backend->template_drop(r->fresh_base, note_dropped, &r->out, &rep);
    if (rc != RETORT_OK)
        rc = rt_fail_report(r, &rep, rc, "cannot drop the test templates");
    rt_report_free(&rep);
    if (rc == RETORT_OK && rt_buf_failed(&r->out))
        rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
    if (rc == RETORT_OK)
        *dropped = rt_buf_str(&r->out);
    return rc;
}
