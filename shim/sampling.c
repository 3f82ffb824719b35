/* sampling.c - the out-of-line half of sampling by bytes (sampling.h): the
 * random distances between recorded allocations, and the changes to the
 * set of live recorded blocks (insert, remove, grow), made under a lock
 * inside the seqlock that lookups check.
 *
 * The set is open-addressed (and has a counting filter in front:
 * sampling.h) with linear probing and kept at most half
 * full; a removal shifts the entries after it back, so the table never
 * holds tombstones and a lookup of an absent address stops at the first
 * empty slot. Tables come from mt_map_aside; a table replaced by a larger
 * one stays mapped (a lookup may still be reading it), which at most
 * doubles what the set uses.
 *
 * Randomness: xorshift64* per thread, seeded from MEMTAP_SAMPLE_SEED (the
 * tests' fixed seeds) or from the clock and the pid, and the thread's
 * order of arrival. */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sampling.h"

struct mt_sampling mt_sampling = {.recording = 1};
uint16_t mt_sample_filter[1u << MT_SAMPLE_FILTER_BITS];

static uint64_t live_count;
static int writer_lock;
static uint64_t base_seed;
static uint32_t threads_seeded;

#define FIRST_SLOTS 256u /* 2 KiB: a few hundred live recorded blocks stay in L1 */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t next_random(struct mt_thread *t)
{
    uint64_t x = t->sample_rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->sample_rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* A distance in bytes, exponential with mean mt_sample_rate, at least 1. */
static int64_t next_distance(struct mt_thread *t)
{
    double u = (double)((next_random(t) >> 11) + 1) * 0x1.0p-53; /* (0, 1] */
    double d = -log(u) * (double)mt_sample_rate;
    if (d < 1.0)
        return 1;
    if (d > 4e18)
        return (int64_t)4e18;
    return (int64_t)d;
}

int mt_sample_draw(struct mt_thread *t, size_t n)
{
    if (MT_UNLIKELY(!t->sample_rng)) {
        /* The thread's first allocation: its countdown starts here. */
        uint32_t k = __atomic_add_fetch(&threads_seeded, 1, __ATOMIC_RELAXED);
        t->sample_rng = splitmix64(base_seed + k) | 1;
        t->sample_left = next_distance(t) - (int64_t)n;
        if (t->sample_left > 0)
            return 0;
    }
    t->sample_left = next_distance(t);
    return 1;
}

/* ---- the set's writers -------------------------------------------------- */

static void lock_writers(void)
{
    for (unsigned spins = 0; __atomic_exchange_n(&writer_lock, 1, __ATOMIC_ACQUIRE); spins++) {
        if (spins > 64)
            sched_yield();
        else
            __builtin_ia32_pause();
    }
    mt_self.sample_writing = 1;
}

static void unlock_writers(void)
{
    mt_self.sample_writing = 0;
    __atomic_store_n(&writer_lock, 0, __ATOMIC_RELEASE);
}

static void begin_change(void)
{
    __atomic_store_n(&mt_sample_version, mt_sample_version + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void end_change(void)
{
    __atomic_store_n(&mt_sample_version, mt_sample_version + 1, __ATOMIC_RELEASE);
}

/* 1 when a was not in tb and now is. */
static int put(struct mt_sample_table *tb, uintptr_t a)
{
    uint64_t i = mt_sample_slot(tb, a);
    while (tb->slots[i]) {
        if (tb->slots[i] == a)
            return 0;
        i = (i + 1) & tb->mask;
    }
    __atomic_store_n(&tb->slots[i], a, __ATOMIC_RELAXED);
    live_count++;
    return 1;
}

static struct mt_sample_table *new_table(uint64_t slots)
{
    unsigned bits = 0;
    while ((1ull << bits) < slots)
        bits++;
    size_t size = sizeof(struct mt_sample_table) + (size_t)slots * sizeof(uint64_t);
    struct mt_sample_table *tb = mt_map_aside(size, PROT_READ | PROT_WRITE);
    if (tb == MAP_FAILED)
        return NULL;
    tb->mask = slots - 1;
    tb->shift = 64 - bits;
    return tb;
}

/* Called inside a change: the current table, twice as large when the
 * next insert would fill it past half. NULL when no memory is left (the
 * insert is then lost: that block's free goes unrecorded). */
static struct mt_sample_table *room_for_one(void)
{
    struct mt_sample_table *tb = mt_sample_current;
    if ((live_count + 1) * 2 <= tb->mask + 1)
        return tb;
    struct mt_sample_table *bigger = new_table((tb->mask + 1) * 2);
    if (!bigger)
        return (live_count + 1) * 4 <= (tb->mask + 1) * 3 ? tb : NULL;
    live_count = 0;
    for (uint64_t i = 0; i <= tb->mask; i++)
        if (tb->slots[i])
            (void)put(bigger, tb->slots[i]);
    __atomic_store_n(&mt_sample_current, bigger, __ATOMIC_RELEASE);
    return bigger;
}

void mt_sample_insert(uintptr_t a)
{
    lock_writers();
    begin_change();
    struct mt_sample_table *tb = room_for_one();
    if (tb && put(tb, a)) {
        uint16_t *c = &mt_sample_filter[mt_sample_filter_slot(a)];
        if (*c < UINT16_MAX) /* a saturated counter stays: never a false "absent" */
            __atomic_store_n(c, (uint16_t)(*c + 1), __ATOMIC_RELAXED);
    }
    end_change();
    unlock_writers();
}

void mt_sample_remove(uintptr_t a)
{
    lock_writers();
    begin_change();
    struct mt_sample_table *tb = mt_sample_current;
    uint64_t i = mt_sample_slot(tb, a);
    for (uint64_t n = 0; n <= tb->mask && tb->slots[i] != a; n++)
        i = (i + 1) & tb->mask;
    if (tb->slots[i] == a) {
        /* Backward shift: move each later entry of the run into the hole
         * when its home slot does not lie between the hole and it. */
        uint64_t hole = i;
        for (uint64_t j = (i + 1) & tb->mask; tb->slots[j]; j = (j + 1) & tb->mask) {
            uint64_t home = mt_sample_slot(tb, tb->slots[j]);
            if (((j - home) & tb->mask) >= ((j - hole) & tb->mask)) {
                __atomic_store_n(&tb->slots[hole], tb->slots[j], __ATOMIC_RELAXED);
                hole = j;
            }
        }
        __atomic_store_n(&tb->slots[hole], 0, __ATOMIC_RELAXED);
        live_count--;
        uint16_t *c = &mt_sample_filter[mt_sample_filter_slot(a)];
        if (*c && *c < UINT16_MAX)
            __atomic_store_n(c, (uint16_t)(*c - 1), __ATOMIC_RELAXED);
    }
    end_change();
    unlock_writers();
}

/* fork: no writer is halfway through a change in the child. */
static void before_fork(void)
{
    lock_writers();
}

static void after_fork(void)
{
    unlock_writers();
}

void mt_sampling_init(void)
{
    if (!mt_opt.sample_rate)
        return;
    mt_sample_current = new_table(FIRST_SLOTS);
    if (!mt_sample_current) {
        mt_say("cannot map the sampled blocks' table: ", "every allocation is recorded", "");
        return;
    }
    base_seed = mt_opt.sample_seed;
    if (!base_seed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        base_seed = splitmix64(((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
                               ((uint64_t)getpid() << 40));
    }
    pthread_atfork(before_fork, after_fork, after_fork);
    mt_sample_rate = mt_opt.sample_rate;
    mt_sampling.gate = 1;
}
