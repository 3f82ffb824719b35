/* load.c - `memtap load`: a trace into a SQLite database, in one streaming
 * pass.
 *
 * Memory: the live allocations, the stack trie, frames and modules, and
 * the compact rule's per-stack totals (keep.h), which grow with distinct
 * stacks, never with the number of events; the samples' times (16 bytes a
 * sample). What is written after the stream is in load_tables.c.
 *
 * Semantics fixed here (docs/schema.md repeats them): realloc is a free of
 * the old block and an allocation of the new one; a realloc that failed
 * leaves the old block live as if nothing happened; a free of an address
 * that is not live (allocated before tracing started, or garbage) goes to
 * unmatched_frees; the heap is the sum of requested sizes of live blocks.
 */
#define _GNU_SOURCE
#include "load.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "load_int.h"
#include "read_thread.h"
#include "schema.h"
#include "util.h"

int mt_load_sql_fail(struct loader *L, const char *what)
{
    snprintf(L->err, sizeof L->err, "database: %s: %s", what, sqlite3_errmsg(L->db));
    return EIO;
}

int mt_load_step(struct loader *L, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : mt_load_sql_fail(L, "insert");
}

/* ---- rows ---------------------------------------------------------------- */

/* The time of the event at seq: that of the last sample before it in the
 * merged order (a sample sorts after the events that share its seq).
 * Galloping back from the last sample: most blocks die young, so most
 * look-ups are near the end of the clock. */
static uint64_t ns_at(const struct loader *L, uint64_t seq)
{
    size_t hi = L->nclock, step = 1;
    while (hi > 0 && L->clock[hi - 1].seq >= seq) {
        size_t lo = hi > step ? hi - step : 0;
        if (L->clock[lo].seq < seq) { /* in (lo, hi]: search there */
            size_t a = lo + 1, b = hi;
            while (a < b) {
                size_t mid = (a + b) / 2;
                if (L->clock[mid].seq < seq)
                    a = mid + 1;
                else
                    b = mid;
            }
            hi = a;
            break;
        }
        hi = lo;
        step *= 2;
    }
    return hi ? L->clock[hi - 1].ns : 0;
}

static int write_allocation(struct loader *L, const struct mt_live *a, int freed,
                            uint64_t free_seq, uint64_t free_ns)
{
    L->rows++;
    struct mt_row r = {.kind = MT_ROW_ALLOCATION,
                       .col = {(int64_t)a->addr, (int64_t)a->size, a->fn, a->thread, a->stack,
                               (int64_t)a->seq, (int64_t)ns_at(L, a->seq), (int64_t)free_seq,
                               (int64_t)free_ns},
                       .null_cols = freed ? 0 : 3u << 7}; /* live: free_seq, free_ns NULL */
    return mt_dbwriter_put(L->rows_out, &r);
}

/* Grows *arr (of *cap elements of elem bytes, zeroed) to hold index i,
 * doubling from `first`. limit: what the trace can hold (an id from the
 * file beyond it is corruption, never an allocation: EINVAL). Returns 0,
 * EINVAL or ENOMEM. */
static int grow_to_hold(void **arr, uint32_t *cap, uint32_t i, size_t elem, uint32_t first,
                        uint64_t limit)
{
    if (i < *cap)
        return 0;
    if ((uint64_t)i >= limit || i == UINT32_MAX)
        return EINVAL;
    uint64_t n = *cap ? *cap : first;
    while (n <= i)
        n *= 2;
    if (n > limit)
        n = limit;
    if (n > UINT32_MAX)
        n = UINT32_MAX;
    char *a = realloc(*arr, (size_t)n * elem);
    if (!a)
        return ENOMEM;
    memset(a + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
    *arr = a;
    *cap = n;
    return 0;
}

static struct realloc_stash *stash_of(struct loader *L, uint32_t thread)
{
    void *arr = L->stash;
    if (grow_to_hold(&arr, &L->nstash, thread, sizeof *L->stash, 16, UINT32_MAX))
        return NULL;
    L->stash = arr;
    return &L->stash[thread];
}

static void note_heap(struct loader *L, uint64_t seq)
{
    if (L->heap > L->mark_peak)
        L->mark_peak = L->heap;
    if (L->heap > L->peak) {
        L->peak = L->heap;
        L->peak_seq = seq;
        L->peak_ns = L->now_ns;
        mt_keep_new_peak(&L->keep, seq);
    }
}

/* An allocation was freed: its row is written if the compact rule keeps
 * it (keep.h), now or at the end. */
static int retire(struct loader *L, const struct mt_live *a, uint64_t free_seq, uint64_t free_ns)
{
    uint64_t born = ns_at(L, a->seq);
    int row, rc = mt_keep_on_free(&L->keep, a, free_seq, free_ns >= born ? free_ns - born : 0, &row);
    return rc || !row ? rc : write_allocation(L, a, 1, free_seq, free_ns);
}

static int settle_stash(struct loader *L, struct realloc_stash *s)
{
    if (!s->used)
        return 0;
    s->used = 0;
    return retire(L, &s->live, s->free_seq, s->free_ns);
}

static void undo_stash(struct loader *L, struct realloc_stash *s, uint64_t seq)
{
    struct mt_live old;
    s->used = 0;
    L->n_frees--;
    L->heap += s->live.size;
    if (mt_livemap_put(&L->live, &s->live, &old) == 1)
        L->heap -= old.size; /* cannot happen: nothing was given that address */
    note_heap(L, seq);
}

static int sink_span(void *ctx, const struct mt_span *sp)
{
    struct loader *L = ctx;
    struct mt_row r = {.kind = MT_ROW_SPAN,
                       .col = {sp->stack, sp->thread, (int64_t)sp->from_seq, (int64_t)sp->to_seq,
                               sp->bytes, sp->count}};
    return mt_dbwriter_put(L->rows_out, &r);
}

static int sink_slice(void *ctx, const struct mt_stack_total *t, uint64_t slice,
                      unsigned width, unsigned epoch)
{
    struct loader *L = ctx;
    struct mt_row r = {.kind = MT_ROW_SLICE,
                       .col = {t->stack, t->thread, (int64_t)slice, width, epoch, t->slice_bytes,
                               t->slice_count}};
    return mt_dbwriter_put(L->rows_out, &r);
}

static int sink_point(void *ctx, uint64_t seq)
{
    struct loader *L = ctx;
    struct mt_row r = {.kind = MT_ROW_POINT, .col = {(int64_t)seq}};
    return mt_dbwriter_put(L->rows_out, &r);
}

/* More than any program allocates in all (4.6 EB: 15 years at 10 GB a
 * second), even as a sampled trace's estimates. Only a corrupt trace gets
 * there; below it no sum of sizes (live, per stack, per span, per slice)
 * can overflow. */
#define MAX_BYTES_ALLOCATED (1ull << 62)

static int on_alloc(struct loader *L, const struct mt_event *ev)
{
    struct mt_live a = {.addr = ev->addr, .seq = ev->seq, .size = ev->size, .fn = ev->fn,
                        .stack = ev->stack, .thread = ev->thread};
    struct mt_live old;
    L->n_allocs++;
    L->bytes_allocated += a.size; /* a.size throughout: what the live entry holds */
    if (L->bytes_allocated > MAX_BYTES_ALLOCATED) {
        snprintf(L->err, sizeof L->err, "corrupt trace: more than 2^62 bytes allocated in all"
                 " (at event %llu)", (unsigned long long)ev->seq);
        return EINVAL;
    }
    int r = mt_keep_on_alloc(&L->keep, &a) ? -1 : mt_livemap_put(&L->live, &a, &old);
    if (r < 0) {
        snprintf(L->err, sizeof L->err, "out of memory");
        return ENOMEM;
    }
    if (r == 1) {
        /* Live twice: its free was lost (torn record). Close the old one
         * without a free so the heap stays honest. */
        L->n_doubled++;
        L->heap -= old.size;
        int row; /* its row is written whatever the rule says: never freed */
        int rc = mt_keep_on_free(&L->keep, &old, ev->seq, UINT64_MAX, &row); /* gone */
        if (!rc)
            rc = write_allocation(L, &old, 0, 0, 0);
        if (rc)
            return rc;
    }
    L->heap += a.size;
    note_heap(L, ev->seq);
    L->mark_bytes += a.size;
    L->mark_count++;
    return 0;
}

static int unmatched(struct loader *L, const struct mt_event *ev)
{
    L->n_unmatched++;
    struct mt_row r = {.kind = MT_ROW_UNMATCHED,
                       .col = {(int64_t)ev->seq, (int64_t)L->now_ns, (int64_t)ev->addr,
                               ev->thread}};
    return mt_dbwriter_put(L->rows_out, &r);
}

static int on_free(struct loader *L, const struct mt_event *ev, struct realloc_stash *s)
{
    struct mt_live a;
    if (!mt_livemap_take(&L->live, ev->addr, &a))
        return unmatched(L, ev);
    L->n_frees++;
    L->heap -= a.size;
    if (!s)
        return retire(L, &a, ev->seq, L->now_ns);
    s->live = a;
    s->free_seq = ev->seq;
    s->free_ns = L->now_ns;
    s->used = 1;
    return 0;
}

/* ---- stacks, frames, modules ---------------------------------------------- */

static uint32_t frame_id(struct loader *L, uint64_t pc)
{
    if ((L->pc_count + 1) * 2 > L->pc_cap) {
        size_t cap = L->pc_cap ? L->pc_cap * 2 : 4096;
        uint64_t *keys = calloc(cap, sizeof *keys);
        uint32_t *ids = calloc(cap, sizeof *ids);
        uint64_t *pcs = realloc(L->frame_pcs, (cap / 2 + 1) * sizeof *pcs);
        if (!keys || !ids || !pcs) {
            free(keys);
            free(ids);
            if (pcs)
                L->frame_pcs = pcs;
            return 0;
        }
        L->frame_pcs = pcs;
        for (size_t i = 0; i < L->pc_cap; i++) {
            if (!L->pc_ids[i])
                continue;
            size_t j = (L->pc_keys[i] * 0x9E3779B97F4A7C15ull >> 17) & (cap - 1);
            while (ids[j])
                j = (j + 1) & (cap - 1);
            keys[j] = L->pc_keys[i];
            ids[j] = L->pc_ids[i];
        }
        free(L->pc_keys);
        free(L->pc_ids);
        L->pc_keys = keys;
        L->pc_ids = ids;
        L->pc_cap = cap;
    }
    size_t j = (pc * 0x9E3779B97F4A7C15ull >> 17) & (L->pc_cap - 1);
    while (L->pc_ids[j]) {
        if (L->pc_keys[j] == pc)
            return L->pc_ids[j];
        j = (j + 1) & (L->pc_cap - 1);
    }
    uint32_t id = (uint32_t)++L->pc_count;
    L->pc_keys[j] = pc;
    L->pc_ids[j] = id;
    L->frame_pcs[id] = pc;
    return id;
}

int mt_load_on_stack(struct loader *L, const struct mt_event *ev)
{
    if (ev->stack == 0)
        return 0;
    void *arr = L->nodes;
    int rc = grow_to_hold(&arr, &L->nnodes, ev->stack, sizeof *L->nodes, 1024,
                          mt_trace_id_limit(L->trace));
    if (rc) {
        if (rc == EINVAL)
            mt_error("corrupt trace: stack id %u, more than the file can hold", ev->stack);
        return rc;
    }
    L->nodes = arr;
    struct node *nd = &L->nodes[ev->stack];
    nd->parent = ev->parent;
    nd->frame = frame_id(L, ev->frame);
    nd->defined = 1;
    return nd->frame ? 0 : ENOMEM;
}

int mt_load_on_module(struct loader *L, const struct mt_event *ev)
{
    for (int i = 0; i < L->nmodules; i++)
        if (L->modules[i].base == ev->addr && strlen(L->modules[i].path) == ev->text_len &&
            memcmp(L->modules[i].path, ev->text, ev->text_len) == 0)
            return 0;
    if (L->nmodules == L->cap_modules) {
        int cap = L->cap_modules ? L->cap_modules * 2 : 32;
        void *m = realloc(L->modules, (size_t)cap * sizeof *L->modules);
        if (!m)
            return ENOMEM;
        L->modules = m;
        L->cap_modules = cap;
    }
    int i = L->nmodules++;
    L->modules[i].path = strndup(ev->text, ev->text_len);
    L->modules[i].base = ev->addr;
    for (size_t k = 0; k < ev->build_id_len; k++)
        sprintf(L->modules[i].build_id + 2 * k, "%02x", ev->build_id[k]);
    L->modules[i].build_id[2 * ev->build_id_len] = 0;
    const char *path = L->modules[i].path;
    if (!path)
        return ENOMEM;
    if (mt_symbolizer_add(L->sym, path, ev->addr) != 0)
        mt_warn("cannot read %s: its frames stay unnamed", path);
    return 0;
}

int mt_load_on_pyframe(struct loader *L, const struct mt_event *ev)
{
    uint32_t id = ev->stack;
    void *arr = L->pyframes;
    int rc = grow_to_hold(&arr, &L->npyframes, id, sizeof *L->pyframes, 1024,
                          mt_trace_id_limit(L->trace));
    if (rc) {
        if (rc == EINVAL)
            mt_error("corrupt trace: Python frame id %u, more than the file can hold", id);
        return rc;
    }
    L->pyframes = arr;
    struct pyframe *f = &L->pyframes[id];
    free(f->file);
    free(f->function);
    f->file = strndup(ev->text, ev->text_len);
    f->function = strndup(ev->text2, ev->text2_len);
    f->line = ev->line;
    return f->file && f->function ? 0 : ENOMEM;
}

/* A clock row: the events timed at the current now_ns end at seq (what a
 * time resolves to, points.c). One row a distinct seq. */
static int write_clock(struct loader *L, uint64_t seq)
{
    if (seq <= L->clock_seq && L->clock_seq)
        return 0;
    L->clock_seq = seq;
    struct mt_row r = {.kind = MT_ROW_CLOCK, .col = {(int64_t)L->now_ns, (int64_t)seq}};
    return mt_dbwriter_put(L->rows_out, &r);
}

static int64_t less(uint64_t a, uint64_t b)
{
    return a > b ? (int64_t)(a - b) : 0;
}

/* A sample's row: the program's RSS, without memtap's own (its tables and
 * the trace pages mapped in, measured by the shim), then the program's
 * anonymous, file-backed and shared-memory parts and memtap's own; the
 * parts are NULL for a trace before format 6, which has only the RSS. */
static void sample_row(const struct mt_event *ev, int has_parts, uint64_t heap,
                       struct mt_row *r)
{
    uint64_t own = ev->own_anon + ev->own_file + ev->own_shmem;
    uint64_t anon = (uint64_t)less(ev->rss, ev->rss_file + ev->rss_shmem);
    int64_t cols[] = {(int64_t)ev->seq, (int64_t)ev->ns, less(ev->rss, own), (int64_t)heap,
                      less(anon, ev->own_anon), less(ev->rss_file, ev->own_file),
                      less(ev->rss_shmem, ev->own_shmem), (int64_t)own};
    memcpy(r->col, cols, sizeof cols);
    if (!has_parts)
        r->null_cols = 0xF0; /* columns 4-7 */
}

/* A sample: RSS and the time of the events after it. before: the last seq
 * before it. */
static int on_sample(struct loader *L, const struct mt_event *ev, uint64_t before)
{
    int rc = ev->ns != L->now_ns ? write_clock(L, before) : 0;
    /* Checkpoints where a time can resolve (points.c): the last event before
     * this sample, and the sample itself (which may hold a seq of its own). */
    if (!rc)
        rc = mt_keep_checkpoint(&L->keep, before, 0);
    if (!rc)
        rc = mt_keep_checkpoint(&L->keep, L->last_seq, 0);
    void *clock = L->clock;
    if (!rc)
        rc = grow_to_hold(&clock, &L->cap_clock, L->nclock, sizeof *L->clock, 1024, UINT32_MAX);
    if (rc)
        return rc;
    L->clock = clock;
    L->clock[L->nclock].seq = ev->seq;
    L->clock[L->nclock++].ns = ev->ns;
    L->now_ns = ev->ns;
    if (ev->ns > L->max_ns)
        L->max_ns = ev->ns;
    struct mt_row r = {.kind = MT_ROW_SAMPLE};
    sample_row(ev, mt_trace_header(L->trace)->version >= 6, L->heap, &r);
    return mt_dbwriter_put(L->rows_out, &r);
}

static int on_event(struct loader *L, const struct mt_event *ev)
{
    int rc = 0;
    uint64_t before = L->last_seq;
    if (ev->seq > L->last_seq)
        L->last_seq = ev->seq;
    if (L->progress && mt_progress_tick(L->progress))
        mt_progress_show(L->progress, mt_trace_fraction_read(L->trace),
                         mt_trace_events_read(L->trace));
    if (ev->seq && ev->thread < L->nstash && L->stash[ev->thread].used) {
        struct realloc_stash *s = &L->stash[ev->thread];
        if (ev->kind == MT_EV_REALLOC_UNDO && ev->addr == s->live.addr) {
            undo_stash(L, s, ev->seq);
            return 0;
        }
        rc = settle_stash(L, s);
        if (rc)
            return rc;
    }
    switch (ev->kind) {
    case MT_EV_ALLOC:
        rc = on_alloc(L, ev);
        break;
    case MT_EV_FREE:
        rc = on_free(L, ev, NULL);
        break;
    case MT_EV_REALLOC_FREE: {
        struct realloc_stash *s = stash_of(L, ev->thread);
        rc = s ? on_free(L, ev, s) : ENOMEM;
        break;
    }
    case MT_EV_REALLOC_UNDO:
        rc = 0; /* its realloc-free was not seen (torn): nothing to undo */
        break;
    case MT_EV_STACK:
        rc = mt_load_on_stack(L, ev);
        break;
    case MT_EV_MODULE:
        rc = mt_load_on_module(L, ev);
        break;
    case MT_EV_PYFRAME:
        rc = mt_load_on_pyframe(L, ev);
        break;
    case MT_EV_THREAD: {
        struct mt_row r = {.kind = MT_ROW_THREAD,
                           .col = {ev->thread, (int64_t)ev->tid},
                           .text = ev->text,
                           .text_len = (uint32_t)ev->text_len};
        rc = mt_dbwriter_put(L->rows_out, &r);
        break;
    }
    case MT_EV_SAMPLE:
        rc = on_sample(L, ev, before);
        break;
    case MT_EV_CHILD_EXIT: {
        struct mt_row r = {.kind = MT_ROW_CHILD_EXIT, .col = {(int64_t)ev->tid, ev->status}};
        rc = mt_dbwriter_put(L->rows_out, &r);
        break;
    }
    case MT_EV_MARKER:
        rc = mt_keep_checkpoint(&L->keep, L->last_seq, 1);
        if (rc)
            break;
        L->n_markers++;
        if (ev->text_len == sizeof MT_MARKER_PYTHON_EXIT - 1 &&
            memcmp(ev->text, MT_MARKER_PYTHON_EXIT, ev->text_len) == 0) {
            L->exit_seq = ev->seq;
            L->exit_ns = L->now_ns;
            L->exit_heap = L->heap;
            L->exit_count = L->live.count;
            rc = mt_keep_exit_epoch(&L->keep, ++L->exit_epoch);
        } else if (ev->text_len == sizeof MT_MARKER_PYTHON_FINALIZED - 1 &&
                   memcmp(ev->text, MT_MARKER_PYTHON_FINALIZED, ev->text_len) == 0) {
            L->exit_seq = 0; /* an embedding program went on: its exit is the end */
            rc = mt_keep_exit_epoch(&L->keep, 0);
        }
        if (rc)
            break;
        struct mt_row r = {.kind = MT_ROW_MARKER,
                           .col = {(int64_t)ev->seq, (int64_t)L->now_ns, ev->thread,
                                   (int64_t)L->heap, (int64_t)L->mark_peak,
                                   (int64_t)L->mark_bytes, (int64_t)L->mark_count},
                           .text = ev->text,
                           .text_len = (uint32_t)ev->text_len};
        rc = mt_dbwriter_put(L->rows_out, &r);
        L->mark_peak = L->heap; /* the next marker's figures start here */
        L->mark_bytes = L->mark_count = 0;
        break;
    }
    return rc;
}

/* Events wait AHEAD places before they are handled, and their live-map
 * slots are fetched into the cache when they arrive: a slot is a cache miss
 * (the map is large and read at random), so the misses of AHEAD events
 * overlap instead of coming one after another. */
static int on_event_ahead(void *ctx, const struct mt_event *ev)
{
    struct loader *L = ctx;
    int rc = 0;
    if (L->ahead_put - L->ahead_used == AHEAD)
        rc = on_event(L, &L->ahead[L->ahead_used++ % AHEAD]);
    if (ev->kind <= MT_EV_REALLOC_UNDO) /* an allocation or a free: a block's address */
        mt_livemap_prefetch(&L->live, ev->addr);
    struct mt_event *e = &L->ahead[L->ahead_put++ % AHEAD];
    /* An allocation's or a free's fields are the first ones (trace.h): the
     * rest of the 136 bytes is for the rare kinds. */
    if (ev->kind <= MT_EV_REALLOC_UNDO)
        memcpy(e, ev, offsetof(struct mt_event, parent));
    else
        *e = *ev;
    if (L->seq_base && e->seq) /* a forked child's: from its fork (load_inherit.c) */
        e->seq = e->seq > L->seq_base ? e->seq - L->seq_base : 1;
    return rc;
}

static int put_meta(struct loader *L, sqlite3_stmt *st, const char *key, const char *text,
                    int64_t num)
{
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (text)
        sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 2, num);
    return mt_load_step(L, st);
}

static int write_meta(struct loader *L, struct mt_trace *tr, const char *trace_path,
                      const struct stat *trace_st)
{
    const struct mt_file_header *h = mt_trace_header(tr);
    const struct mt_trace_stats *ts = mt_trace_stats(tr);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(L->db, "INSERT INTO meta(key, value) VALUES (?, ?)", -1, &st, NULL) !=
        SQLITE_OK)
        return mt_load_sql_fail(L, "prepare meta");
    char cmdline[MT_CMDLINE_MAX];
    size_t n = 0;
    for (size_t i = 0; i < MT_CMDLINE_MAX - 1 && !(h->cmdline[i] == 0 && h->cmdline[i + 1] == 0);
         i++)
        cmdline[n++] = h->cmdline[i] ? h->cmdline[i] : ' ';
    cmdline[n] = 0;
    int closed = (h->flags & MT_HDR_CLOSED) != 0;
    char exec_path[MT_EXEC_PATH_MAX] = "";
    if ((h->flags & MT_HDR_EXECED) && h->version >= 7)
        snprintf(exec_path, sizeof exec_path, "%.*s", (int)sizeof exec_path - 1, h->exec_path);
    uint64_t duration = closed && h->end_monotonic_ns > h->start_monotonic_ns
                            ? h->end_monotonic_ns - h->start_monotonic_ns
                            : L->max_ns;
    char abs[4096];
    const char *shown = realpath(trace_path, abs) ? abs : trace_path;
    char stop_text[256] = "";
    if (h->version >= 9 && (h->flags & MT_HDR_STOPPED))
        snprintf(stop_text, sizeof stop_text, "%s (%s)",
                 h->stop_reason == MT_STOP_GROW ? "the trace file could not grow"
                                                : "memtap's writer failed",
                 h->stop_errno ? strerror((int)h->stop_errno) : "no error code");
    const struct {
        const char *key;
        const char *text; /* NULL: the value is num */
        int64_t num;
    } rows[] = {
        {"schema_version", NULL, MT_SCHEMA_VERSION},
        {"format_version", NULL, h->version},
        {"trace_path", shown, 0},
        {"trace_size", NULL, trace_st->st_size},
        {"trace_mtime_ns", NULL,
         (int64_t)trace_st->st_mtim.tv_sec * 1000000000 + trace_st->st_mtim.tv_nsec},
        {"executable", h->exe, 0},
        {"command_line", cmdline, 0},
        {"pid", NULL, (int64_t)h->pid},
        {"ppid", NULL, (int64_t)h->ppid},
        {"start_realtime_ns", NULL, (int64_t)h->start_realtime_ns},
        {"start_monotonic_ns", NULL, (int64_t)h->start_monotonic_ns},
        {"duration_ns", NULL, (int64_t)duration},
        {"closed", NULL, closed},
        {"native_stacks", NULL, h->native_stacks},
        {"pymalloc_arenas", NULL, (h->flags & MT_HDR_PYMALLOC_ARENAS) != 0},
        {"allocations", NULL, (int64_t)L->n_allocs},
        {"frees", NULL, (int64_t)L->n_frees},
        {"bytes_allocated", NULL, (int64_t)L->bytes_allocated},
        {"peak_bytes", NULL, (int64_t)L->peak},
        {"peak_seq", NULL, (int64_t)L->peak_seq},
        {"peak_ns", NULL, (int64_t)L->peak_ns},
        {"exit_seq", NULL, (int64_t)L->exit_seq},
        {"exit_ns", NULL, (int64_t)L->exit_ns},
        {"live_at_exit_bytes", NULL, (int64_t)L->exit_heap},
        {"live_at_exit_count", NULL, (int64_t)L->exit_count},
        {"unmatched_frees", NULL, (int64_t)L->n_unmatched},
        {"lost_frees", NULL, (int64_t)L->n_doubled},
        {"torn_records", NULL, (int64_t)ts->torn_records},
        {"markers", NULL, (int64_t)L->n_markers},
        {"threads", NULL, (int64_t)ts->threads},
        {"events", NULL, (int64_t)ts->events},
        {"compact", NULL, !L->keep.all},
        {"forked", NULL, (h->flags & MT_HDR_FORKED) != 0},
        {"inherited_count", NULL, (int64_t)L->inherited_count},
        {"inherited_bytes", NULL, (int64_t)L->inherited_bytes},
        {"start_ticks", NULL, (int64_t)h->start_ticks},
        {"exit_status", NULL,
         (h->flags & (MT_HDR_EXIT_STATUS | MT_HDR_SIGNALED)) == MT_HDR_EXIT_STATUS
             ? (int64_t)h->exit_status : -1},
        {"exit_signal", NULL, (h->flags & MT_HDR_SIGNALED) ? (int64_t)h->exit_status : -1},
        {"exec_path", exec_path, 0},
        {"children", NULL, (h->flags & MT_HDR_CHILDREN) != 0},
        {"allocation_rows", NULL, (int64_t)L->rows},
        {"growth_slices", NULL, (int64_t)L->slice_count},
        {"growth_slice_events", NULL, (int64_t)L->slice_events},
        {"sample_rate", NULL, (int64_t)mt_trace_sample_rate(tr)},
        {"windows", NULL, (h->flags & MT_HDR_WINDOWS) != 0},
        {"stopped", NULL, h->version >= 9 && (h->flags & MT_HDR_STOPPED) != 0},
        {"stop_reason", h->version >= 9 && (h->flags & MT_HDR_STOPPED) ? stop_text : "", 0},
        {"stop_ns", NULL, h->version >= 9 && (h->flags & MT_HDR_STOPPED) ? (int64_t)h->stop_ns : 0},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0] && !rc; i++)
        rc = put_meta(L, st, rows[i].key, rows[i].text, rows[i].num);
    sqlite3_finalize(st);
    return rc;
}

static int exec_sql(struct loader *L, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(L->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    snprintf(L->err, sizeof L->err, "database: %s", msg ? msg : "error");
    sqlite3_free(msg);
    return EIO;
}

/* The growth slices at the final width (keep.h): the rows cut finer merged,
 * and those after the exit marker dropped (drop_epoch: its epoch, or 0 when
 * the exit is the end of the trace). */
static int write_slices(struct loader *L, unsigned drop_epoch)
{
    unsigned width = mt_keep_slice_width(L->exit_seq);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO stack_slices SELECT stack_id, thread_id, slice >> (%u - width),"
             " sum(delta_bytes), sum(delta_count) FROM temp.slice_rows"
             " WHERE epoch != %u OR %u = 0 GROUP BY 1, 2, 3; DROP TABLE temp.slice_rows;",
             width, drop_epoch, drop_epoch);
    L->slice_count = (L->exit_seq >> width) + 1;
    L->slice_events = 1ull << width;
    return exec_sql(L, sql);
}

static int fill(struct loader *L, struct mt_trace *tr, const char *trace_path,
                const struct stat *trace_st)
{
    int rc = exec_sql(L, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                         " PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-65536;"
                         " PRAGMA temp_store=MEMORY; BEGIN;");
    if (!rc)
        rc = exec_sql(L, mt_schema_tables);
    if (!rc)
        rc = exec_sql(L, mt_schema_scratch);
    if (!rc) {
        char sql[128];
        for (unsigned fn = 0; fn < MT_FN_COUNT && !rc; fn++) {
            snprintf(sql, sizeof sql, "INSERT INTO allocators VALUES (%u, '%s');", fn,
                     mt_alloc_fn_name(fn));
            rc = exec_sql(L, sql);
        }
    }
    if (!rc)
        rc = mt_dbwriter_start(&L->rows_out, L->db, mt_dbwriter_worth_a_thread(), L->err,
                               sizeof L->err);
    if (rc)
        return rc;
    rc = mt_load_inherit(L, trace_path);
    if (rc)
        return rc;
    char why[512];
    rc = mt_trace_read_threaded(tr, on_event_ahead, L, why, sizeof why);
    for (; !rc && L->ahead_used < L->ahead_put; L->ahead_used++)
        rc = on_event(L, &L->ahead[L->ahead_used % AHEAD]);
    if (rc && !L->err[0])
        snprintf(L->err, sizeof L->err, "%s", why);
    for (uint32_t i = 0; i < L->nstash && !rc; i++)
        rc = settle_stash(L, &L->stash[i]);
    unsigned drop_epoch = L->exit_seq ? L->exit_epoch : 0;
    if (!L->exit_seq) { /* no Python exit marker: exit is the end of the trace */
        L->exit_seq = L->last_seq;
        L->exit_ns = L->max_ns;
        L->exit_heap = L->heap;
        L->exit_count = L->live.count;
    }
    for (size_t i = 0; i < L->live.cap && !rc; i++)
        if (L->live.slots[i].addr)
            rc = write_allocation(L, &L->live.slots[i], 0, 0, 0);
    if (!rc)
        rc = mt_keep_finish(&L->keep, L->last_seq, &L->live);
    if (!rc)
        rc = write_clock(L, L->last_seq);
    /* The connection is this thread's again after this. Once an insert
     * failed, every put said EIO: the writer's message is the one to give. */
    int rows_rc = mt_dbwriter_finish(L->rows_out, why, sizeof why);
    L->rows_out = NULL;
    if (rows_rc) {
        snprintf(L->err, sizeof L->err, "%s", why);
        rc = rows_rc;
    }
    if (!rc)
        rc = write_slices(L, drop_epoch);
    if (!rc)
        rc = mt_load_write_modules(L);
    if (!rc)
        rc = mt_load_write_stacks(L);
    if (!rc)
        rc = mt_load_write_totals(L);
    if (!rc)
        rc = write_meta(L, tr, trace_path, trace_st);
    if (!rc)
        rc = exec_sql(L, mt_schema_views);
    if (!rc)
        rc = exec_sql(L, "COMMIT;");
    return rc;
}

static void loader_free(struct loader *L)
{
    free(L->clock);
    mt_keep_free(&L->keep);
    mt_livemap_free(&L->live);
    free(L->stash);
    free(L->nodes);
    free(L->pc_keys);
    free(L->pc_ids);
    free(L->frame_pcs);
    for (int i = 0; i < L->nmodules; i++)
        free(L->modules[i].path);
    free(L->modules);
    for (uint32_t i = 0; i < L->npyframes; i++) {
        free(L->pyframes[i].file);
        free(L->pyframes[i].function);
    }
    free(L->pyframes);
    mt_symbolizer_free(L->sym);
}

/* The trace into a new database at tmp. Returns 0, or an errno with L->err
 * set. */
static int load_once(struct loader *L, struct mt_trace *tr, const char *trace_path,
                     const struct stat *trace_st, const char *tmp, int all, int quiet)
{
    memset(L, 0, sizeof *L);
    const struct mt_keep_sink sink = {L, sink_span, sink_slice, sink_point};
    mt_keep_init(&L->keep, all, &sink);
    L->trace = tr;
    L->quiet = quiet;
    L->progress = quiet ? NULL : mt_progress_new("loading");
    L->sym = mt_symbolizer_new();
    int rc = L->sym ? 0 : ENOMEM;
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(L->err, sizeof L->err, "%.400s: %s", tmp, strerror(errno));
        rc = errno;
    } else {
        close(fd);
    }
    if (!rc && sqlite3_open_v2(tmp, &L->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
                   SQLITE_OK)
        rc = mt_load_sql_fail(L, "open");
    if (!rc)
        rc = fill(L, tr, trace_path, trace_st);
    if (rc && !L->err[0])
        snprintf(L->err, sizeof L->err, "%s", strerror(rc));
    mt_progress_done(L->progress);
    loader_free(L);
    if (L->db && sqlite3_close(L->db) != SQLITE_OK && !rc)
        rc = EIO;
    if (rc)
        unlink(tmp);
    return rc;
}

/* tr (open, at rest or followed) into db_path; the run's other processes
 * too when tree. Closes tr. */
static int load_trace(struct mt_trace *tr, const char *trace_path, const char *db_path,
                      int replace, int quiet, int all, int tree)
{
    if (!replace && mt_path_exists(db_path)) {
        mt_error("%s: already exists (use --force to replace it)", db_path);
        mt_trace_close(tr);
        return MT_EXIT_FAIL;
    }
    /* Build beside the target under a fresh name, then rename: a reader
     * never sees half a database, and a symlink at db_path is replaced, not
     * followed. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", db_path, (long)getpid());
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct loader L;
    struct stat trace_st;
    stat(trace_path, &trace_st);
    int rc = load_once(&L, tr, trace_path, &trace_st, tmp, all, quiet);
    if (!rc && rename(tmp, db_path) != 0) {
        snprintf(L.err, sizeof L.err, "%s: %s", db_path, strerror(errno));
        rc = errno;
        unlink(tmp);
    }
    if (rc) {
        mt_error("%s: %s", trace_path, L.err);
        mt_trace_close(tr);
        return rc == ECANCELED ? MT_EXIT_CANCELED : MT_EXIT_FAIL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const struct mt_trace_stats *ts = mt_trace_stats(tr);
    if (ts->torn_records)
        mt_warn("%s: dropped %llu torn record(s): the traced process died while writing them",
                trace_path, (unsigned long long)ts->torn_records);
    if (!(mt_trace_header(tr)->flags & MT_HDR_CLOSED))
        mt_warn("%s: the trace was not closed (process killed or exec'd away); "
                "everything recorded up to then is loaded",
                trace_path);
    const struct mt_file_header *hdr = mt_trace_header(tr);
    if (hdr->version >= 9 && (hdr->flags & MT_HDR_STOPPED))
        mt_warn("%s: partial: tracing stopped %.3f s after the start (%s); what came after "
                "is not in the trace",
                trace_path, (double)hdr->stop_ns / 1e9,
                hdr->stop_reason == MT_STOP_GROW ? "the trace file could not grow"
                                                 : "memtap's writer failed");
    if (L.n_doubled)
        mt_warn("%s: %llu allocation(s) were seen live twice (a lost free)", trace_path,
                (unsigned long long)L.n_doubled);
    if (!quiet) {
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        fprintf(stderr, "memtap: loaded %llu events into %s in %.2f s (%.2f M events/s)\n",
                (unsigned long long)ts->events, db_path, secs,
                secs > 0 ? (double)ts->events / secs / 1e6 : 0.0);
    }
    mt_trace_close(tr);
    return tree ? mt_load_tree(trace_path, db_path, quiet, all) : MT_EXIT_OK;
}

int mt_load(const char *trace_path, const char *db_path, int replace, int quiet, int all)
{
    struct mt_trace *tr;
    char why[512];
    if (mt_trace_open(trace_path, &tr, why, sizeof why) != 0) {
        mt_error("%s", why);
        return MT_EXIT_FAIL;
    }
    return load_trace(tr, trace_path, db_path, replace, quiet, all, 1);
}

int mt_load_follow(const char *trace_path, const char *db_path, int (*running)(void *ctx),
                   void *ctx)
{
    struct mt_trace *tr;
    char why[512];
    int rc = mt_trace_follow(trace_path, running, ctx, &tr, why, sizeof why);
    if (rc == EAGAIN || rc == ENOENT)
        return MT_EXIT_CANCELED; /* not there yet: try again */
    if (rc) {
        mt_error("%s", why);
        return MT_EXIT_FAIL;
    }
    return load_trace(tr, trace_path, db_path, 1, 1, 0, 0);
}

int mt_load_mark_current(const char *db_path, const char *trace_path)
{
    struct stat st;
    sqlite3 *db;
    if (stat(trace_path, &st) != 0)
        return MT_EXIT_FAIL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return MT_EXIT_FAIL;
    }
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE meta SET value = %lld WHERE key = 'trace_size';"
             "UPDATE meta SET value = %lld WHERE key = 'trace_mtime_ns';",
             (long long)st.st_size,
             (long long)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? MT_EXIT_OK : MT_EXIT_FAIL;
    sqlite3_close(db);
    return rc;
}
