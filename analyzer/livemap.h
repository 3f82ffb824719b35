/* livemap.h - the allocations live at the current point of a trace, keyed
 * by address: what the loader holds in memory (and all it holds that grows
 * with the trace). Open addressing with backward-shift deletion: no
 * tombstones, so a long trace never degrades it. */
#ifndef MT_LIVEMAP_H
#define MT_LIVEMAP_H

#include <stddef.h>
#include <stdint.h>

/* 32 bytes, two to a cache line: the table is read at random. An
 * allocation's time is not here: the loader finds it from its seq. */
struct mt_live {
    uint64_t addr; /* 0 = empty slot (no allocator returns NULL as a block) */
    uint64_t seq;
    uint64_t size : 56; /* requested bytes (no allocation reaches 2^56) */
    uint64_t fn : 8;    /* enum mt_alloc_fn */
    uint32_t stack, thread;
};
_Static_assert(sizeof(struct mt_live) == 32, "a live entry is 32 bytes");

struct mt_livemap {
    struct mt_live *slots;
    size_t cap, count;
};

/* Inserts or replaces. If a live entry had the same address, it is copied
 * to *replaced and 1 is returned; 0 otherwise; -1 when out of memory. */
int mt_livemap_put(struct mt_livemap *m, const struct mt_live *e, struct mt_live *replaced);

/* Removes addr into *out. Returns 1 if found, 0 if not. */
int mt_livemap_take(struct mt_livemap *m, uint64_t addr, struct mt_live *out);

/* Asks the CPU to bring addr's slot into the cache: a look-up is a cache
 * miss, and the loader knows the addresses of the next events before it
 * needs their slots. */
void mt_livemap_prefetch(const struct mt_livemap *m, uint64_t addr);

void mt_livemap_free(struct mt_livemap *m);

#endif
