/* site_scan.c - per-site figures from the per-stack aggregates (see
 * site_scan.h): the stacks' sites numbered once, the rows of stack_slices,
 * live_spans or peak_live summed by site in memory, sorted as the SQL sorts
 * them. */
#define _GNU_SOURCE
#include "site_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "util.h"

#define SLICES 64 /* at most (keep.h, MT_SLICES); meta growth_slices says how many */

/* Sites as SQL's GROUP BY function, file, line sees them: group 0 is the
 * site with no name (no stack, or a stack without a site frame). */
struct groups {
    uint32_t *of_stack; /* by stack id */
    int64_t stacks;     /* entries in of_stack */
    struct mt_site *site;
    uint32_t n;
};

static void groups_free(struct groups *g)
{
    for (uint32_t i = 0; i < g->n; i++) {
        free(g->site[i].function);
        free(g->site[i].file);
    }
    free(g->site);
    free(g->of_stack);
    memset(g, 0, sizeof *g);
}

static int same_text(const char *a, const unsigned char *b)
{
    return (!a && !b) || (a && b && strcmp(a, (const char *)b) == 0);
}

static char *dup_text(const unsigned char *s)
{
    return s ? strdup((const char *)s) : NULL;
}

static uint32_t group_of(const struct groups *g, int64_t stack_id)
{
    return stack_id > 0 && stack_id < g->stacks ? g->of_stack[stack_id] : 0;
}

static int groups_load(sqlite3 *db, const char *frame_column, struct groups *g)
{
    memset(g, 0, sizeof *g);
    int64_t max_id = mt_query_int(db, "SELECT coalesce(max(id), 0) FROM stacks");
    int64_t rows = mt_query_int(db, "SELECT count(*) FROM stacks");
    if (max_id < 0 || max_id > ((int64_t)1 << 31) || max_id > 4 * rows + (1 << 20)) {
        mt_error("database: stack ids out of range (largest %lld for %lld stacks)",
                 (long long)max_id, (long long)rows);
        return MT_EXIT_FAIL;
    }
    g->stacks = max_id + 1;
    g->of_stack = calloc((size_t)g->stacks, sizeof *g->of_stack);
    uint32_t cap = 1024;
    g->site = calloc(cap, sizeof *g->site);
    if (!g->of_stack || !g->site)
        goto oom;
    g->n = 1; /* group 0: no name */
    char sql[512];
    mt_fmt(sql, sizeof sql,
           "SELECT s.id, f.function, f.file, f.line FROM stacks s LEFT JOIN frames f ON f.id = %s"
           " ORDER BY f.function, f.file, f.line",
           frame_column);
    sqlite3_stmt *st;
    if (mt_prepare(db, sql, &st))
        return MT_EXIT_FAIL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const unsigned char *fn = sqlite3_column_text(st, 1);
        const unsigned char *file = sqlite3_column_text(st, 2);
        int has_line = sqlite3_column_type(st, 3) != SQLITE_NULL;
        int line = sqlite3_column_int(st, 3);
        uint32_t k;
        if (!fn && !file && !has_line) {
            k = 0;
        } else {
            struct mt_site *last = &g->site[g->n - 1];
            if (g->n > 1 && same_text(last->function, fn) && same_text(last->file, file) &&
                last->has_line == has_line && last->line == line) {
                k = g->n - 1;
            } else {
                if (g->n == cap) {
                    struct mt_site *v = realloc(g->site, 2 * (size_t)cap * sizeof *v);
                    if (!v) {
                        sqlite3_finalize(st);
                        goto oom;
                    }
                    g->site = v;
                    cap *= 2;
                }
                k = g->n++;
                struct mt_site *s = &g->site[k];
                memset(s, 0, sizeof *s);
                s->function = dup_text(fn);
                s->file = dup_text(file);
                s->has_line = has_line;
                s->line = line;
                if ((fn && !s->function) || (file && !s->file)) {
                    sqlite3_finalize(st);
                    goto oom;
                }
            }
        }
        if (id > 0 && id < g->stacks)
            g->of_stack[id] = k;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        mt_error("database: %s", sqlite3_errmsg(db));
        groups_free(g);
        return MT_EXIT_FAIL;
    }
    return MT_EXIT_OK;
oom:
    mt_error("out of memory");
    groups_free(g);
    return MT_EXIT_FAIL;
}

/* Ascending, as SQLite orders values of one column: NULL first, text by
 * bytes, integers by value. */
static int cmp_text(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int cmp_names(const struct mt_site *a, const struct mt_site *b)
{
    int c = cmp_text(a->function, b->function);
    if (!c)
        c = cmp_text(a->file, b->file);
    if (!c)
        c = a->has_line != b->has_line ? a->has_line - b->has_line
                                       : (a->line > b->line) - (a->line < b->line);
    return c;
}

static int cmp_i64_desc(int64_t a, int64_t b)
{
    return (a < b) - (a > b);
}

/* Appends group name's row with the given figures (mt_sites_add). */
static int add_row(struct mt_sites *out, const struct mt_site *name, int64_t bytes, int64_t count,
                   const int64_t *extra, int extras)
{
    struct mt_site row = *name;
    row.bytes = bytes;
    row.count = count;
    for (int i = 0; i < extras; i++)
        row.extra[i] = extra[i];
    return mt_sites_add(out, &row, name->function, name->file);
}

/* ---- growth: view growth_sites --------------------------------------------- */

/* The net change of a site's live bytes and blocks in one slice. */
struct cell {
    uint64_t key; /* group * SLICES + slice + 1; 0 = empty */
    int64_t bytes, count;
};

struct cells {
    struct cell *v;
    size_t cap, used;
};

static int cells_grow(struct cells *t)
{
    size_t cap = t->cap ? 2 * t->cap : 1u << 16;
    struct cell *v = calloc(cap, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->v[i].key)
            continue;
        size_t j = (size_t)(t->v[i].key * 0x9E3779B97F4A7C15ull) & (cap - 1);
        while (v[j].key)
            j = (j + 1) & (cap - 1);
        v[j] = t->v[i];
    }
    free(t->v);
    t->v = v;
    t->cap = cap;
    return 0;
}

static int cells_add(struct cells *t, uint64_t key, int64_t bytes, int64_t count)
{
    if (2 * (t->used + 1) > t->cap && cells_grow(t))
        return -1;
    size_t j = (size_t)(key * 0x9E3779B97F4A7C15ull) & (t->cap - 1);
    while (t->v[j].key && t->v[j].key != key)
        j = (j + 1) & (t->cap - 1);
    if (!t->v[j].key) {
        t->v[j].key = key;
        t->used++;
    }
    t->v[j].bytes += bytes;
    t->v[j].count += count;
    return 0;
}

struct growth {
    int64_t bytes, count, grew, first;
};

static int cmp_growth(const void *pa, const void *pb)
{
    const struct mt_site *a = pa, *b = pb;
    int c = cmp_i64_desc(a->bytes * a->extra[0] / a->extra[1], b->bytes * b->extra[0] / b->extra[1]);
    if (!c)
        c = cmp_i64_desc(a->bytes, b->bytes);
    return c ? c : cmp_names(a, b);
}

int mt_scan_growth(sqlite3 *db, struct mt_sites *out)
{
    memset(out, 0, sizeof *out);
    struct groups g;
    if (groups_load(db, "s.site_frame_id", &g))
        return MT_EXIT_FAIL;
    struct cells t = {0};
    struct growth *per = NULL;
    sqlite3_stmt *st;
    int rc = MT_EXIT_FAIL;
    /* The slices' net changes per stack, summed at load (keep.h): exact,
     * whether or not each allocation has its row. */
    if (mt_prepare(db, "SELECT stack_id, slice, delta_bytes, delta_count FROM stack_slices", &st))
        goto done;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t k = (uint64_t)group_of(&g, sqlite3_column_int64(st, 0)) * SLICES + 1;
        int64_t slice = sqlite3_column_int64(st, 1);
        if (slice < 0 || slice >= SLICES)
            continue;
        if (cells_add(&t, k + (uint64_t)slice, sqlite3_column_int64(st, 2),
                      sqlite3_column_int64(st, 3)))
            break;
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE) {
        if (step == SQLITE_ROW)
            mt_error("out of memory");
        else
            mt_error("database: %s", sqlite3_errmsg(db));
        goto done;
    }
    per = calloc(g.n, sizeof *per);
    if (!per) {
        mt_error("out of memory");
        goto done;
    }
    for (uint32_t k = 0; k < g.n; k++)
        per[k].first = -1;
    for (size_t i = 0; i < t.cap; i++) {
        const struct cell *c = &t.v[i];
        if (!c->key)
            continue;
        uint64_t k = (c->key - 1) / SLICES;
        int64_t slice = (int64_t)((c->key - 1) % SLICES);
        per[k].bytes += c->bytes;
        per[k].count += c->count;
        per[k].grew += c->bytes > 0;
        if (per[k].first < 0 || slice < per[k].first)
            per[k].first = slice;
    }
    int64_t slices = mt_query_int(db, "SELECT value FROM meta WHERE key = 'growth_slices'");
    if (slices <= 0 || slices > SLICES)
        slices = SLICES;
    for (uint32_t k = 0; k < g.n; k++) {
        const struct growth *p = &per[k];
        if (p->first < 0 || p->bytes <= 0 || p->grew < 3)
            continue;
        int64_t extra[4] = {p->grew, slices - p->first, p->first, slices};
        if (add_row(out, &g.site[k], p->bytes, p->count, extra, 4)) {
            mt_error("out of memory");
            goto done;
        }
    }
    qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_growth);
    rc = MT_EXIT_OK;
done:
    if (rc)
        mt_sites_free(out);
    free(per);
    free(t.v);
    groups_free(&g);
    return rc;
}

/* ---- diff ------------------------------------------------------------------- */

struct live_at {
    int64_t bytes_a, count_a, bytes_b, count_b;
};

static int cmp_diff(const void *pa, const void *pb)
{
    const struct mt_site *a = pa, *b = pb;
    int c = cmp_i64_desc(a->bytes - a->extra[0], b->bytes - b->extra[0]);
    if (!c)
        c = cmp_i64_desc(a->count - a->extra[1], b->count - b->extra[1]);
    return c ? c : cmp_names(a, b);
}

struct live_sum {
    const struct groups *g;
    struct live_at *per;
    int at_b;
};

static int add_live(void *ctx, int64_t stack, int64_t thread, int64_t bytes, int64_t count)
{
    (void)thread;
    struct live_sum *s = ctx;
    struct live_at *p = &s->per[group_of(s->g, stack)];
    if (s->at_b) {
        p->bytes_b += bytes;
        p->count_b += count;
    } else {
        p->bytes_a += bytes;
        p->count_a += count;
    }
    return 0;
}

/* Whether seq is one of the checkpoints the live spans were cut at. */
static int is_point(sqlite3 *db, int64_t seq)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM points WHERE seq = ?1", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, seq);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

int mt_live_at(sqlite3 *db, int64_t seq, int (*each)(void *, int64_t, int64_t, int64_t, int64_t),
               void *ctx)
{
    if (seq <= 0)
        return MT_EXIT_OK; /* start: nothing is live */
    const char *sql;
    if (seq == mt_db_meta_int(db, "peak_seq", -1))
        sql = "SELECT stack_id, thread_id, bytes, count FROM peak_live";
    else if (is_point(db, seq))
        sql = "SELECT stack_id, thread_id, sum(bytes), sum(count) FROM live_spans"
              " WHERE from_seq <= ?1 AND to_seq >= ?1 GROUP BY stack_id, thread_id";
    else if (mt_db_meta_int(db, "compact", 1) == 0)
        sql = "SELECT stack_id, thread_id, sum(size), count(*) FROM allocations"
              " WHERE alloc_seq <= ?1 AND (free_seq IS NULL OR free_seq > ?1)"
              " GROUP BY stack_id, thread_id";
    else {
        mt_error("seq %lld is no checkpoint of this compact database: load the trace with"
                 " memtap load --all",
                 (long long)seq);
        return MT_EXIT_FAIL;
    }
    sqlite3_stmt *st;
    if (mt_prepare(db, sql, &st))
        return MT_EXIT_FAIL;
    sqlite3_bind_int64(st, 1, seq);
    int step = SQLITE_DONE, rc = 0;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = each(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                  sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
    sqlite3_finalize(st);
    if (rc || step != SQLITE_DONE) {
        if (!rc)
            mt_error("database: %s", sqlite3_errmsg(db));
        return MT_EXIT_FAIL;
    }
    return MT_EXIT_OK;
}

int mt_scan_diff(sqlite3 *db, int native, int64_t a, int64_t b, struct mt_sites *out)
{
    memset(out, 0, sizeof *out);
    struct groups g;
    if (groups_load(db, mt_site_frame_column(native), &g))
        return MT_EXIT_FAIL;
    int rc = MT_EXIT_FAIL;
    struct live_at *per = calloc(g.n, sizeof *per);
    if (!per) {
        mt_error("out of memory");
        goto done;
    }
    struct live_sum sa = {&g, per, 0}, sb = {&g, per, 1};
    if (mt_live_at(db, a, add_live, &sa) || mt_live_at(db, b, add_live, &sb))
        goto done;
    for (uint32_t k = 0; k < g.n; k++) {
        const struct live_at *p = &per[k];
        if (p->bytes_a == p->bytes_b && p->count_a == p->count_b)
            continue;
        int64_t extra[2] = {p->bytes_a, p->count_a};
        if (add_row(out, &g.site[k], p->bytes_b, p->count_b, extra, 2)) {
            mt_error("out of memory");
            goto done;
        }
    }
    qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_diff);
    rc = MT_EXIT_OK;
done:
    if (rc)
        mt_sites_free(out);
    free(per);
    groups_free(&g);
    return rc;
}
