/* keep.h - what a database holds of each allocation: its row, or only its
 * share of exact per-stack aggregates (the compact database, the default).
 *
 * Reports ask what was live at a point of the run, per site: the heap
 * peak, the exit, a marker, a time, or they ask how each site's live bytes
 * moved across the 64 growth slices. Besides the rows, the loader writes:
 *
 *   stack_totals  per (stack, thread): blocks and bytes allocated and
 *                 freed, the first allocation's seq, and (tables lifetimes,
 *                 lifetime_times, sizes) freed blocks by lifetime in events
 *                 and in time, allocations by size;
 *   live_spans    per (stack, thread, from_seq, to_seq): the blocks live at
 *                 every checkpoint whose seq is in [from_seq, to_seq] and at
 *                 no other. Checkpoints: each sample and marker (seq: the
 *                 last event before it) and the end of the trace. A time
 *                 resolves to a checkpoint (docs/schema.md, clock), so what
 *                 was live at any time, marker or exit comes from here;
 *   peak_live     per (stack, thread): the blocks live at the heap peak
 *                 (a freed block live at the running peak counts until the
 *                 heap passes that peak, which empties every (stack,
 *                 thread) at once: a generation number);
 *   stack_slices  per (stack, thread, slice): the net change of live bytes
 *                 and blocks in each growth slice. Slices are runs of 2^w
 *                 events, w the least with at most MT_SLICES of them up to
 *                 the exit: a slice is cut as the events come, at the width
 *                 the run has reached (it doubles as the run passes
 *                 MT_SLICES slices), and the loader merges the finer ones
 *                 into the final width at the end (slice >> (w - width)),
 *                 so the exit need not be known before the load. The
 *                 changes after a Python exit marker are written apart
 *                 (their epoch: the marker's number), and dropped at the
 *                 end unless a Py_Finalize return made the end the exit.
 *
 * Rows (table allocations) are kept for the blocks a user may want one by
 * one: those never freed and those live at a marker (the Python exit
 * included: the leaks). With `all`, every allocation has its row (memtap
 * load --all); the aggregates are the same either way, and so is every
 * report.
 *
 * Memory: the totals grow with distinct (stack, thread) pairs; the open
 * spans with what was freed since the last checkpoint; the checkpoints'
 * seqs, 8 bytes each.
 */
#ifndef MT_KEEP_H
#define MT_KEEP_H

#include <stddef.h>
#include <stdint.h>

#include "livemap.h"

/* Lifetimes, in events (free_seq - alloc_seq), in buckets of powers of 4:
 * bucket b holds lifetimes in [4^b, 4^(b+1)), the last one everything
 * longer. */
#define MT_LIFETIME_BUCKETS 16
/* Lifetimes in time, in decades: bucket 0 under 1 ms, b in [10^(b-1),
 * 10^b) ms, the last one everything longer. As fine as the samples: an
 * allocation's time is its last sample's (mt_keep_on_free's caller). */
#define MT_LIFETIME_TIME_BUCKETS 8
/* Sizes in powers of 2: bucket b holds [2^b, 2^(b+1)) bytes (0 and 1
 * byte in bucket 0), the last one everything larger. */
#define MT_SIZE_BUCKETS 24
#define MT_SLICES 64

struct mt_stack_total {
    uint32_t stack, thread;
    uint64_t count, bytes; /* allocated */
    uint64_t freed_count, freed_bytes;
    uint64_t first_seq; /* its first allocation */
    uint64_t lifetime[MT_LIFETIME_BUCKETS]; /* freed blocks, by lifetime */
    uint64_t lifetime_time[MT_LIFETIME_TIME_BUCKETS]; /* the same, in time */
    uint64_t sizes[MT_SIZE_BUCKETS];        /* allocations, by size */
    int64_t slice_bytes, slice_count; /* the current slice's net change */
    uint64_t peak_gen;                /* peak_bytes/count count when == mt_keep's */
    uint64_t peak_bytes, peak_count;  /* live at the peak */
    uint8_t touched;                  /* in the current slice */
};

struct mt_span {
    uint32_t stack, thread;
    uint64_t from_seq, to_seq;
    int64_t bytes, count;
};

/* Where the aggregates go as they are completed (the loader's rows). */
struct mt_keep_sink {
    void *ctx;
    int (*span)(void *ctx, const struct mt_span *s);
    int (*slice)(void *ctx, const struct mt_stack_total *t, uint64_t slice, unsigned width,
                 unsigned epoch);
    int (*point)(void *ctx, uint64_t seq); /* a new checkpoint */
};

struct mt_keep {
    int all;
    struct mt_keep_sink sink;
    unsigned width;      /* slices of 2^width events */
    uint64_t slice;      /* the current slice (seq >> width) */
    unsigned epoch;      /* after the epoch-th Python exit marker, 0: before any */
    uint64_t marker;     /* the last marker's seq, 0 = none */
    uint64_t peak_seq;   /* the running heap peak */
    uint64_t peak_gen;   /* how many times it moved */
    /* checkpoints' seqs, ascending and distinct */
    uint64_t *points;
    size_t npoints, cap_points;
    /* totals: open addressing (stack, thread) -> index + 1 into v */
    uint32_t *slot;
    size_t slot_cap;
    struct mt_stack_total *v;
    size_t n, cap;
    uint32_t last; /* index + 1 of the entry last used: runs of one stack */
    uint32_t *touched; /* entries with a change in the current slice */
    size_t ntouched, cap_touched;
    /* spans ending at the last checkpoint, open addressing */
    struct mt_span *spans;
    size_t span_cap, nspans;
};

/* all: keep every row. */
void mt_keep_init(struct mt_keep *k, int all, const struct mt_keep_sink *sink);

/* A Python exit marker (epoch: its number, from 1), or 0 once a return from
 * Py_Finalize made the end of the trace the exit again: the slices'
 * changes from here on are written under that epoch. Returns 0 or an errno
 * (from the sink). */
int mt_keep_exit_epoch(struct mt_keep *k, unsigned epoch);

/* The width the slices of a run whose exit is at exit_seq have. */
static inline unsigned mt_keep_slice_width(uint64_t exit_seq)
{
    unsigned w = 0;
    while ((exit_seq >> w) >= MT_SLICES)
        w++;
    return w;
}
void mt_keep_free(struct mt_keep *k);

/* An allocation was made. Returns 0 or an errno. */
int mt_keep_on_alloc(struct mt_keep *k, const struct mt_live *a);

/* A checkpoint at seq (a sample, a marker: marker set). Returns 0 or an
 * errno (from the sink). */
int mt_keep_checkpoint(struct mt_keep *k, uint64_t seq, int marker);

/* The heap reached a new peak at seq: no block freed so far was live there. */
static inline void mt_keep_new_peak(struct mt_keep *k, uint64_t seq)
{
    k->peak_seq = seq;
    k->peak_gen++;
}

/* Whether t's peak figures are those of the final peak (after finish). */
static inline int mt_keep_at_peak(const struct mt_keep *k, const struct mt_stack_total *t)
{
    return t->peak_gen == k->peak_gen && t->peak_count > 0;
}

/* An allocation was freed at free_seq, lifetime_ns after it was made
 * (UINT64_MAX: not known, not counted in time). Sets *row: 1 when its row
 * is to be written, 0 when the aggregates hold all of it. Returns 0 or an
 * errno. */
int mt_keep_on_free(struct mt_keep *k, const struct mt_live *a, uint64_t free_seq,
                    uint64_t lifetime_ns, int *row);

/* The buckets of a size and of a lifetime in time. */
unsigned mt_size_bucket(uint64_t size);
unsigned mt_lifetime_time_bucket(uint64_t ns);

/* The end of the trace at seq: the last checkpoint; the spans of the
 * blocks still live (each of live's entries) and their part of the peak;
 * every open span and slice written. Returns 0 or an errno. */
int mt_keep_finish(struct mt_keep *k, uint64_t seq, const struct mt_livemap *live);


#endif
