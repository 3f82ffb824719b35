/* fg_model.c - reads the flamegraph model out of a database (see
 * fg_model.h): trie, frame names, points, live-range groups, totals. */
#define _GNU_SOURCE
#include "fg_model.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "report.h"
#include "util.h"

/* ---- a small hash of groups keyed by (node, thread, first, last) ------- */

struct group_table {
    struct mt_fg_group *v;
    uint32_t n, cap;
    uint32_t *slots; /* index + 1; 0 = empty */
    uint32_t mask;
};

static uint32_t hash_key(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    uint64_t h = a * 0x9E3779B97F4A7C15ull;
    h ^= (b + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2));
    h ^= (c + 0x85EBCA77C2B2AE63ull + (h << 6) + (h >> 2));
    h ^= (d + 0xC2B2AE3D27D4EB4Full + (h << 6) + (h >> 2));
    return (uint32_t)(h ^ (h >> 32));
}

static int table_grow(struct group_table *t)
{
    uint32_t ncap = t->cap ? t->cap * 2 : 1024;
    struct mt_fg_group *v = realloc(t->v, ncap * sizeof *v);
    uint32_t *slots = calloc((size_t)ncap * 2, sizeof *slots);
    if (!v || !slots) {
        free(slots);
        if (v)
            t->v = v;
        return -1;
    }
    t->v = v;
    t->cap = ncap;
    free(t->slots);
    t->slots = slots;
    t->mask = ncap * 2 - 1;
    for (uint32_t i = 0; i < t->n; i++) {
        struct mt_fg_group *g = &t->v[i];
        uint32_t s = hash_key(g->node, g->thread, g->first, g->last) & t->mask;
        while (t->slots[s])
            s = (s + 1) & t->mask;
        t->slots[s] = i + 1;
    }
    return 0;
}

/* Adds count blocks of bytes in all to group (node, thread, first, last). */
static int table_add(struct group_table *t, uint32_t node, uint32_t thread, uint32_t first,
                       uint32_t last, int64_t bytes, int64_t count)
{
    if (t->n == t->cap && table_grow(t) != 0)
        return -1;
    uint32_t s = hash_key(node, thread, first, last) & t->mask;
    for (; t->slots[s]; s = (s + 1) & t->mask) {
        struct mt_fg_group *g = &t->v[t->slots[s] - 1];
        if (g->node == node && g->thread == thread && g->first == first && g->last == last) {
            g->bytes += bytes;
            g->count += count;
            return 0;
        }
    }
    t->v[t->n] = (struct mt_fg_group){node, thread, first, last, bytes, count};
    t->slots[s] = ++t->n;
    return 0;
}


/* ---- points -------------------------------------------------------------- */

static int add_point(struct mt_fg_model *m, uint32_t *cap, int64_t seq, int64_t ns, int64_t rss,
                     int kind, const char *label)
{
    if (m->npoints == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 512;
        struct mt_fg_point *p = realloc(m->points, ncap * sizeof *p);
        if (!p)
            return -1;
        m->points = p;
        *cap = ncap;
    }
    m->points[m->npoints++] =
        (struct mt_fg_point){seq, ns, rss, -1, kind, label ? strdup(label) : NULL};
    return 0;
}

static int by_seq(const void *a, const void *b)
{
    const struct mt_fg_point *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->kind - y->kind;
}

static int has_point(const struct mt_fg_model *m, int64_t seq)
{
    for (uint32_t i = 0; i < m->npoints; i++)
        if (m->points[i].seq == seq)
            return 1;
    return 0;
}

static int load_points(sqlite3 *db, const int64_t *chosen, const int64_t *chosen_ns, int nchosen,
                       struct mt_fg_model *m)
{
    uint32_t cap = 0;
    sqlite3_stmt *st;
    int64_t nsamples = mt_query_int(db, "SELECT count(*) FROM samples");
    int64_t chunk = nsamples / MT_FG_SAMPLE_POINTS + 1;
    if (mt_prepare(db, "SELECT seq, ns, rss_bytes, heap_bytes, coalesce(rss_anon_bytes, -1)"
                       " FROM samples ORDER BY seq, ns", &st))
        return MT_EXIT_FAIL;
    int64_t i = 0, best_heap = -1;
    struct mt_fg_point best = {0};
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t heap = sqlite3_column_int64(st, 3);
        if (heap > best_heap) {
            best_heap = heap;
            best.seq = sqlite3_column_int64(st, 0);
            best.ns = sqlite3_column_int64(st, 1);
            best.rss = sqlite3_column_int64(st, 2);
            best.rss_anon = sqlite3_column_int64(st, 4);
        }
        if (++i % chunk == 0 || i == nsamples) {
            if (add_point(m, &cap, best.seq, best.ns, best.rss, MT_FG_SAMPLE, NULL)) {
                sqlite3_finalize(st);
                return MT_EXIT_FAIL;
            }
            m->points[m->npoints - 1].rss_anon = best.rss_anon;
            best_heap = -1;
        }
    }
    sqlite3_finalize(st);
    int rc = add_point(m, &cap, 0, 0, 0, MT_FG_START, NULL);
    rc |= add_point(m, &cap, mt_db_meta_int(db, "peak_seq", 0), mt_db_meta_int(db, "peak_ns", 0),
                    0, MT_FG_PEAK, NULL);
    rc |= add_point(m, &cap, mt_db_meta_int(db, "exit_seq", 0), mt_db_meta_int(db, "exit_ns", 0),
                    0, MT_FG_EXIT, NULL);
    if (rc || mt_prepare(db, "SELECT seq, ns, label FROM markers ORDER BY seq", &st))
        return MT_EXIT_FAIL;
    while (!rc && sqlite3_step(st) == SQLITE_ROW)
        rc = add_point(m, &cap, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), 0,
                       MT_FG_MARKER, (const char *)sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
    for (int c = 0; c < nchosen && !rc; c++)
        if (!has_point(m, chosen[c]))
            rc = add_point(m, &cap, chosen[c], chosen_ns[c], 0, MT_FG_CHOSEN, NULL);
    if (rc)
        return MT_EXIT_FAIL;
    qsort(m->points, m->npoints, sizeof *m->points, by_seq);
    /* Special points take the RSS of the latest sample before them. */
    int64_t rss = 0, anon = -1;
    for (uint32_t k = 0; k < m->npoints; k++) {
        struct mt_fg_point *p = &m->points[k];
        if (p->kind == MT_FG_SAMPLE) {
            rss = p->rss;
            anon = p->rss_anon;
        } else {
            p->rss = rss;
            p->rss_anon = anon;
        }
        if (p->kind == MT_FG_PEAK)
            m->peak_point = k;
        if (p->kind == MT_FG_EXIT)
            m->exit_point = k;
    }
    return MT_EXIT_OK;
}

/* First point with seq >= s. */
static uint32_t lower_bound(const struct mt_fg_model *m, int64_t s)
{
    uint32_t lo = 0, hi = m->npoints;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->points[mid].seq < s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- trie, frames, threads, groups ---------------------------------------- */

static int starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

uint8_t mt_fg_frame_class(const char *kind, const char *file, const char *function,
                          const char *module)
{
    if (!kind || strcmp(kind, "native") != 0) {
        int import = starts_with(file, "<frozen importlib.") ||
                     starts_with(file, "<frozen zipimport>") ||
                     (file && strstr(file, "/importlib/_bootstrap")) ||
                     (file && strstr(file, "/zipimport.py"));
        return import ? MT_FG_IMPORT : 0;
    }
    const char *base = module ? strrchr(module, '/') : NULL;
    base = base ? base + 1 : module;
    size_t digits = base ? strspn(base + (starts_with(base, "python") ? 6 : 0), "0123456789.") : 0;
    int interp = starts_with(base, "libpython") || /* and python3, python3.11: */
                 (starts_with(base, "python") && digits == strlen(base + 6)) ||
                 (function && (strcmp(function, "_start") == 0 ||
                               strcmp(function, "__libc_start_main") == 0 ||
                               strcmp(function, "__libc_start_call_main") == 0));
    return MT_FG_NATIVE | (interp ? MT_FG_INTERP : 0);
}

static int load_trie(sqlite3 *db, struct mt_fg_model *m)
{
    m->nnodes = (uint32_t)mt_query_int(db, "SELECT coalesce(max(id), 0) + 1 FROM stacks");
    m->nframes = (uint32_t)mt_query_int(db, "SELECT coalesce(max(id), 0) + 1 FROM frames");
    m->parent = calloc(m->nnodes, sizeof *m->parent);
    m->frame = calloc(m->nnodes, sizeof *m->frame);
    m->frame_name = calloc(m->nframes, sizeof *m->frame_name);
    m->frame_class = calloc(m->nframes, 1);
    if (!m->parent || !m->frame || !m->frame_name || !m->frame_class)
        return MT_EXIT_FAIL;
    sqlite3_stmt *st;
    if (mt_prepare(db, "SELECT id, parent, frame_id FROM stacks", &st))
        return MT_EXIT_FAIL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        uint32_t id = (uint32_t)sqlite3_column_int64(st, 0);
        uint32_t parent = (uint32_t)sqlite3_column_int64(st, 1);
        uint32_t frame = (uint32_t)sqlite3_column_int64(st, 2);
        if (id < m->nnodes && parent < id && frame < m->nframes) {
            m->parent[id] = parent;
            m->frame[id] = frame;
        }
    }
    sqlite3_finalize(st);
    if (mt_prepare(db, "SELECT n.id, n.kind, n.name, f.file, f.function, m.path"
                       " FROM frame_names n JOIN frames f ON f.id = n.id"
                       " LEFT JOIN modules m ON m.id = f.module_id", &st))
        return MT_EXIT_FAIL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        uint32_t id = (uint32_t)sqlite3_column_int64(st, 0);
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        const char *name = (const char *)sqlite3_column_text(st, 2);
        if (id < m->nframes) {
            m->frame_name[id] = strdup(name ? name : "?");
            m->frame_class[id] = mt_fg_frame_class(kind, (const char *)sqlite3_column_text(st, 3),
                                                   (const char *)sqlite3_column_text(st, 4),
                                                   (const char *)sqlite3_column_text(st, 5));
        }
    }
    sqlite3_finalize(st);
    m->nthreads = (uint32_t)mt_query_int(db, "SELECT coalesce(max(id), 0) + 1 FROM threads");
    m->thread_tid = calloc(m->nthreads, sizeof *m->thread_tid);
    m->thread_name = calloc(m->nthreads, sizeof *m->thread_name);
    if (!m->thread_tid || !m->thread_name || mt_prepare(db, "SELECT id, tid, name FROM threads", &st))
        return MT_EXIT_FAIL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        uint32_t id = (uint32_t)sqlite3_column_int64(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 2);
        if (id < m->nthreads) {
            m->thread_tid[id] = sqlite3_column_int64(st, 1);
            m->thread_name[id] = name ? strdup(name) : NULL;
        }
    }
    sqlite3_finalize(st);
    return MT_EXIT_OK;
}

/* The queries groups are read from. Each row: stack_id, thread_id, bytes,
 * count, then for spans from_seq and to_seq. */
enum group_rows { ROWS_SPANS, ROWS_PEAK, ROWS_TOTALS };

/* Adds the rows of one query to t. Live at every point but the peak: the
 * live spans (keep.h), each live at the points whose seq is in [from_seq,
 * to_seq] (every point but the peak is a checkpoint); at the peak: table
 * peak_live. Bytes ever allocated: stack_totals, which counts every
 * allocation, whether or not it has a row. Returns 0, 1 when the query
 * failed (printed), -1 when out of memory. */
static int add_rows(sqlite3 *db, const struct mt_fg_model *m, enum group_rows what,
                    struct group_table *t)
{
    static const char *const sql[] = {
        [ROWS_SPANS] = "SELECT stack_id, thread_id, bytes, count, from_seq, to_seq"
                       " FROM live_spans",
        [ROWS_PEAK] = "SELECT stack_id, thread_id, bytes, count FROM peak_live",
        [ROWS_TOTALS] = "SELECT stack_id, thread_id, bytes, count FROM stack_totals",
    };
    sqlite3_stmt *st;
    if (mt_prepare(db, sql[what], &st))
        return 1;
    const uint32_t pk = m->peak_point;
    int rc = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        int64_t stack = sqlite3_column_int64(st, 0), thread = sqlite3_column_int64(st, 1);
        uint32_t node = stack > 0 && stack < m->nnodes ? (uint32_t)stack : 0;
        uint32_t th = thread >= 0 && thread < m->nthreads ? (uint32_t)thread : 0;
        int64_t bytes = sqlite3_column_int64(st, 2), count = sqlite3_column_int64(st, 3);
        if (what == ROWS_TOTALS) {
            rc = table_add(t, node, th, 0, 0, bytes, count);
            continue;
        }
        if (what == ROWS_PEAK) {
            rc = table_add(t, node, th, pk, pk, bytes, count);
            continue;
        }
        uint32_t first = lower_bound(m, sqlite3_column_int64(st, 4));
        uint32_t end = lower_bound(m, sqlite3_column_int64(st, 5) + 1);
        if (first <= pk && pk < end) { /* the peak's figures come from peak_live */
            if (first < pk)
                rc = table_add(t, node, th, first, pk - 1, bytes, count);
            first = pk + 1;
        }
        if (!rc && first < end)
            rc = table_add(t, node, th, first, end - 1, bytes, count);
    }
    sqlite3_finalize(st);
    return rc ? -1 : 0;
}

static int load_groups(sqlite3 *db, struct mt_fg_model *m)
{
    struct group_table live = {0}, total = {0};
    int rc = add_rows(db, m, ROWS_SPANS, &live);
    if (!rc)
        rc = add_rows(db, m, ROWS_PEAK, &live);
    if (!rc)
        rc = add_rows(db, m, ROWS_TOTALS, &total);
    free(live.slots);
    free(total.slots);
    m->groups = live.v;
    m->ngroups = live.n;
    m->totals = total.v;
    m->ntotals = total.n;
    if (rc < 0)
        mt_error("flamegraph: out of memory");
    return rc ? MT_EXIT_FAIL : MT_EXIT_OK;
}

int mt_fg_model_load(sqlite3 *db, const int64_t *chosen, const int64_t *chosen_ns, int nchosen,
                     struct mt_fg_model *m)
{
    memset(m, 0, sizeof *m);
    m->peak_bytes = mt_db_meta_int(db, "peak_bytes", 0);
    m->exit_bytes = mt_db_meta_int(db, "live_at_exit_bytes", 0);
    if (load_points(db, chosen, chosen_ns, nchosen, m) || load_trie(db, m) || load_groups(db, m)) {
        mt_error("flamegraph: cannot read the database");
        return MT_EXIT_FAIL;
    }
    return MT_EXIT_OK;
}

void mt_fg_model_free(struct mt_fg_model *m)
{
    for (uint32_t i = 0; i < m->npoints; i++)
        free(m->points[i].label);
    for (uint32_t i = 0; i < m->nframes && m->frame_name; i++)
        free(m->frame_name[i]);
    for (uint32_t i = 0; i < m->nthreads && m->thread_name; i++)
        free(m->thread_name[i]);
    free(m->points);
    free(m->parent);
    free(m->frame);
    free(m->frame_name);
    free(m->frame_class);
    free(m->groups);
    free(m->totals);
    free(m->thread_tid);
    free(m->thread_name);
    memset(m, 0, sizeof *m);
}

int mt_fg_point_at(const struct mt_fg_model *m, int64_t seq)
{
    uint32_t i = lower_bound(m, seq);
    return i < m->npoints && m->points[i].seq == seq ? (int)i : -1;
}
