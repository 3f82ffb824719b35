/* stacks.c - native stacks: capture with libunwind and intern them, so each
 * distinct stack costs the trace a few records once and every allocation
 * carries a single 32-bit id.
 *
 * Two lock-free open-addressing tables:
 *   leaves: 64-bit hash of a whole stack -> node id. The common case (a
 *           stack seen before) is one unwind, one hash and one probe.
 *   nodes:  (parent id, frame) -> node id, the trie the trace stores. Only
 *           walked when a stack is new.
 * A slot is claimed by CAS on its key and published by a release store of
 * its id; a reader that finds a claimed slot without an id yet moves on, so
 * two threads may create two ids for one (parent, frame): harmless, both
 * nodes describe the same frames.
 *
 * Both grow by generations (tables.c): the first ones are small (1 MiB and
 * 512 KiB, mapped at start-up), and a program with many stacks needs the
 * later ones: importing numpy on CPython 3.14 with --native makes 364k
 * nodes, and 2.6M when its modules are compiled from source. Lookups try
 * the newest generation first; a leaf found in an older one is copied into the newest, so a
 * stack in use is soon found at the first try again. After the last
 * generation, new stacks are cut at the deepest known prefix (the loss is
 * counted and reported at exit).
 *
 * A 64-bit hash may collide for two different stacks (odds near 1e-8 with a
 * million distinct stacks); the second would then be attributed to the first.
 *
 * Must not: allocate (but for mapping a generation), lock, or call into
 * the traced program.
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <errno.h>
#include <libunwind.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#include "mt_shim.h"

/* Table sizes bound the shim's memory: slots are hashed, so a generation's
 * pages get touched as it fills. First generations 1 MiB + 512 KiB (49k
 * nodes); with the later ones, 341 + 170 MiB at most (16.7M nodes). */
#define NODE_SLOTS (1u << 16)
#define LEAF_SLOTS (1u << 15)
#define PROBES 64
#define MAX_UNWIND 256

struct node_slot {
    uint64_t frame;
    uint32_t parent;
    uint32_t id;
};

struct leaf_slot {
    uint64_t hash;
    uint32_t id;
    uint32_t unused;
};

static struct mt_table node_table, leaf_table;
static uint32_t next_node_id;
static uint64_t stacks_cut; /* stacks shortened because a table was full */

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    return mt_stack_mix(h, v);
}

uint32_t mt_stacks_last_id(void)
{
    return __atomic_load_n(&next_node_id, __ATOMIC_RELAXED);
}

int mt_stacks_init(void)
{
    if (mt_table_init(&node_table, sizeof(struct node_slot), NODE_SLOTS) ||
        mt_table_init(&leaf_table, sizeof(struct leaf_slot), LEAF_SLOTS))
        return ENOMEM;
    if (mt_opt.native || mt_opt.native_fallback) {
        unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
        /* The first unwind initialises libunwind (it may allocate): do it
         * now, under the constructor's guard, not in the program's malloc. */
        void *warm[4];
        unw_backtrace(warm, 4);
        mt_unwind_init();
    }
    return 0;
}

/* A node's filler may wait for the loader's lock (mt_modules_update) that
 * the waiter holds: hence the bound. */
MT_COLD uint32_t mt_wait_published(const uint32_t *id_at)
{
    for (int spin = 0; spin < 4096; spin++) {
        uint32_t id = __atomic_load_n(id_at, __ATOMIC_ACQUIRE);
        if (id)
            return id;
        if (spin < 64)
            __builtin_ia32_pause();
        else
            sched_yield();
    }
    return 0;
}

/* (parent, frame) in an older generation, which takes no new entries but
 * from threads that had not yet seen the newer one; 0: not there. */
static uint32_t old_node(const struct mt_generation *g, uint32_t parent, uint64_t frame)
{
    const struct node_slot *nodes = g->slots;
    size_t i = mix(mix(0, parent), frame) & g->mask;
    for (int probe = 0; probe < PROBES; probe++, i = (i + 1) & g->mask) {
        uint32_t id = __atomic_load_n(&nodes[i].id, __ATOMIC_ACQUIRE);
        if (id && nodes[i].frame == frame && nodes[i].parent == parent)
            return id;
        if (!id && __atomic_load_n(&nodes[i].frame, __ATOMIC_RELAXED) == 0)
            return 0;
    }
    return 0;
}

/* (parent, frame) in the newest generation g, added if not there; 0: no
 * room in its probe window (the caller moves on to a newer generation). */
static uint32_t new_node(struct mt_thread *t, struct mt_generation *g, uint32_t parent,
                         uint64_t frame)
{
    struct node_slot *nodes = g->slots;
    size_t i = mix(mix(0, parent), frame) & g->mask;
    for (int probe = 0; probe < PROBES; probe++, i = (i + 1) & g->mask) {
        struct node_slot *s = &nodes[i];
        uint32_t id = __atomic_load_n(&s->id, __ATOMIC_ACQUIRE);
        if (id) {
            if (s->frame == frame && s->parent == parent)
                return id;
            continue;
        }
        uint64_t expect = __atomic_load_n(&s->frame, __ATOMIC_RELAXED);
        if (expect != 0 ||
            !__atomic_compare_exchange_n(&s->frame, &expect, frame, 0, __ATOMIC_ACQ_REL,
                                         __ATOMIC_RELAXED)) {
            /* Being filled by another thread: with this very node, maybe
             * (two threads meeting a new stack at once). */
            if (expect == frame) {
                uint32_t other = mt_wait_published(&s->id);
                if (other && __atomic_load_n(&s->parent, __ATOMIC_RELAXED) == parent)
                    return other;
            }
            continue;
        }
        __atomic_store_n(&s->parent, parent, __ATOMIC_RELAXED);
        __atomic_fetch_add(&g->count, 1, __ATOMIC_RELAXED);
        uint32_t nid = __atomic_add_fetch(&next_node_id, 1, __ATOMIC_RELAXED);
        /* Written before the id is published: no record can use an id whose
         * definition is not already in some segment. */
        mt_record_stack_node(t, nid, parent, frame);
        mt_modules_update(t); /* a new frame may be in a newly loaded object */
        __atomic_store_n(&s->id, nid, __ATOMIC_RELEASE);
        return nid;
    }
    return 0;
}

static MT_COLD uint32_t intern_node(struct mt_thread *t, uint32_t parent, uint64_t frame)
{
    for (;;) {
        uint32_t top = mt_table_top(&node_table);
        for (uint32_t k = 0; k < top; k++) {
            uint32_t id = old_node(&node_table.gen[k], parent, frame);
            if (id)
                return id;
        }
        struct mt_generation *g = &node_table.gen[top];
        uint32_t id = mt_generation_full(g) ? 0 : new_node(t, g, parent, frame);
        if (id)
            return id;
        if (!mt_table_grow(&node_table, top)) /* full, or its probe window is */
            break;
    }
    __atomic_fetch_add(&stacks_cut, 1, __ATOMIC_RELAXED);
    return parent;
}

/* A small per-thread cache in front of the leaves (mt_stack_lookup, inline
 * in mt_shim.h): a thread allocating in a loop asks for the same few stacks
 * again and again, and the shared table is too big to stay in cache.
 * Entries are written only by their own thread. */
__thread struct mt_stack_cache_entry mt_stack_cache[MT_STACK_CACHE]
    __attribute__((tls_model("initial-exec")));

static uint32_t leaf_in(const struct mt_generation *g, uint64_t hash)
{
    const struct leaf_slot *leaves = g->slots;
    size_t i = hash & g->mask;
    for (int probe = 0; probe < PROBES; probe++, i = (i + 1) & g->mask) {
        uint64_t h = __atomic_load_n(&leaves[i].hash, __ATOMIC_ACQUIRE);
        if (h == hash)
            return __atomic_load_n(&leaves[i].id, __ATOMIC_ACQUIRE);
        if (h == 0)
            break;
    }
    return 0; /* unknown, or being published */
}

/* Adds hash -> id to the newest leaf generation (growing it when full);
 * nothing when there is no room. */
static void add_leaf(uint64_t hash, uint32_t id)
{
    for (;;) {
        uint32_t top = mt_table_top(&leaf_table);
        struct mt_generation *g = &leaf_table.gen[top];
        struct leaf_slot *leaves = g->slots;
        size_t i = hash & g->mask;
        for (int probe = 0; !mt_generation_full(g) && probe < PROBES;
             probe++, i = (i + 1) & g->mask) {
            uint64_t expect = 0;
            if (__atomic_compare_exchange_n(&leaves[i].hash, &expect, hash, 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED)) {
                __atomic_store_n(&leaves[i].id, id, __ATOMIC_RELEASE);
                __atomic_fetch_add(&g->count, 1, __ATOMIC_RELAXED);
                return;
            }
            if (expect == hash)
                return; /* another thread just added it */
        }
        if (!mt_table_grow(&leaf_table, top)) /* full, or its probe window is */
            return;
    }
}

static uint32_t shared_lookup(uint64_t hash)
{
    uint32_t top = mt_table_top(&leaf_table);
    uint32_t id = leaf_in(&leaf_table.gen[top], hash);
    for (uint32_t k = top; !id && k-- > 0;) {
        id = leaf_in(&leaf_table.gen[k], hash);
        if (id)
            add_leaf(hash, id); /* found at the first try from now on */
    }
    return id; /* 0: unknown, or being published: the caller interns again */
}

uint32_t mt_stack_find(uint64_t hash)
{
    return shared_lookup(hash);
}

uint32_t mt_stack_lookup_shared(uint64_t hash)
{
    uint32_t id = shared_lookup(hash);
    if (id) {
        struct mt_stack_cache_entry *e = &mt_stack_cache[mt_stack_cache_slot(hash)];
        e->hash = hash;
        e->id = id;
    }
    return id;
}

MT_COLD uint32_t mt_stack_intern(struct mt_thread *t, const uint64_t *frames, int n,
                                 uint64_t hash)
{
    uint32_t id = 0;
    for (int k = n - 1; k >= 0; k--) /* from the root down to the leaf */
        id = intern_node(t, id, frames[k]);
    add_leaf(hash, id);
    return id;
}

static MT_ALWAYS_INLINE int skip_own(void **ips, int n)
{
    int skip = 0;
    while (skip < n && (uintptr_t)ips[skip] >= mt_self_text_lo &&
           (uintptr_t)ips[skip] < mt_self_text_hi)
        skip++; /* our own frames: the hooks and this function */
    return skip;
}

/* MEMTAP_UNWIND_CHECK: libunwind's walk of the same stack, compared. A
 * walk that hit `want` was cut, at a different frame for each (libunwind's
 * count includes the shim's frames): then only the shorter must match. */
static MT_COLD void check_walk(void **ips, int n, int want)
{
    void *theirs[MAX_UNWIND];
    int m = unw_backtrace(theirs, want);
    int a = skip_own(ips, n), b = skip_own(theirs, m);
    int ours = n - a, libunwinds = m - b;
    int same = n == want || m == want ? (ours < libunwinds ? ours : libunwinds)
                                      : (ours == libunwinds ? ours : -1);
    if (same < 0 || memcmp(ips + a, theirs + b, (size_t)same * sizeof *ips) != 0)
        mt_unwind_disagreed();
}

static inline int want_for(int max)
{
    return max + 4 < MAX_UNWIND ? max + 4 : MAX_UNWIND; /* room for the shim's frames */
}

int mt_native_frames(const struct mt_regs *from, uint64_t *out, int max)
{
    void *ips[MAX_UNWIND];
    int want = want_for(max);
    int n = mt_unwind_fast(from, ips, want);
    if (MT_UNLIKELY(n < 0))
        n = unw_backtrace(ips, want);
    else if (MT_UNLIKELY(mt_opt.unwind_check))
        check_walk(ips, n, want);
    int m = 0;
    for (int k = skip_own(ips, n); k < n && m < max; k++)
        out[m++] = (uint64_t)(uintptr_t)ips[k];
    return m;
}

uint64_t mt_native_key(const struct mt_regs *from, int max)
{
    uint64_t key = mt_unwind_key(from, want_for(max));
    /* The frames are the shim's own and then those mt_native_frames gives:
     * the key, a hash of them all, determines those. Mixed with a constant
     * of its own, apart from frame hashes. */
    return key ? ((key ^ 0x4E4154u) * 0x9E3779B97F4A7C15ull) | 1 : 0;
}

static uint64_t keys_checked; /* MEMTAP_UNWIND_CHECK: hits checked against find */

uint64_t mt_stack_keys_checked(void)
{
    return __atomic_load_n(&keys_checked, __ATOMIC_RELAXED);
}

uint32_t mt_stack_cached_miss(uint64_t key, mt_stack_finder find, struct mt_thread *t,
                              const void *arg)
{
    struct mt_stack_cache_entry *e = &mt_stack_cache[mt_stack_cache_slot(key)];
    uint64_t hash = 0;
    uint64_t kept = mt_opt.unwind_check ? MT_KEY_TO_CHECK(key) : key;
    if (key && e->hash == kept) { /* a hit, to check (MEMTAP_UNWIND_CHECK) */
        __atomic_fetch_add(&keys_checked, 1, __ATOMIC_RELAXED);
        (void)find(t, arg, 1, &hash);
        if ((uint32_t)hash != e->checked) /* the key named other frames */
            mt_unwind_disagreed();
        return e->id;
    }
    uint32_t id = find(t, arg, key != 0, &hash);
    if (key) {
        e->hash = kept;
        e->id = id;
        e->checked = (uint32_t)hash;
    }
    return id;
}

/* How many frames a native stack keeps: the key and the frames it names
 * must be taken to the same depth. */
static inline int native_depth(void)
{
    return mt_opt.max_depth < MAX_UNWIND ? mt_opt.max_depth : MAX_UNWIND;
}

static uint32_t native_stack_of(struct mt_thread *t, const void *from, int keyed,
                                uint64_t *hash_out)
{
    int saved = errno; /* libunwind, a new frame's module */
    uint64_t frames[MAX_UNWIND];
    int n = mt_native_frames(from, frames, native_depth());
    *hash_out = 0;
    uint32_t id = 0;
    if (n > 0) {
        uint64_t hash = mt_stack_hash(frames, n);
        *hash_out = hash;
        id = mt_stack_known(hash, keyed);
        if (!id)
            id = mt_stack_intern(t, frames, n, hash);
    }
    errno = saved;
    return id;
}

int mt_native_function_holding(uintptr_t at, uintptr_t *lo, uintptr_t *hi)
{
    unw_context_t context;
    unw_cursor_t cursor;
    if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0)
        return -1;
    unw_word_t sp;
    if (unw_get_reg(&cursor, UNW_REG_SP, &sp) != 0)
        return -1;
    for (int depth = 0; depth < MAX_UNWIND; depth++) {
        /* This frame runs from its stack pointer up to its caller's. */
        unw_proc_info_t info;
        int have_info = unw_get_proc_info(&cursor, &info) == 0;
        unw_word_t caller_sp;
        if (unw_step(&cursor) <= 0 || unw_get_reg(&cursor, UNW_REG_SP, &caller_sp) != 0)
            return -1;
        if (at >= sp && at < caller_sp) {
            if (!have_info || info.start_ip >= info.end_ip)
                return -1;
            *lo = info.start_ip;
            *hi = info.end_ip;
            return 0;
        }
        sp = caller_sp;
    }
    return -1;
}

uint32_t mt_stack_capture(struct mt_thread *t, const struct mt_regs *from)
{
    return mt_stack_cached(mt_native_key(from, native_depth()), native_stack_of, t, from);
}

uint64_t mt_stacks_cut(void)
{
    return __atomic_load_n(&stacks_cut, __ATOMIC_RELAXED);
}
