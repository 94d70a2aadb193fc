/*
 * commands_status.c — the operator's read-only views: `status` (every
 * revision with its state, when it was applied, how long it took and its
 * checksum verdict) and `log` (the audit log, filtered), as text or as
 * JSON (--format json, schema in doc/retort.1 "JSON OUTPUT"), and the
 * plans that upgrade/downgrade/stamp --dry-run print.  Only public API
 * calls: retort_versions, retort_audit_log, retort_plan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "strbuf.h"

/* ------------------------------------------------------------ JSON text */

void cli_json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        default:
            if (*p < 0x20)
                printf("\\u%04x", *p);
            else
                putchar(*p);
        }
    }
    putchar('"');
}

/* A space-separated list as a JSON array of strings. */
void cli_json_list(const char *list)
{
    putchar('[');
    int first = 1;
    for (const char *p = list ? list : ""; *p;) {
        p += strspn(p, " ");
        size_t k = strcspn(p, " ");
        if (!k)
            break;
        char *one = strndup(p, k);
        if (!first)
            putchar(',');
        cli_json_str(one ? one : "");
        free(one);
        first = 0;
        p += k;
    }
    putchar(']');
}

/* ------------------------------------------------------------ status */

typedef struct vrow {
    char *id, *parents, *message, *state, *applied_at;
    long duration_ms;
    int flags;
} vrow;

typedef struct vrows {
    vrow *v;
    int n, cap, oom;
} vrows;

static void collect_version(const char *id, const char *parents, const char *message,
                            const char *state, const char *applied_at, long duration_ms,
                            int flags, void *user)
{
    vrows *rs = user;
    if (rs->oom)
        return;
    if (rs->n == rs->cap) {
        int cap = rs->cap ? rs->cap * 2 : 16;
        vrow *nv = realloc(rs->v, (size_t)cap * sizeof *nv);
        if (!nv) {
            rs->oom = 1;
            return;
        }
        rs->v = nv;
        rs->cap = cap;
    }
    vrow *w = &rs->v[rs->n++];
    w->id = strdup(id);
    w->parents = strdup(parents);
    w->message = strdup(message);
    w->state = strdup(state);
    w->applied_at = strdup(applied_at);
    w->duration_ms = duration_ms;
    w->flags = flags;
    if (!w->id || !w->parents || !w->message || !w->state || !w->applied_at)
        rs->oom = 1;
}

static void free_rows(vrows *rs)
{
    for (int i = 0; i < rs->n; i++) {
        free(rs->v[i].id);
        free(rs->v[i].parents);
        free(rs->v[i].message);
        free(rs->v[i].state);
        free(rs->v[i].applied_at);
    }
    free(rs->v);
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const vrow *)a)->id, ((const vrow *)b)->id);
}

/* rs sorted by id (sort_rows): a binary search. */
static const vrow *find_row(const vrows *rs, const char *id)
{
    vrow key;
    key.id = (char *)id;
    return rs->n ? bsearch(&key, rs->v, (size_t)rs->n, sizeof *rs->v, cmp_row) : NULL;
}

/* The registered revisions, with "needed": some applied revision descends
 * from it (a pending one so marked was skipped: out of order). */
typedef struct reg {
    const char **id, **parents, **message;
    int *flags, *needed, n;
    int *by_id; /* indexes sorted by id, for index_of */
} reg;

static const reg *sort_reg; /* qsort has no context argument */

static int cmp_index(const void *a, const void *b)
{
    return strcmp(sort_reg->id[*(const int *)a], sort_reg->id[*(const int *)b]);
}

/* The registry index of id[0..len), or -1: a binary search of by_id. */
static int index_of(const reg *g, const char *id, size_t len)
{
    int lo = 0, hi = g->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const char *m = g->id[g->by_id[mid]];
        int c = strncmp(m, id, len);
        if (c == 0 && m[len] != '\0')
            c = 1;
        if (c == 0)
            return g->by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static void mark_needed(reg *g, int i)
{
    /* Iterative over parents: an explicit stack of indexes. */
    int *stack = malloc((size_t)(g->n + 1) * sizeof *stack * 2), top = 0;
    if (!stack)
        return;
    stack[top++] = i;
    while (top) {
        int k = stack[--top];
        for (const char *p = g->parents[k]; *p;) {
            p += strspn(p, " ");
            size_t l = strcspn(p, " ");
            if (!l)
                break;
            int j = index_of(g, p, l);
            if (j >= 0 && !g->needed[j] && top < g->n * 2) {
                g->needed[j] = 1;
                stack[top++] = j;
            }
            p += l;
        }
    }
    free(stack);
}

static const char *state_of(const reg *g, int i, const vrow *row)
{
    if (!row)
        return g->needed[i] ? "out-of-order" : "pending";
    if (strcmp(row->state, "dirty") == 0)
        return "dirty";
    if (row->flags & RETORT_ROW_EDITED)
        return "edited";
    return "applied";
}

static const char *verdict_of(const vrow *row)
{
    if (!row)
        return "-";
    if (row->flags & RETORT_ROW_EDITED)
        return "edited";
    if (row->flags & RETORT_ROW_CHECKSUM_OK)
        return "ok";
    return "-";
}

static void status_json_row(int *first, const char *id, const char *state, const vrow *row,
                            const char *parents, const char *message)
{
    if (!*first)
        fputs(",\n", stdout);
    *first = 0;
    fputs("  {\"id\":", stdout);
    cli_json_str(id);
    fputs(",\"state\":", stdout);
    cli_json_str(state);
    fputs(",\"parents\":", stdout);
    cli_json_list(parents);
    fputs(",\"message\":", stdout);
    cli_json_str(message);
    fputs(",\"applied_at\":", stdout);
    if (row)
        cli_json_str(row->applied_at);
    else
        fputs("null", stdout);
    fputs(",\"duration_ms\":", stdout);
    if (row)
        printf("%ld", row->duration_ms);
    else
        fputs("null", stdout);
    fputs(",\"checksum\":", stdout);
    const char *v = verdict_of(row);
    if (strcmp(v, "-") == 0)
        fputs("null", stdout);
    else
        cli_json_str(v);
    fputc('}', stdout);
}

int cmd_status(cli *c)
{
    retort *r;
    if (cli_open(c, &r, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    vrows rs = {NULL, 0, 0, 0};
    reg g = {0};
    int status = CLI_EXIT_OK;
    if (retort_versions(r, collect_version, &rs) != RETORT_OK) {
        status = cli_lib_fail(c, r);
        goto out;
    }
    if (rs.oom || retort_revision_count(r, &g.n) != RETORT_OK) {
        status = rs.oom ? cli_fail(c, "out of memory") : cli_lib_fail(c, r);
        goto out;
    }
    size_t n = (size_t)(g.n ? g.n : 1);
    g.id = calloc(n, sizeof *g.id);
    g.parents = calloc(n, sizeof *g.parents);
    g.message = calloc(n, sizeof *g.message);
    g.flags = calloc(n, sizeof *g.flags);
    g.needed = calloc(n, sizeof *g.needed);
    g.by_id = calloc(n, sizeof *g.by_id);
    if (!g.id || !g.parents || !g.message || !g.flags || !g.needed || !g.by_id) {
        status = cli_fail(c, "out of memory");
        goto out;
    }
    for (int i = 0; i < g.n; i++)
        if (retort_revision_info(r, i, &g.id[i], &g.parents[i], &g.message[i], &g.flags[i]) !=
            RETORT_OK) {
            status = cli_lib_fail(c, r);
            goto out;
        }
    for (int i = 0; i < g.n; i++)
        g.by_id[i] = i;
    sort_reg = &g;
    qsort(g.by_id, (size_t)g.n, sizeof *g.by_id, cmp_index);
    for (int i = 0; i < rs.n; i++) {
        int k = index_of(&g, rs.v[i].id, strlen(rs.v[i].id));
        if (k >= 0 && !g.needed[k])
            mark_needed(&g, k);
    }
    /* For find_row; the unknown rows are then listed by id. */
    if (rs.n)
        qsort(rs.v, (size_t)rs.n, sizeof *rs.v, cmp_row);
    int json = c->format_json, first = 1, issues = 0;
    if (json)
        fputs("{\"format\":\"retort.status/1\",\"revisions\":[\n", stdout);
    for (int i = 0; i < g.n; i++) {
        const vrow *row = find_row(&rs, g.id[i]);
        const char *st = state_of(&g, i, row);
        if (strcmp(st, "applied") != 0 && strcmp(st, "pending") != 0)
            issues++;
        if (json) {
            status_json_row(&first, g.id[i], st, row, g.parents[i], g.message[i]);
            continue;
        }
        printf("%-12s %s", st, g.id[i]);
        if (row)
            printf("  applied %s in %ld ms", row->applied_at, row->duration_ms);
        if (strcmp(verdict_of(row), "-") != 0)
            printf("  checksum %s", verdict_of(row));
        const char *labels = "", *depends = "";
        if (retort_revision_links(r, i, &labels, &depends) == RETORT_OK) {
            if (*labels)
                printf("  (branch: %s)", labels);
            if (*depends)
                printf("  depends on: %s", depends);
        }
        printf("%s%s\n", *g.message[i] ? "  " : "", g.message[i]);
    }
    for (int i = 0; i < rs.n; i++) {
        if (!(rs.v[i].flags & RETORT_ROW_UNKNOWN))
            continue;
        issues++;
        if (json) {
            status_json_row(&first, rs.v[i].id, "unknown", &rs.v[i], rs.v[i].parents,
                            rs.v[i].message);
            continue;
        }
        printf("%-12s %s  applied %s in %ld ms  (not in %s)\n", "unknown", rs.v[i].id,
               rs.v[i].applied_at, rs.v[i].duration_ms,
               c->cfg.ndirs > 1 ? "the migrations directories" : c->cfg.dir);
    }
    if (json) {
        fputs(first ? "]}\n" : "\n]}\n", stdout);
    } else if (issues && c->cfg.verbosity >= 0) {
        fflush(stdout);
        fprintf(stderr, "retort: status: %d revision%s need%s attention (dirty: retort "
                        "mark-applied|mark-reverted ID; edited: retort repair; unknown: "
                        "--set tolerate_unknown=true or add the file; out-of-order: retort "
                        "upgrade --allow-out-of-order)\n",
                issues, issues == 1 ? "" : "s", issues == 1 ? "s" : "");
    }
out:
    free(g.id);
    free(g.parents);
    free(g.message);
    free(g.flags);
    free(g.needed);
    free(g.by_id);
    free_rows(&rs);
    retort_free(r);
    return status;
}

/* ------------------------------------------------------------ log */

typedef struct log_view {
    const cli *c;
    int first, shown;
} log_view;

static void show_entry(long seq, const char *revision, const char *direction,
                       const char *started_at, const char *finished_at, const char *outcome,
                       const char *error, int statements_done, void *user)
{
    log_view *v = user;
    const cli *c = v->c;
    if (c->filter_revision && strcmp(c->filter_revision, revision) != 0)
        return;
    if (c->filter_outcome && strcmp(c->filter_outcome, outcome) != 0)
        return;
    /* ISO 8601 UTC text compares as time; a date alone is its midnight. */
    if (c->filter_since && strcmp(started_at, c->filter_since) < 0)
        return;
    v->shown++;
    if (!c->format_json) {
        printf("%ld %s %s %s %s", seq, started_at, revision, direction, outcome);
        if (statements_done >= 0)
            printf(" (%d statement%s done)", statements_done, statements_done == 1 ? "" : "s");
        if (*error)
            printf(": %s", error);
        putchar('\n');
        return;
    }
    fputs(v->first ? "  " : ",\n  ", stdout);
    v->first = 0;
    printf("{\"seq\":%ld,\"revision\":", seq);
    cli_json_str(revision);
    fputs(",\"direction\":", stdout);
    cli_json_str(direction);
    fputs(",\"started_at\":", stdout);
    cli_json_str(started_at);
    fputs(",\"finished_at\":", stdout);
    cli_json_str(finished_at);
    fputs(",\"outcome\":", stdout);
    cli_json_str(outcome);
    fputs(",\"error\":", stdout);
    if (*error)
        cli_json_str(error);
    else
        fputs("null", stdout);
    fputs(",\"statements_done\":", stdout);
    if (statements_done >= 0)
        printf("%d", statements_done);
    else
        fputs("null", stdout);
    putchar('}');
}

int cmd_log(cli *c)
{
    if (c->filter_outcome && strcmp(c->filter_outcome, "ok") != 0 &&
        strcmp(c->filter_outcome, "failed") != 0)
        return cli_usage(c, "--outcome must be 'ok' or 'failed', not '%s'", c->filter_outcome);
    retort *r;
    if (cli_open(c, &r, 0) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    log_view v = {c, 1, 0};
    if (c->format_json)
        fputs("{\"format\":\"retort.log/1\",\"entries\":[\n", stdout);
    int status = CLI_EXIT_OK;
    if (retort_audit_log(r, show_entry, &v) != RETORT_OK)
        status = cli_lib_fail(c, r);
    if (c->format_json)
        fputs(v.first ? "]}\n" : "\n]}\n", stdout);
    retort_free(r);
    return status;
}

/* ------------------------------------------------------------ dry run */

int cli_dry_run(cli *c, retort *r, int direction, const char *target)
{
    const char *ids;
    if (retort_plan(r, direction, target, &ids) != RETORT_OK)
        return cli_lib_fail(c, r);
    char *plan = strdup(ids);
    if (!plan)
        return cli_fail(c, "out of memory");
    int n = 0;
    if (retort_revision_count(r, &n) != RETORT_OK) {
        free(plan);
        return cli_lib_fail(c, r);
    }
    if (c->format_json) {
        printf("{\"format\":\"retort.plan/1\",\"direction\":\"%s\",\"target\":",
               direction > 0 ? "upgrade" : "downgrade");
        cli_json_str(target);
        fputs(",\"steps\":[", stdout);
    }
    int count = 0;
    for (const char *p = plan; *p;) {
        size_t k = strcspn(p, " ");
        const char *parents = "", *message = "";
        for (int i = 0; i < n; i++) {
            const char *id, *pa, *m;
            if (retort_revision_info(r, i, &id, &pa, &m, NULL) == RETORT_OK &&
                strlen(id) == k && memcmp(id, p, k) == 0) {
                parents = pa;
                message = m;
            }
        }
        char *id = strndup(p, k);
        if (!id)
            break;
        if (c->format_json) {
            fputs(count ? ",\n  {\"id\":" : "\n  {\"id\":", stdout);
            cli_json_str(id);
            fputs(",\"parents\":", stdout);
            cli_json_list(parents);
            fputs(",\"message\":", stdout);
            cli_json_str(message);
            putchar('}');
        } else {
            const char *pa = *parents ? parents : "base";
            printf("Would run %s %s -> %s%s%s%s\n", direction > 0 ? "upgrade" : "downgrade",
                   direction > 0 ? pa : id, direction > 0 ? id : pa, *message ? " (" : "",
                   message, *message ? ")" : "");
        }
        free(id);
        count++;
        p += k;
        p += strspn(p, " ");
    }
    free(plan);
    if (c->format_json)
        fputs(count ? "\n]}\n" : "]}\n", stdout);
    else
        printf("Dry run: %d revision%s would be %s; nothing was changed\n", count,
               count == 1 ? "" : "s", direction > 0 ? "applied" : "reverted");
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------ repair */

typedef struct edited {
    strbuf ids;
    int n;
} edited;

static void collect_edited(const char *id, const char *parents, const char *message,
                           const char *state, const char *applied_at, long duration_ms,
                           int flags, void *user)
{
    (void)parents, (void)message, (void)state, (void)applied_at, (void)duration_ms;
    edited *e = user;
    if (!(flags & RETORT_ROW_EDITED))
        return;
    if (e->n++)
        sb_addc(&e->ids, ' ');
    sb_add(&e->ids, id);
}

/* repair [ID...]: re-records the checksums of applied SQL revisions whose
 * files were edited on purpose; without IDs, every such revision. */
int cmd_repair(cli *c)
{
    retort *r;
    if (cli_open(c, &r, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    edited e = {{0}, 0};
    int status = CLI_EXIT_OK;
    if (!c->nargs) {
        if (retort_versions(r, collect_edited, &e) != RETORT_OK) {
            status = cli_lib_fail(c, r);
            goto out;
        }
    } else {
        for (int i = 0; i < c->nargs; i++) {
            if (i)
                sb_addc(&e.ids, ' ');
            sb_add(&e.ids, c->args[i]);
            e.n++;
        }
    }
    if (sb_failed(&e.ids)) {
        status = cli_fail(c, "out of memory");
        goto out;
    }
    if (!e.n) {
        cli_say(c, "Nothing to repair: no applied migration's file changed\n");
        goto out;
    }
    char *ids = sb_take(&e.ids);
    if (!ids) {
        status = cli_fail(c, "out of memory");
        goto out;
    }
    for (char *p = ids; *p && status == CLI_EXIT_OK;) {
        size_t k = strcspn(p, " ");
        char save = p[k];
        p[k] = '\0';
        if (c->dry_run) {
            printf("Would repair %s (re-record its checksum)\n", p);
        } else if (retort_repair(r, p) != RETORT_OK) {
            status = cli_lib_fail(c, r);
        } else {
            cli_say(c, "Repaired %s: its current text is recorded as applied\n", p);
            fflush(stdout);
        }
        p[k] = save;
        p += k;
        p += strspn(p, " ");
    }
    if (c->dry_run && status == CLI_EXIT_OK)
        printf("Dry run: nothing was changed\n");
    free(ids);
out:
    sb_free(&e.ids);
    retort_free(r);
    return status;
}
