/* keep.c - rows or aggregates (see keep.h). Runs once per allocation and
 * once per free of a load: hash look-ups and counters, no allocation but
 * when a table grows. */
#include "keep.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void mt_keep_init(struct mt_keep *k, int all, const struct mt_keep_sink *sink)
{
    memset(k, 0, sizeof *k);
    k->all = all;
    k->sink = *sink;
    k->peak_gen = 1;
}

void mt_keep_free(struct mt_keep *k)
{
    free(k->points);
    free(k->slot);
    free(k->v);
    free(k->touched);
    free(k->spans);
    memset(k, 0, sizeof *k);
}

static int push(void **arr, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? 2 * *cap : first;
    void *a = realloc(*arr, c * elem);
    if (!a)
        return ENOMEM;
    *arr = a;
    *cap = c;
    return 0;
}

/* a + b as the machine adds them, wrapping: the sums of a corrupt trace's
 * sizes may overflow, and an overflow of a signed sum is undefined. */
static int64_t wrapping_add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static uint64_t hash64(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x9E3779B97F4A7C15ull;
    return x ^ (x >> 29);
}

/* ---- totals per (stack, thread) ------------------------------------------ */

static uint64_t key_of(uint32_t stack, uint32_t thread)
{
    return (uint64_t)stack << 32 | thread;
}

static int grow_slots(struct mt_keep *k)
{
    size_t cap = k->slot_cap ? 2 * k->slot_cap : 4096;
    uint32_t *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return ENOMEM;
    for (size_t i = 0; i < k->n; i++) {
        size_t j = hash64(key_of(k->v[i].stack, k->v[i].thread)) & (cap - 1);
        while (slot[j])
            j = (j + 1) & (cap - 1);
        slot[j] = (uint32_t)i + 1;
    }
    free(k->slot);
    k->slot = slot;
    k->slot_cap = cap;
    return 0;
}

/* The totals of (stack, thread), created if new; NULL when out of memory. */
static struct mt_stack_total *total_of(struct mt_keep *k, uint32_t stack, uint32_t thread)
{
    if (k->last) {
        struct mt_stack_total *t = &k->v[k->last - 1];
        if (t->stack == stack && t->thread == thread)
            return t;
    }
    if (2 * (k->n + 1) > k->slot_cap && grow_slots(k))
        return NULL;
    size_t j = hash64(key_of(stack, thread)) & (k->slot_cap - 1);
    for (; k->slot[j]; j = (j + 1) & (k->slot_cap - 1)) {
        struct mt_stack_total *t = &k->v[k->slot[j] - 1];
        if (t->stack == stack && t->thread == thread) {
            k->last = k->slot[j];
            return t;
        }
    }
    if (push((void **)&k->v, &k->cap, k->n, sizeof *k->v, 1024))
        return NULL;
    struct mt_stack_total *t = &k->v[k->n];
    memset(t, 0, sizeof *t);
    t->stack = stack;
    t->thread = thread;
    t->first_seq = UINT64_MAX;
    k->slot[j] = (uint32_t)++k->n;
    k->last = k->slot[j];
    return t;
}

/* ---- growth slices --------------------------------------------------------- */

static int flush_slice(struct mt_keep *k)
{
    int rc = 0;
    for (size_t i = 0; i < k->ntouched; i++) {
        struct mt_stack_total *t = &k->v[k->touched[i]];
        if (!rc)
            rc = k->sink.slice(k->sink.ctx, t, k->slice, k->width, k->epoch);
        t->slice_bytes = t->slice_count = 0;
        t->touched = 0;
    }
    k->ntouched = 0;
    return rc;
}

int mt_keep_exit_epoch(struct mt_keep *k, unsigned epoch)
{
    int rc = flush_slice(k);
    k->epoch = epoch;
    return rc;
}

/* Adds a change at seq (the current event's: seqs only grow) to t's
 * current slice; a seq past the current slice flushes it, and one past
 * MT_SLICES slices of the current width doubles it. */
static int slice_add(struct mt_keep *k, struct mt_stack_total *t, uint64_t seq, int64_t bytes,
                     int64_t count)
{
    if (seq >> k->width != k->slice) {
        int rc = flush_slice(k);
        if (rc)
            return rc;
        while ((seq >> k->width) >= MT_SLICES)
            k->width++;
        k->slice = seq >> k->width;
    }
    if (!t->touched) {
        if (push((void **)&k->touched, &k->cap_touched, k->ntouched, sizeof *k->touched, 1024))
            return ENOMEM;
        k->touched[k->ntouched++] = (uint32_t)(t - k->v);
        t->touched = 1;
    }
    t->slice_bytes = wrapping_add(t->slice_bytes, bytes);
    t->slice_count += count;
    return 0;
}

/* ---- spans ------------------------------------------------------------------ */

static size_t span_home(const struct mt_span *s, size_t cap)
{
    return hash64(key_of(s->stack, s->thread) ^ hash64(s->from_seq)) & (cap - 1);
}

static int grow_spans(struct mt_keep *k)
{
    size_t cap = k->span_cap ? 2 * k->span_cap : 4096;
    struct mt_span *v = calloc(cap, sizeof *v);
    if (!v)
        return ENOMEM;
    for (size_t i = 0; i < k->span_cap; i++) {
        if (!k->spans[i].count)
            continue;
        size_t j = span_home(&k->spans[i], cap);
        while (v[j].count)
            j = (j + 1) & (cap - 1);
        v[j] = k->spans[i];
    }
    free(k->spans);
    k->spans = v;
    k->span_cap = cap;
    return 0;
}

/* The first checkpoint at or after seq (there is one: seq <= the last). */
static uint64_t point_after(const struct mt_keep *k, uint64_t seq)
{
    size_t lo = 0, hi = k->npoints;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (k->points[mid] < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return k->points[lo];
}

/* a was live at every checkpoint from the first after its allocation to
 * the last one so far. */
static int span_add(struct mt_keep *k, const struct mt_live *a)
{
    if (2 * (k->nspans + 1) > k->span_cap && grow_spans(k))
        return ENOMEM;
    struct mt_span s = {a->stack, a->thread, point_after(k, a->seq), k->points[k->npoints - 1],
                        0, 0};
    size_t j = span_home(&s, k->span_cap);
    for (; k->spans[j].count; j = (j + 1) & (k->span_cap - 1)) {
        struct mt_span *o = &k->spans[j];
        if (o->stack == s.stack && o->thread == s.thread && o->from_seq == s.from_seq)
            break;
    }
    struct mt_span *o = &k->spans[j];
    if (!o->count) {
        *o = s;
        k->nspans++;
    }
    o->bytes = wrapping_add(o->bytes, (int64_t)a->size);
    o->count++;
    return 0;
}

static int flush_spans(struct mt_keep *k)
{
    int rc = 0;
    for (size_t i = 0; i < k->span_cap && k->nspans; i++) {
        if (!k->spans[i].count)
            continue;
        if (!rc)
            rc = k->sink.span(k->sink.ctx, &k->spans[i]);
        k->spans[i].count = 0;
        k->nspans--;
    }
    return rc;
}

int mt_keep_checkpoint(struct mt_keep *k, uint64_t seq, int marker)
{
    if (marker)
        k->marker = seq;
    if (k->npoints && k->points[k->npoints - 1] >= seq)
        return 0;
    int rc = flush_spans(k);
    if (rc)
        return rc;
    if (push((void **)&k->points, &k->cap_points, k->npoints, sizeof *k->points, 1024))
        return ENOMEM;
    k->points[k->npoints++] = seq;
    return k->sink.point(k->sink.ctx, seq);
}

/* ---- events ----------------------------------------------------------------- */

int mt_keep_on_alloc(struct mt_keep *k, const struct mt_live *a)
{
    struct mt_stack_total *t = total_of(k, a->stack, a->thread);
    if (!t)
        return ENOMEM;
    t->count++;
    t->bytes += a->size;
    t->sizes[mt_size_bucket(a->size)]++;
    if (a->seq < t->first_seq)
        t->first_seq = a->seq;
    return slice_add(k, t, a->seq, (int64_t)a->size, 1);
}

unsigned mt_size_bucket(uint64_t size)
{
    if (size < 2)
        return 0;
    unsigned b = (unsigned)(63 - __builtin_clzll(size));
    return b < MT_SIZE_BUCKETS ? b : MT_SIZE_BUCKETS - 1;
}

unsigned mt_lifetime_time_bucket(uint64_t ns)
{
    unsigned b = 0;
    for (uint64_t bound = 1000000; b < MT_LIFETIME_TIME_BUCKETS - 1 && ns >= bound; bound *= 10)
        b++;
    return b;
}

static unsigned lifetime_bucket(uint64_t events)
{
    if (events == 0)
        return 0;
    unsigned b = (unsigned)(63 - __builtin_clzll(events)) / 2;
    return b < MT_LIFETIME_BUCKETS ? b : MT_LIFETIME_BUCKETS - 1;
}

/* a is live at the running peak. */
static void peak_add(struct mt_keep *k, struct mt_stack_total *t, const struct mt_live *a)
{
    if (t->peak_gen != k->peak_gen) {
        t->peak_gen = k->peak_gen;
        t->peak_bytes = t->peak_count = 0;
    }
    t->peak_bytes += a->size;
    t->peak_count++;
}

int mt_keep_on_free(struct mt_keep *k, const struct mt_live *a, uint64_t free_seq,
                    uint64_t lifetime_ns, int *row)
{
    struct mt_stack_total *t = total_of(k, a->stack, a->thread);
    if (!t)
        return ENOMEM;
    t->freed_count++;
    t->freed_bytes += a->size;
    t->lifetime[lifetime_bucket(free_seq - a->seq)]++;
    if (lifetime_ns != UINT64_MAX)
        t->lifetime_time[mt_lifetime_time_bucket(lifetime_ns)]++;
    int rc = 0;
    rc = slice_add(k, t, free_seq, -(int64_t)a->size, -1);
    if (!rc && k->npoints && a->seq <= k->points[k->npoints - 1])
        rc = span_add(k, a);
    if (rc)
        return rc;
    if (a->seq <= k->peak_seq)
        peak_add(k, t, a);
    *row = k->all || a->seq <= k->marker;
    return 0;
}

int mt_keep_finish(struct mt_keep *k, uint64_t seq, const struct mt_livemap *live)
{
    int rc = mt_keep_checkpoint(k, seq, 0);
    for (size_t i = 0; i < live->cap && !rc; i++) {
        const struct mt_live *a = &live->slots[i];
        if (!a->addr)
            continue;
        if (k->npoints)
            rc = span_add(k, a);
        if (a->seq <= k->peak_seq) {
            struct mt_stack_total *t = total_of(k, a->stack, a->thread);
            if (!t)
                return ENOMEM;
            peak_add(k, t, a);
        }
    }
    if (!rc)
        rc = flush_spans(k);
    if (!rc)
        rc = flush_slice(k);
    return rc;
}
