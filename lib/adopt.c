/*
 * adopt.c — retort_adopt(): records in retort's version table the revisions
 * another tool's version table says are applied, as that tool wrote it,
 * without running anything and without touching that table.
 *
 * Each tool is one row of the table below: its table, the query that reads
 * it (plain SELECTs every dialect understands: the core knows no dialect),
 * and how its rows name revisions.  Everything is read and checked before
 * the one transaction that writes retort's rows and their audit entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "context.h"
#include "error.h"
#include "formats/formats.h"
#include "log.h"
#include "memory.h"
#include "runner.h"
#include "version_table.h"

enum { K_GOLANG, K_DBMATE, K_GOOSE, K_FLYWAY, K_SQLX, K_DIESEL, K_SQL_MIGRATE, K_ALEMBIC };

typedef struct adopt_tool {
    const char *name;
    const char *table;
    const char *query;
    int kind;
} adopt_tool;

/* golang-migrate and dbmate share the table name; golang-migrate's has the
 * "dirty" column, which is how detection tells them apart. */
static const adopt_tool tools[] = {
    {"golang-migrate", "schema_migrations", "SELECT version, dirty FROM schema_migrations",
     K_GOLANG},
    {"dbmate", "schema_migrations", "SELECT version FROM schema_migrations", K_DBMATE},
    {"goose", "goose_db_version",
     "SELECT version_id, is_applied FROM goose_db_version ORDER BY id", K_GOOSE},
    {"flyway", "flyway_schema_history",
     "SELECT version, type, success, script, checksum FROM flyway_schema_history ORDER BY "
     "installed_rank",
     K_FLYWAY},
    {"sqlx", "_sqlx_migrations", "SELECT version, success, description FROM _sqlx_migrations",
     K_SQLX},
    {"diesel", "__diesel_schema_migrations", "SELECT version FROM __diesel_schema_migrations",
     K_DIESEL},
    {"sql-migrate", "gorp_migrations", "SELECT id FROM gorp_migrations", K_SQL_MIGRATE},
    {"alembic", "alembic_version", "SELECT version_num FROM alembic_version", K_ALEMBIC},
};
#define NTOOLS ((int)(sizeof tools / sizeof tools[0]))

/* The rows read, as text, owned here. */
typedef struct rows {
    char **v; /* ncols per row */
    int n, cap, ncols;
    int oom;
} rows;

static int on_row(void *ctx, int ncols, const char *const *values)
{
    rows *t = ctx;
    if (t->oom)
        return 1;
    if (t->n == t->cap) {
        int ncap = t->cap ? t->cap * 2 : 32;
        char **g = rt_reallocarray(t->v, (size_t)ncap * (size_t)t->ncols, sizeof *g);
        if (!g) {
            t->oom = 1;
            return 1;
        }
        t->v = g;
        t->cap = ncap;
    }
    for (int i = 0; i < t->ncols; i++) {
        const char *s = i < ncols && values[i] ? values[i] : NULL;
        char *c = s ? rt_strdup(s) : NULL;
        if (s && !c)
            t->oom = 1;
        t->v[t->n * t->ncols + i] = c;
    }
    t->n++;
    return t->oom;
}

static void rows_free(rows *t)
{
    for (int i = 0; i < t->n * t->ncols; i++)
        rt_free(t->v[i]);
    rt_free(t->v);
    memset(t, 0, sizeof *t);
}

static int query(retort *r, const char *sql, int ncols, rows *out, int quiet)
{
    memset(out, 0, sizeof *out);
    out->ncols = ncols;
    struct retort_report rep;
    rt_report_init(&rep);
    int rc = r->backend->query(r->db, sql, 0, NULL, on_row, out, &rep);
    if (out->oom)
        rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
    else if (rc != RETORT_OK && !quiet)
        rc = rt_fail_report(r, &rep, RETORT_EDB, sql);
    rt_report_free(&rep);
    if (rc != RETORT_OK)
        rows_free(out);
    return rc;
}

static int table_exists(retort *r, const char *table, int *exists)
{
    struct retort_report rep;
    rt_report_init(&rep);
    int rc = r->backend->table_exists(r->db, NULL, table, exists, &rep);
    if (rc != RETORT_OK)
        rc = rt_fail_report(r, &rep, RETORT_EDB, table);
    rt_report_free(&rep);
    return rc;
}

static int truthy(const char *s)
{
    return s && (strcmp(s, "t") == 0 || strcmp(s, "true") == 0 || strcmp(s, "1") == 0 ||
                 strcmp(s, "TRUE") == 0);
}

/* The digits of a leading version without leading zeros, into out. */
static void leading_number(const char *s, size_t n, char *out, size_t size)
{
    size_t i = 0;
    while (i < n && s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')
        i++;
    size_t k = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9' && k + 1 < size)
        out[k++] = s[i++];
    out[k] = '\0';
}

/* Compares two digit strings without leading zeros as numbers. */
static int num_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

/* The revision a tool's version names, or -1. */
static int find_version(retort *r, int kind, const char *version)
{
    char want[64], have[64];
    if (kind == K_GOLANG || kind == K_GOOSE || kind == K_SQLX || kind == K_DBMATE)
        leading_number(version, strlen(version), want, sizeof want);
    for (int i = 0; i < r->reg.n; i++) {
        const char *id = r->reg.revs[i].id;
        switch (kind) {
        case K_GOLANG:
        case K_GOOSE:
        case K_SQLX:
        case K_DBMATE:
            if (!(id[0] >= '0' && id[0] <= '9'))
                break;
            leading_number(id, strlen(id), have, sizeof have);
            if (want[0] && strcmp(want, have) == 0)
                return i;
            break;
        case K_FLYWAY: {
            size_t vlen;
            if (rt_flyway_kind(id, strlen(id), &vlen) == RT_FLYWAY_VERSIONED &&
                rt_flyway_version_cmp(id + 1, vlen, version, strlen(version)) == 0)
                return i;
            break;
        }
        case K_DIESEL: { /* "2024-01-01-000000_x" is version "20240101000000" */
            size_t k = 0;
            const char *p = id;
            for (; *p && *p != '_' && k + 1 < sizeof have; p++)
                if (*p != '-')
                    have[k++] = *p;
            have[k] = '\0';
            k = 0;
            for (p = version; *p && k + 1 < sizeof want; p++)
                if (*p != '-')
                    want[k++] = *p;
            want[k] = '\0';
            if (strcmp(want, have) == 0)
                return i;
            break;
        }
        case K_SQL_MIGRATE: { /* its ids are file names: "1_init.sql" */
            size_t n = strlen(version);
            if (n > 4 && strcmp(version + n - 4, ".sql") == 0)
                n -= 4;
            if (strlen(id) == n && memcmp(id, version, n) == 0)
                return i;
            break;
        }
        default:
            if (strcmp(id, version) == 0)
                return i;
        }
    }
    return -1;
}

typedef struct adopt_plan {
    const adopt_tool *tool;
    unsigned char *want; /* per registry index */
    /* Flyway's repeatable migrations, per index of r->rreg: listed in its
     * table (rhave), with the checksum of their latest application (rsum;
     * rhave 2: that checksum is NULL). */
    unsigned char *rhave;
    long long *rsum;
} adopt_plan;

static void iso_now(char *out, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             ts.tv_nsec / 1000000);
}

static int record(retort *r, const void *arg)
{
    const adopt_plan *p = arg;
    int rc = rt_vt_read(r);
    if (rc != RETORT_OK)
        return rc;
    if (r->state.n > 0)
        return rt_fail(r, RETORT_EINVAL, "retort's version table already records %d "
                                         "revision%s: adopt only starts a database that "
                                         "retort has not migrated",
                       r->state.n, r->state.n == 1 ? "" : "s");
    char now[64], note[160];
    iso_now(now, sizeof now);
    snprintf(note, sizeof note, "adopted from %s (table %s)", p->tool->name, p->tool->table);
    /* parents first, so that the table never records a child alone */
    for (int k = 0; k < r->graph.n && rc == RETORT_OK; k++) {
        int v = r->graph.topo[k];
        if (!p->want[v])
            continue;
        rc = rt_vt_insert(r, &r->reg.revs[v], "applied", 0);
        if (rc == RETORT_OK)
            rc = rt_vt_log(r, r->reg.revs[v].id, "adopt", now, now, "ok", note, -1);
    }
    /* Flyway's repeatable migrations: applied at the file's present text
     * when Flyway's checksum of it is the one recorded; otherwise the file
     * changed since, and is left unrecorded for the next upgrade to run, as
     * Flyway would (repeatable.c). */
    for (int k = 0; p->rhave && k < r->rreg.n && rc == RETORT_OK; k++) {
        const rt_rev *rev = &r->rreg.revs[k];
        if (!p->rhave[k])
            continue;
        if (p->rhave[k] != 1 || !rev->up_sql || rt_flyway_checksum(rev->up_sql) != p->rsum[k]) {
            rt_log(r, RETORT_LOG_INFO, "adopt: repeatable migration '%s' changed since %s "
                                       "applied it: not recorded, the next upgrade runs it",
                   rev->id, p->tool->name);
            continue;
        }
        rc = rt_vt_insert(r, rev, "applied", 0);
        if (rc == RETORT_OK)
            rc = rt_vt_log(r, rev->id, "adopt", now, now, "ok", note, -1);
    }
    return rc;
}

/* Marks v and its ancestors. */
static void mark_ancestors(retort *r, unsigned char *want, int v)
{
    if (want[v] == 2)
        return;
    want[v] = 2;
    for (int k = r->graph.par_start[v]; k < r->graph.par_start[v + 1]; k++)
        mark_ancestors(r, want, r->graph.par[k]);
}

/* Reads the tool's rows into want[]; refuses dirty/failed rows and versions
 * the directory does not have, naming them. */
static int read_tool(retort *r, const adopt_tool *t, unsigned char *want, adopt_plan *plan)
{
    int ncols = t->kind == K_FLYWAY ? 5 : t->kind == K_GOLANG || t->kind == K_GOOSE ? 2
              : t->kind == K_SQLX ? 3 : 1;
    rows rw;
    int rc = query(r, t->query, ncols, &rw, 0);
    if (rc != RETORT_OK)
        return rc;
    for (int i = 0; i < rw.n && rc == RETORT_OK; i++) {
        char **c = &rw.v[i * ncols];
        const char *version = c[0] ? c[0] : "";
        int applied = 1;
        switch (t->kind) {
        case K_GOLANG:
            if (truthy(c[1]))
                rc = rt_fail(r, RETORT_EDIRTY, "adopt: %s's table %s is dirty at version %s "
                                               "(a migration failed midway): fix the database "
                                               "and clear it with golang-migrate's 'force' "
                                               "first; nothing was changed",
                             t->name, t->table, version);
            break;
        case K_GOOSE:
            if (strcmp(version, "0") == 0)
                continue; /* goose's own first row */
            applied = truthy(c[1]);
            break;
        case K_FLYWAY:
            if (c[2] && !truthy(c[2]))
                rc = rt_fail(r, RETORT_EDIRTY, "adopt: %s's table %s records a failed "
                                               "migration (%s%s%s): repair it with Flyway "
                                               "first; nothing was changed",
                             t->name, t->table, c[3] ? c[3] : "", c[0] ? " version " : "",
                             c[0] ? c[0] : "");
            else if (c[1] && strcmp(c[1], "SCHEMA") == 0)
                continue;
            else if (!c[0]) {
                /* A repeatable migration: its script names the file. */
                const char *script = c[3] ? c[3] : "";
                const char *base = strrchr(script, '/');
                base = base ? base + 1 : script;
                size_t n = strlen(base);
                if (n > 4 && strcmp(base + n - 4, ".sql") == 0)
                    n -= 4;
                int k = rt_registry_find(&r->rreg, base, n);
                if (k < 0) {
                    rc = rt_fail(r, RETORT_EUNKNOWN, "adopt: %s's table %s records the "
                                                     "repeatable migration %s, which the "
                                                     "directory does not have; nothing was "
                                                     "changed",
                                 t->name, t->table, c[3] ? c[3] : "(unnamed)");
                    break;
                }
                /* in installed_rank order: the latest application wins */
                plan->rhave[k] = c[4] ? 1 : 2;
                plan->rsum[k] = c[4] ? strtoll(c[4], NULL, 10) : 0;
                continue;
            }
            else if (c[1] && (strncmp(c[1], "UNDO", 4) == 0 || strcmp(c[1], "DELETE") == 0))
                applied = 0;
            break;
        case K_SQLX:
            if (!truthy(c[1]))
                rc = rt_fail(r, RETORT_EDIRTY, "adopt: %s's table %s records version %s "
                                               "(%s) as failed (success = false): fix the "
                                               "database and that row first; nothing was "
                                               "changed",
                             t->name, t->table, version, c[2] ? c[2] : "");
            break;
        default:
            break;
        }
        if (rc != RETORT_OK)
            break;
        int v = find_version(r, t->kind, version);
        if (v < 0 && !(t->kind == K_GOOSE && !applied)) {
            rc = rt_fail(r, RETORT_EUNKNOWN, "adopt: %s's table %s lists version %s, which no "
                                             "migration in the directory has; nothing was "
                                             "changed",
                         t->name, t->table, version);
            break;
        }
        if (v < 0)
            continue;
        if (t->kind == K_GOLANG) { /* one row: that version and everything before it */
            char cur[64], have[64];
            leading_number(version, strlen(version), cur, sizeof cur);
            for (int j = 0; j < r->reg.n; j++) {
                const char *id = r->reg.revs[j].id;
                if (id[0] < '0' || id[0] > '9')
                    continue;
                leading_number(id, strlen(id), have, sizeof have);
                if (num_cmp(have, cur) <= 0)
                    want[j] = 1;
            }
        } else if (t->kind == K_ALEMBIC) {
            mark_ancestors(r, want, v);
        } else if (t->kind == K_FLYWAY && c[1] && strcmp(c[1], "BASELINE") == 0) {
            mark_ancestors(r, want, v);
        } else {
            want[v] = (unsigned char)applied;
        }
    }
    rows_free(&rw);
    return rc;
}

int rt_adopt_guard(retort *r, const char *op)
{
    for (int i = 0; i < NTOOLS; i++) {
        if (i == 1)
            continue; /* dbmate's table is golang-migrate's name */
        int exists = 0;
        int rc = table_exists(r, tools[i].table, &exists);
        if (rc != RETORT_OK)
            return rc;
        if (exists)
            return rt_fail(r, RETORT_EUNKNOWN,
                           "%s: the database has another tool's version table (%s, as %s%s "
                           "writes it) and no retort version table: record what it applied "
                           "with 'retort adopt' (retort_adopt), or start from nothing with "
                           "'retort stamp base'; nothing was changed",
                           op, tools[i].table, tools[i].name, i == 0 ? " or dbmate" : "");
    }
    return RETORT_OK;
}

RETORT_API int retort_adopt(retort *r, const char *tool)
{
    int rc = rt_prepare(r, "retort_adopt", 1);
    if (rc != RETORT_OK)
        return rc;
    const adopt_tool *t = NULL;
    if (tool) {
        for (int i = 0; i < NTOOLS && !t; i++)
            if (strcmp(tools[i].name, tool) == 0)
                t = &tools[i];
        if (!t)
            return rt_fail(r, RETORT_EINVAL, "retort_adopt: unknown tool '%.64s' (known: "
                                             "golang-migrate, goose, flyway, sqlx, diesel, "
                                             "dbmate, sql-migrate, alembic)",
                           tool);
        int exists = 0;
        if ((rc = table_exists(r, t->table, &exists)) != RETORT_OK)
            return rc;
        if (!exists)
            return rt_fail(r, RETORT_ENOTFOUND, "adopt: no %s version table (%s) in the "
                                                "database",
                           t->name, t->table);
    }
    if (t && (t->kind == K_GOLANG || t->kind == K_DBMATE)) {
        /* The name says which; the columns must agree. */
        rows probe;
        if (query(r, tools[0].query, 2, &probe, 1) == RETORT_OK) {
            rows_free(&probe);
            if (t->kind == K_DBMATE)
                return rt_fail(r, RETORT_EINVAL, "adopt: schema_migrations has golang-migrate's "
                                                 "'dirty' column: adopt golang-migrate instead "
                                                 "of dbmate");
        } else if (t->kind == K_GOLANG) {
            rt_clear_error(r);
            return rt_fail(r, RETORT_EINVAL, "adopt: schema_migrations has no 'dirty' column, "
                                             "so golang-migrate did not write it (dbmate?)");
        }
        rt_clear_error(r);
    }
    if (!t) {
        rt_buf found = RT_BUF_INIT;
        int nfound = 0;
        for (int i = 0; i < NTOOLS && rc == RETORT_OK; i++) {
            if (i == 1)
                continue; /* dbmate: same table as golang-migrate, told apart below */
            int exists = 0;
            rc = table_exists(r, tools[i].table, &exists);
            if (rc == RETORT_OK && exists) {
                const adopt_tool *hit = &tools[i];
                if (i == 0) {
                    rows probe;
                    if (query(r, tools[0].query, 2, &probe, 1) == RETORT_OK)
                        rows_free(&probe);
                    else
                        hit = &tools[1];
                    rt_clear_error(r);
                }
                rt_buf_printf(&found, "%s%s (%s)", nfound ? ", " : "", hit->name, hit->table);
                nfound++;
                t = hit;
            }
        }
        if (rc == RETORT_OK && nfound == 0)
            rc = rt_fail(r, RETORT_ENOTFOUND, "adopt: no other tool's version table in the "
                                              "database (looked for schema_migrations, "
                                              "goose_db_version, flyway_schema_history, "
                                              "_sqlx_migrations, __diesel_schema_migrations, "
                                              "gorp_migrations, alembic_version)");
        else if (rc == RETORT_OK && nfound > 1)
            rc = rt_fail(r, RETORT_EINVAL, "adopt: several tools' version tables are present: "
                                           "%s; name the one to adopt",
                         rt_buf_str(&found));
        rt_buf_free(&found);
        if (rc != RETORT_OK)
            return rc;
    }
    adopt_plan plan = {t, rt_calloc((size_t)r->reg.n + 1, 1),
                       rt_calloc((size_t)r->rreg.n + 1, 1),
                       rt_calloc((size_t)r->rreg.n + 1, sizeof(long long))};
    if (!plan.want || !plan.rhave || !plan.rsum) {
        rt_free(plan.want);
        rt_free(plan.rhave);
        rt_free(plan.rsum);
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    }
    rc = read_tool(r, t, plan.want, &plan);
    /* Exactly what the tool applied, and it must be whole: a revision
     * recorded without its parent would be a gap retort cannot represent. */
    for (int v = 0; v < r->reg.n && rc == RETORT_OK; v++) {
        if (!plan.want[v])
            continue;
        for (int k = r->graph.par_start[v]; k < r->graph.par_start[v + 1]; k++) {
            int p = r->graph.par[k];
            if (!plan.want[p]) {
                rc = rt_fail(r, RETORT_EINVAL, "adopt: %s's table %s records '%s' as applied "
                                               "but not its parent '%s' (applied out of "
                                               "order?): apply or stamp it with the old tool "
                                               "first; nothing was changed",
                             t->name, t->table, r->reg.revs[v].id, r->reg.revs[p].id);
                break;
            }
        }
    }
    int n = 0;
    for (int v = 0; v < r->reg.n; v++)
        n += plan.want[v] != 0;
    if (rc == RETORT_OK)
        rc = rt_locked_change(r, "adopt", record, &plan);
    if (rc == RETORT_OK)
        rt_log(r, RETORT_LOG_INFO, "adopted %d revision%s from %s (table %s)", n,
               n == 1 ? "" : "s", t->name, t->table);
    rt_free(plan.want);
    rt_free(plan.rhave);
    rt_free(plan.rsum);
    return rc;
}
