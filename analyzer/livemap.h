/* livemap.h - the allocations live at the current point of a trace, keyed
 * by address: what the loader holds in memory (and all it holds that grows
 * with the trace). Open addressing with backward-shift deletion: no
 * tombstones, so a long trace never degrades it. */
#ifndef MT_LIVEMAP_H
#define MT_LIVEMAP_H

#include <stddef.h>
#include <stdint.h>

struct mt_live {
    uint64_t addr; /* 0 = empty slot (no allocator returns NULL as a block) */
    uint64_t seq, ns, size;
    uint32_t stack, thread;
    uint8_t fn;
};

struct mt_livemap {
    struct mt_live *slots;
    size_t cap, count;
};

/* Inserts or replaces. If a live entry had the same address, it is copied
 * to *replaced and 1 is returned; 0 otherwise; -1 when out of memory. */
int mt_livemap_put(struct mt_livemap *m, const struct mt_live *e, struct mt_live *replaced);

/* Removes addr into *out. Returns 1 if found, 0 if not. */
int mt_livemap_take(struct mt_livemap *m, uint64_t addr, struct mt_live *out);

void mt_livemap_free(struct mt_livemap *m);

#endif
