/* aside.c - the shim's own mappings, out of the traced program's way.
 *
 * Left to the kernel, the shim's tables (tens of MiB) and the trace's
 * address space (64 GiB) land in the area the program's own mappings grow
 * down into, and split it: a pymalloc arena or malloc chunk mapped into a
 * hole above them sits tens of MiB (or 64 GiB) away from those mapped
 * below, and every address delta between the two takes a byte or three
 * more in the trace. On leaky.py one run in three wrote 5.90 bytes per event
 * instead of 4.65, as ASLR placed its arenas.
 *
 * So every mapping of the shim is asked for at a hint in a region of its
 * own: from a random GiB between 20 and 36 TiB, under that area (which starts
 * near 128 TiB), above a non-PIE program's heap (near 0) and below a PIE's
 * (near 85 TiB); also clear of the sanitizers' fixed regions (ASan's
 * shadow ends at 16 TiB, TSan's metadata starts at 48). A hint only: where
 * it is taken, or outside a smaller address space, the kernel picks as
 * before. Mappings follow one another from there (a lock-free bump of the
 * next hint).
 *
 * It also keeps the list of those mappings, so that a sample can say how
 * much of the process's RSS is memtap's own tables (mt_aside_resident).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "faults.h"
#include "mt_shim.h"

#define ASIDE_ALIGN (2ull << 20)

static uint64_t next_hint; /* 0: not chosen yet */

/* The readable mappings made here (not the trace's reservation, which the
 * writer accounts for), for mt_aside_resident. Never unmapped. */
#define MAX_MAPPINGS 1024
static struct {
    unsigned char *addr; /* published last: the entry is whole once set */
    size_t size;
} mappings[MAX_MAPPINGS];
static uint32_t nmappings;
static size_t page = 4096;

static void remember(void *m, size_t size)
{
    uint32_t i = __atomic_fetch_add(&nmappings, 1, __ATOMIC_RELAXED);
    if (i >= MAX_MAPPINGS)
        return; /* not counted: memtap's share reads low, never the program's */
    long ps = sysconf(_SC_PAGESIZE);
    if (ps > 0)
        page = (size_t)ps;
    mappings[i].size = size;
    __atomic_store_n(&mappings[i].addr, (unsigned char *)m, __ATOMIC_RELEASE);
}

static uint64_t first_hint(void)
{
    uint32_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() * 2654435761u;
    }
    return (20ull << 40) + (uint64_t)(r % (16u << 10)) * (1ull << 30);
}

void *mt_map_aside(size_t size, int prot)
{
    void *hint = NULL;
    if (sizeof(void *) == 8) {
        uint64_t step = ((uint64_t)size + ASIDE_ALIGN - 1) & ~(ASIDE_ALIGN - 1);
        uint64_t unset = 0;
        if (!__atomic_load_n(&next_hint, __ATOMIC_RELAXED)) /* first use: one thread wins */
            __atomic_compare_exchange_n(&next_hint, &unset, first_hint(), 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED);
        hint = (void *)(uintptr_t)(__atomic_fetch_add(&next_hint, step, __ATOMIC_RELAXED));
    }
    int fault = mt_fault(MT_FAULT_MMAP);
    if (fault) {
        errno = fault;
        return MAP_FAILED;
    }
    void *m = mmap(hint, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m != MAP_FAILED && prot != PROT_NONE)
        remember(m, size);
    return m;
}

/* Resident bytes of the mappings in [from, to) of the list (mincore, in
 * steps of a buffer on the stack). */
static uint64_t resident_of(uint32_t from, uint32_t to)
{
    unsigned char vec[1024];
    uint64_t bytes = 0;
    for (uint32_t i = from; i < to; i++) {
        unsigned char *m = __atomic_load_n(&mappings[i].addr, __ATOMIC_ACQUIRE);
        size_t size = mappings[i].size;
        for (size_t at = 0; m && at < size; at += sizeof vec * page) {
            size_t len = size - at < sizeof vec * page ? size - at : sizeof vec * page;
            if (mincore(m + at, len, vec) != 0)
                break;
            for (size_t k = 0; k < (len + page - 1) / page; k++)
                bytes += (vec[k] & 1) * page;
        }
    }
    return bytes;
}

uint64_t mt_aside_resident(void)
{
    uint32_t n = __atomic_load_n(&nmappings, __ATOMIC_ACQUIRE);
    return resident_of(0, n < MAX_MAPPINGS ? n : MAX_MAPPINGS);
}
