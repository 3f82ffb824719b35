/* tables.c - growth by generations for the shim's lock-free hash tables
 * (the stack trie and leaves in stacks.c, Python frames in python.c).
 *
 * A table starts small (1 MiB or less), mapped at start-up: its slots are
 * hashed over the whole generation, so each entry of a sparse one touches
 * a page of its own, and a big first generation would cost a small
 * program megabytes of RSS for a few thousand entries. When its newest
 * generation is three quarters full (or a probe window in it is), the thread that finds it so maps the next generation, GROWTH
 * times bigger, and publishes it with a release store of `top`; new
 * entries go there, and lookups try the generations, which stay as they
 * are: an entry never moves, and a table only finds ids that the trace
 * defines. After the last generation, or when mmap fails, the table is
 * final and the caller does without (and says so at exit).
 * MEMTAP_TABLE_GENERATIONS=1 keeps every table to its first generation:
 * the tests fill them so.
 *
 * The caller owns the slots' layout and probing; this file only maps
 * generations and decides when. Must not: allocate (but for mapping a
 * generation), lock, or call into the traced program.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/mman.h>

#include "mt_shim.h"

#define GROWTH 4

int mt_table_init(struct mt_table *tb, size_t slot_size, uint32_t slots)
{
    void *m = mt_map_aside(slots * slot_size, PROT_READ | PROT_WRITE);
    if (m == MAP_FAILED)
        return -1;
    tb->slot_size = slot_size;
    tb->gen[0] = (struct mt_generation){m, slots - 1, 0};
    return 0;
}

MT_COLD int mt_table_grow(struct mt_table *tb, uint32_t seen)
{
    for (int spin = 0; spin < 4096; spin++) {
        if (__atomic_load_n(&tb->top, __ATOMIC_ACQUIRE) != seen)
            return 1;
        if (__atomic_load_n(&tb->final, __ATOMIC_RELAXED))
            return 0;
        uint32_t idle = 0;
        if (__atomic_compare_exchange_n(&tb->growing, &idle, 1, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            if (__atomic_load_n(&tb->top, __ATOMIC_RELAXED) == seen) {
                size_t slots = ((size_t)tb->gen[seen].mask + 1) * GROWTH;
                void *m = seen + 1 < (uint32_t)mt_opt.table_generations
                              ? mt_map_aside(slots * tb->slot_size, PROT_READ | PROT_WRITE)
                              : MAP_FAILED;
                if (m == MAP_FAILED) {
                    __atomic_store_n(&tb->final, 1, __ATOMIC_RELAXED);
                } else {
                    tb->gen[seen + 1] = (struct mt_generation){m, (uint32_t)(slots - 1), 0};
                    __atomic_store_n(&tb->top, seen + 1, __ATOMIC_RELEASE);
                }
            }
            __atomic_store_n(&tb->growing, 0, __ATOMIC_RELEASE);
            continue;
        }
        if (spin < 64) /* another thread maps it: a few microseconds */
            __builtin_ia32_pause();
        else
            sched_yield();
    }
    return 0;
}
