/* sampling.h - sampling by bytes (memtap run --sample-rate SIZE): which
 * allocations are recorded, and which frees belong to recorded blocks.
 *
 * A thread counts down the bytes it allocates from a distance drawn from
 * the exponential distribution of mean SIZE: the allocation that takes the
 * count to zero or below is recorded, and a new distance is drawn. Over the
 * bytes a thread allocates, the recorded ones are the points of a Poisson
 * process of rate 1/SIZE, so a block of n < SIZE bytes is recorded with
 * probability 1 - exp(-n/SIZE), independently of every other block; a
 * block of SIZE bytes or more is always recorded and takes no part in the
 * count. The reader weights each recorded block by the inverse of that
 * probability (mt_trace_format.h: MT_HDR_SAMPLED), which makes every sum of
 * bytes an unbiased estimate.
 *
 * The addresses of the recorded blocks that are live are kept in a set, so
 * that a free is recorded only when its block was: a free of a block that
 * was not recorded costs one lookup in a table that fits in the cache (the
 * live recorded blocks are about the live heap divided by SIZE). Lookups
 * take no lock: the table is changed only under a lock, inside a sequence
 * count that a lookup reads before and after (a seqlock), and a table that
 * was replaced by a larger one is never unmapped.
 *
 * Everything here runs inside the hooks (the caller holds the recursion
 * guard) and neither allocates nor changes errno.
 */
#ifndef MT_SAMPLING_H
#define MT_SAMPLING_H

#include <stdint.h>

#include "mt_shim.h"

struct mt_sample_table {
    uint64_t mask;  /* slots - 1, slots a power of two */
    unsigned shift; /* 64 - log2(slots) */
    uint64_t slots[];
};

/* What every hook reads, in one cache line. */
struct mt_sampling {
    /* Not 0 when an allocation may go unrecorded: sampling, or recording
     * windows (windows.c) ever used. Hooks look at nothing else when 0. */
    int gate;
    /* 0 between recording windows: allocations are not recorded (frees
     * still are: a block recorded in a window may be freed outside). */
    volatile int recording;
    /* The mean distance in bytes between recorded allocations; 0: every
     * allocation is recorded (no sampling). Set once, before tracing. */
    uint64_t rate;
    uint64_t version; /* odd while a writer changes the set */
    struct mt_sample_table *current;
} __attribute__((aligned(64)));

extern struct mt_sampling mt_sampling;

/* A counting filter in front of the set: per hash of an address, how many
 * live recorded blocks have that hash. A block is live in the set only if
 * its counter is not 0, and while it is, its own count keeps the counter
 * above 0 (the free of a block comes after its insert), so a 0 read with
 * no lock and no seqlock is a sure "not recorded": the free of a block
 * that was not recorded costs one load from a small static table. */
#define MT_SAMPLE_FILTER_BITS 12
extern uint16_t mt_sample_filter[1u << MT_SAMPLE_FILTER_BITS];

static inline uint32_t mt_sample_filter_slot(uintptr_t a)
{
    return (uint32_t)(((uint64_t)a * 0xD6E8FEB86659FD93ull) >> (64 - MT_SAMPLE_FILTER_BITS));
}
#define mt_sample_rate (mt_sampling.rate)
#define mt_sample_version (mt_sampling.version)
#define mt_sample_current (mt_sampling.current)

/* Reads the options: called once by the constructor before tracing. */
void mt_sampling_init(void);

/* The out-of-line halves below. */
int mt_sample_draw(struct mt_thread *t, size_t n);
void mt_sample_insert(uintptr_t a);
void mt_sample_remove(uintptr_t a);

static inline uint64_t mt_sample_slot(const struct mt_sample_table *tb, uintptr_t a)
{
    return ((uint64_t)a * 0x9E3779B97F4A7C15ull) >> tb->shift;
}

/* Whether a is a live recorded block. Any thread; no lock. */
static inline int mt_sample_has(uintptr_t a)
{
    for (;;) {
        uint64_t v = __atomic_load_n(&mt_sample_version, __ATOMIC_ACQUIRE);
        if (MT_UNLIKELY(v & 1)) {
            __builtin_ia32_pause();
            continue;
        }
        const struct mt_sample_table *tb = __atomic_load_n(&mt_sample_current, __ATOMIC_ACQUIRE);
        int found = 0;
        uint64_t i = mt_sample_slot(tb, a);
        for (uint64_t n = 0; n <= tb->mask; n++, i = (i + 1) & tb->mask) {
            uint64_t k = __atomic_load_n(&tb->slots[i], __ATOMIC_RELAXED);
            if (k == a) {
                found = 1;
                break;
            }
            if (!k)
                break;
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&mt_sample_version, __ATOMIC_RELAXED) == v)
            return found;
    }
}

/* Whether an allocation of n bytes at p is to be recorded: never between
 * recording windows; always without sampling; else by the countdown, and
 * then p joins the set. */
static MT_ALWAYS_INLINE int mt_sample_alloc(struct mt_thread *t, const void *p, size_t n)
{
    if (MT_LIKELY(!mt_sampling.gate))
        return 1;
    if (!mt_sampling.recording)
        return 0;
    if (!mt_sample_rate)
        return 1;
    if (n < mt_sample_rate) {
        t->sample_left -= (int64_t)n;
        if (MT_LIKELY(t->sample_left > 0))
            return 0;
        if (!mt_sample_draw(t, n))
            return 0;
    }
    mt_sample_insert((uintptr_t)p);
    return 1;
}

/* While sampling: whether p may be a recorded block (0: surely not, by
 * the set's filter). */
static MT_ALWAYS_INLINE int mt_sample_may_hold(const void *p)
{
    return __atomic_load_n(&mt_sample_filter[mt_sample_filter_slot((uintptr_t)p)],
                           __ATOMIC_RELAXED) != 0;
}

/* Whether the free (or a realloc's release) of p is to be recorded: always
 * without sampling; else when p is a recorded block, which then leaves the
 * set. */
static MT_ALWAYS_INLINE int mt_sample_free(const void *p)
{
    if (MT_LIKELY(!mt_sample_rate))
        return 1;
    if (MT_LIKELY(!mt_sample_may_hold(p)))
        return 0;
    if (!mt_sample_has((uintptr_t)p))
        return 0;
    mt_sample_remove((uintptr_t)p);
    return 1;
}

/* A realloc whose release of p was recorded failed: p lives on. */
static inline void mt_sample_restore(const void *p)
{
    if (mt_sample_rate)
        mt_sample_insert((uintptr_t)p);
}

#endif
