/* unwind.c - a fast native stack walker for the common case, with
 * libunwind as the fallback for everything else.
 *
 * Why: with native stacks on, libunwind's unw_backtrace was three quarters
 * of memtap's overhead on a malloc-heavy C program (about 100 ns a call:
 * most of it is setting up a full cursor, not stepping). What a step needs
 * on x86-64 is small: where the caller's frame starts (the CFA, rsp or rbp
 * plus a constant), the return address just below it, and where rbp was
 * saved, if it was. eh_frame.c reads those three facts for an instruction
 * from the object's .eh_frame; this file keeps them in a table keyed by
 * instruction address, and walks with plain loads after that.
 *
 * Anything it does not understand makes the whole walk fall back to
 * unw_backtrace, so the stacks are libunwind's in every case: a CFA given
 * by an expression or by another register (stack realignment), a signal
 * frame, a return-address or rbp rule other than "saved at CFA+n", code
 * with no unwind table (JIT, hand-written assembly), an unusual table
 * encoding. MEMTAP_UNWIND_CHECK=1 runs both walkers on every stack and
 * counts disagreements (reported with MEMTAP_DEBUG=1); the tests use it.
 *
 * Memory: one fixed table of rules, mapped at start-up; a full table only
 * means rules are computed again. dlclose empties it (mt_unwind_forget).
 * Lock-free: a slot is claimed by CAS on its address and published by a
 * release store of its rule.
 *
 * The walk is a chain of dependent loads (return address, then its rule,
 * then the next frame), so each frame costs a rule lookup's latency. Most
 * of a stack is the same as the thread's previous one, though: its callers'
 * frames stay where they are while they wait. So each thread remembers its
 * last walk (a memo: every step's starting state and rule). When a new walk
 * reaches a state the memo holds (same stack pointer, same address, same
 * frame pointer if the rest depends on it), the rest of the walk is a pure
 * function of the stack words it would read; if those words are unchanged
 * (independent loads, checked in one pass), the rest of the memo is the
 * rest of the walk. Memos come from a fixed pool, one per live thread that
 * unwinds, given back at thread exit; a thread without one walks in full.
 * The memo also keeps, for each step, a hash of the addresses from there to
 * the root, so that a walk that ends in the memo has a key for its whole
 * stack for the price of its fresh frames (stacks.c caches ids by it).
 *
 * Must not: allocate, lock, or call into the traced program.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "mt_shim.h"

#if defined(__x86_64__) && defined(DLFO_EH_SEGMENT_TYPE)
#define MT_FAST_UNWIND 1
#endif

/* Totals for MEMTAP_DEBUG (counted only then). */
static uint64_t walks_fast, walks_fallback, walks_disagree, walks_joined;

#ifdef MT_FAST_UNWIND

#define RULE_BP_USED (1u << 10) /* memo only: the walk from here reads its entry rbp */

#define RULE_SLOTS (1u << 15) /* 512 KiB; most programs use a few hundred */
#define RULE_PROBES 16

struct rule_slot {
    uint64_t ip;
    uint64_t rule;
};
static struct rule_slot *rules;

/* ---- the rule table --------------------------------------------------------- */

static inline size_t rule_slot_of(uint64_t ip)
{
    return (size_t)((ip * 0x9E3779B97F4A7C15ull) >> 49) & (RULE_SLOTS - 1);
}

static MT_COLD uint64_t rule_miss(uint64_t ip)
{
    uint64_t rule = mt_eh_frame_rule(ip);
    size_t i = rule_slot_of(ip);
    for (int probe = 0; probe < RULE_PROBES; probe++, i = (i + 1) & (RULE_SLOTS - 1)) {
        uint64_t expect = 0;
        if (__atomic_compare_exchange_n(&rules[i].ip, &expect, ip, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            __atomic_store_n(&rules[i].rule, rule, __ATOMIC_RELEASE);
            break;
        }
        if (expect == ip)
            break;
    }
    return rule;
}

static inline uint64_t rule_for(uint64_t ip)
{
    size_t i = rule_slot_of(ip);
    for (int probe = 0; probe < RULE_PROBES; probe++, i = (i + 1) & (RULE_SLOTS - 1)) {
        uint64_t key = __atomic_load_n(&rules[i].ip, __ATOMIC_ACQUIRE);
        if (key == ip) {
            uint64_t rule = __atomic_load_n(&rules[i].rule, __ATOMIC_ACQUIRE);
            if (MT_LIKELY(rule))
                return rule;
            break;
        }
        if (key == 0)
            break;
    }
    return rule_miss(ip);
}

/* ---- the memo of each thread's last walk ---------------------------------- */

#define MEMO_STEPS 260 /* MAX_UNWIND return addresses, the final step, margin */
#define MEMO_POOL 256  /* threads with a memo at once */
#define NEAR_SLOTS 128 /* 2 KiB: stays in the core's cache, unlike the table */

struct memo_step {
    uint64_t sp, bp, lookup; /* the state the step started from */
    uint64_t rule;           /* its rule, plus RULE_BP_USED */
    uint64_t key;            /* hash of the addresses from here out, outermost first */
};

/* The stack words a step read, and what they held: the return address
 * (0 for the final step; a constant zero word when the final step read
 * nothing), and the saved rbp (bp_at 0: none read, or no later step
 * depends on it). */
struct memo_check {
    uint64_t ra_at, ra_was, bp_at, bp_was;
};

struct walk_memo {
    uint32_t steps; /* of the remembered walk; 0 = none */
    uint32_t epoch; /* rules_epoch when it was made */
    struct memo_step by_height[MEMO_STEPS]; /* [0] is its final (outermost) step */
    struct memo_check checks[MEMO_STEPS];   /* by height too */
    struct memo_step scratch[MEMO_STEPS];   /* the walk under way, innermost first */
    struct memo_check scratch_checks[MEMO_STEPS];
    struct rule_slot near[NEAR_SLOTS];      /* rules this thread used lately */
};

#define MEMO_NONE ((struct walk_memo *)1)
static struct walk_memo *memo_pool;
static uint8_t memo_taken[MEMO_POOL];
static pthread_key_t memo_key;
static uint32_t rules_epoch; /* moved on when the rules are dropped */
static __thread struct walk_memo *my_memo __attribute__((tls_model("initial-exec")));

/* The thread exits: its memo goes back to the pool, and it takes no other. */
static void memo_release(void *slot)
{
    my_memo = MEMO_NONE;
    __atomic_store_n(&memo_taken[(struct walk_memo *)slot - memo_pool], 0, __ATOMIC_RELEASE);
}

static MT_COLD struct walk_memo *memo_claim(void)
{
    my_memo = MEMO_NONE; /* also when the pool is empty: no second search */
    for (int i = 0; memo_pool && i < MEMO_POOL; i++) {
        uint8_t expect = 0;
        if (__atomic_load_n(&memo_taken[i], __ATOMIC_RELAXED) ||
            !__atomic_compare_exchange_n(&memo_taken[i], &expect, 1, 0, __ATOMIC_ACQUIRE,
                                         __ATOMIC_RELAXED))
            continue;
        struct walk_memo *m = &memo_pool[i];
        m->steps = 0; /* its rules (near) stay: they hold for any thread */
        if (pthread_setspecific(memo_key, m) != 0) {
            __atomic_store_n(&memo_taken[i], 0, __ATOMIC_RELEASE);
            return NULL;
        }
        my_memo = m;
        return m;
    }
    return NULL;
}

static inline struct walk_memo *memo_of_thread(void)
{
    struct walk_memo *m = my_memo;
    if (MT_UNLIKELY(!m))
        m = memo_claim();
    else if (m == MEMO_NONE)
        return NULL;
    if (m) {
        uint32_t epoch = __atomic_load_n(&rules_epoch, __ATOMIC_ACQUIRE);
        if (MT_UNLIKELY(m->epoch != epoch)) {
            m->steps = 0;
            memset(m->near, 0, sizeof m->near);
            m->epoch = epoch;
        }
    }
    return m;
}

static inline const uint64_t *stack_word(uint64_t address)
{
    return (const uint64_t *)(uintptr_t)address;
}

/* rule_for through the thread's own small direct-mapped cache. */
static inline uint64_t near_rule_for(struct walk_memo *m, uint64_t ip)
{
    if (!m)
        return rule_for(ip);
    struct rule_slot *s = &m->near[(ip ^ (ip >> 7) ^ (ip >> 14)) & (NEAR_SLOTS - 1)];
    if (MT_LIKELY(s->ip == ip))
        return s->rule;
    uint64_t rule = rule_for(ip);
    s->ip = ip;
    s->rule = rule;
    return rule;
}

static const uint64_t zero_word;

/* Whether the stack words the remembered steps from height h outwards read
 * still hold what they held. Checked in the walk's own order, stopping at
 * the first difference, so that no word is read that a walk of the present
 * stack would not read. */
static inline int memo_holds(const struct walk_memo *m, int h)
{
    for (const struct memo_check *c = &m->checks[h]; c >= m->checks; c--) {
        if (*stack_word(c->ra_at) != c->ra_was || (c->bp_at && *stack_word(c->bp_at) != c->bp_was))
            return 0;
    }
    return 1;
}

#define KEY_SEED 0x57414C4Bu

/* Makes the walk just done the memo: its first `fresh` steps (in scratch;
 * step s returned out[s], but for a final step) on top of the remembered
 * steps from height `base` outwards (-1: none; the fresh steps are the
 * whole walk). Returns the key of the whole walk, or 0. */
static inline uint64_t memo_store(struct walk_memo *m, int fresh, int base, void *const *out)
{
    if (base + 1 + fresh > MEMO_STEPS)
        return 0; /* the old memo stays: still a true record of a past walk */
    if (fresh == 0 && base >= 0) { /* the walk began in the memo: its steps below base go */
        m->steps = (uint32_t)(base + 1);
        return m->by_height[base].key;
    }
    int used = 0;
    uint64_t key = KEY_SEED;
    if (base >= 0) {
        used = (m->by_height[base].rule & RULE_BP_USED) != 0;
        key = m->by_height[base].key;
    }
    for (int s = fresh - 1; s >= 0; s--) {
        struct memo_step step = m->scratch[s];
        struct memo_check check = m->scratch_checks[s];
        if (!used) /* the steps after this one never read the rbp it loads */
            check.bp_at = 0;
        step.rule &= ~(uint64_t)RULE_BP_USED;
        used = (step.rule & MT_RULE_CFA_BP) || (!(step.rule & MT_RULE_BP_SAVED) && used);
        if (used)
            step.rule |= RULE_BP_USED;
        int height = base + fresh - s;
        if (height > 0) /* not the final step: it returned out[s] */
            key = mt_stack_mix(key, (uint64_t)(uintptr_t)out[s]);
        step.key = key;
        m->by_height[height] = step;
        m->checks[height] = check;
    }
    m->steps = (uint32_t)(base + 1 + fresh);
    return key;
}

/* The walk, from registers taken in a function still running (its rule is
 * in the table like any other), so out[0] is that function's return
 * address. Returns the number of addresses, or -1: fall back. m: the
 * thread's memo, or NULL; *key: the walk's key, or 0 (no memo, cut short).
 * key_only: out needs nothing past the fresh frames when the walk ends in
 * the memo (the return value then only says it did not fail). */
static MT_ALWAYS_INLINE int
fast_walk(const struct mt_regs *from, void **out, int max, struct walk_memo *m, uint64_t *key,
          int key_only)
{
    *key = 0;
    uint64_t ip = from->ip, sp = from->sp, bp = from->bp;
    int n = 0;
    uint64_t lookup = ip; /* later frames: the call, one byte before the return */
    int h = m ? (int)m->steps - 1 : -1; /* the remembered step nearest below sp */
    while (n < max) {
        while (h >= 0 && m->by_height[h].sp < sp)
            h--;
        if (h >= 0 && m->by_height[h].sp == sp && m->by_height[h].lookup == lookup &&
            (m->by_height[h].bp == bp || !(m->by_height[h].rule & RULE_BP_USED)) &&
            memo_holds(m, h)) {
            int fresh = n;
            if (!key_only)
                for (int k = h - 1; k >= 0 && n < max; k--)
                    out[n++] = (void *)(uintptr_t)(m->by_height[k].lookup + 1);
            uint64_t whole = memo_store(m, fresh, h, out);
            if (fresh + h < max) /* not cut short */
                *key = whole;
            if (mt_opt.debug)
                __atomic_fetch_add(&walks_joined, 1, __ATOMIC_RELAXED);
            return n;
        }
        uint64_t rule = near_rule_for(m, lookup);
        unsigned kind = mt_rule_kind(rule);
        if (m)
            m->scratch[n] = (struct memo_step){sp, bp, lookup, rule, 0};
        if (kind == MT_RULE_END) {
            if (m) {
                m->scratch_checks[n] = (struct memo_check){(uintptr_t)&zero_word, 0, 0, 0};
                *key = memo_store(m, n + 1, -1, out);
            }
            return n;
        }
        if (MT_UNLIKELY(kind != MT_RULE_STEP))
            return -1;
        uint64_t cfa = ((rule & MT_RULE_CFA_BP) ? bp : sp) + (uint64_t)(int64_t)mt_rule_cfa_off(rule);
        if (MT_UNLIKELY(cfa <= sp || cfa - sp > (1u << 26)))
            return -1; /* not a sane frame: let libunwind judge */
        uint64_t bp_at = 0;
        if (rule & MT_RULE_BP_SAVED) {
            bp_at = cfa + (uint64_t)(int64_t)mt_rule_bp_off(rule);
            bp = *stack_word(bp_at);
        }
        ip = *stack_word(cfa - 8);
        sp = cfa;
        if (m)
            m->scratch_checks[n] = (struct memo_check){cfa - 8, ip, bp_at, bp};
        if (ip == 0) {
            if (m)
                *key = memo_store(m, n + 1, -1, out);
            return n;
        }
        out[n++] = (void *)(uintptr_t)ip;
        lookup = ip - 1;
    }
    return n;
}

#endif /* MT_FAST_UNWIND */

void mt_unwind_init(void)
{
#ifdef MT_FAST_UNWIND
    if (!mt_opt.fast_unwind)
        return;
    void *m = mt_map_aside(RULE_SLOTS * sizeof *rules, PROT_READ | PROT_WRITE);
    if (m == MAP_FAILED)
        return; /* libunwind alone */
    rules = m;
    void *pool = mt_map_aside(MEMO_POOL * sizeof *memo_pool, PROT_READ | PROT_WRITE);
    if (pool != MAP_FAILED && pthread_key_create(&memo_key, memo_release) == 0)
        memo_pool = pool; /* else no memos: every walk in full */
    void *warm[8];
    struct mt_regs here;
    MT_REGS_HERE(here);
    (void)mt_unwind_fast(&here, warm, 8);
#endif
}

int mt_unwind_fast(const struct mt_regs *from, void **out, int max)
{
#ifdef MT_FAST_UNWIND
    if (!rules)
        return -1;
    uint64_t key; /* mt_unwind_key's business */
    int n = fast_walk(from, out, max, memo_of_thread(), &key, 0);
    if (mt_opt.debug)
        __atomic_fetch_add(n < 0 ? &walks_fallback : &walks_fast, 1, __ATOMIC_RELAXED);
    return n;
#else
    (void)from;
    (void)out;
    (void)max;
    return -1;
#endif
}

uint64_t mt_unwind_key(const struct mt_regs *from, int max)
{
    uint64_t key = 0;
#ifdef MT_FAST_UNWIND
    struct walk_memo *m = rules ? memo_of_thread() : NULL;
    if (m) {
        void *addresses[MEMO_STEPS]; /* only those of the fresh frames, if it ends in the memo */
        int n = fast_walk(from, addresses, max < MEMO_STEPS ? max : MEMO_STEPS, m, &key, 1);
        if (n < 0)
            key = 0;
        if (mt_opt.debug)
            __atomic_fetch_add(n < 0 ? &walks_fallback : &walks_fast, 1, __ATOMIC_RELAXED);
    }
#else
    (void)from;
    (void)max;
#endif
    return key;
}

void mt_unwind_forget(void)
{
#ifdef MT_FAST_UNWIND
    /* A walk racing with this reads a slot's address, then its rule: it
     * finds the old rule, or none (and computes it again). The old one can
     * only be wrong for code loaded after the unload, which this runs
     * before, in the unloading thread, unless another thread loads code in
     * the instants between the unmapping and this loop. */
    if (!rules)
        return;
    for (size_t i = 0; i < RULE_SLOTS; i++) {
        __atomic_store_n(&rules[i].rule, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&rules[i].ip, 0, __ATOMIC_RELEASE);
    }
    __atomic_fetch_add(&rules_epoch, 1, __ATOMIC_RELEASE); /* and every memo */
#endif
}

void mt_unwind_disagreed(void)
{
    __atomic_fetch_add(&walks_disagree, 1, __ATOMIC_RELAXED);
}

void mt_unwind_counts(uint64_t *fast, uint64_t *joined, uint64_t *fallback, uint64_t *disagree)
{
    *fast = __atomic_load_n(&walks_fast, __ATOMIC_RELAXED);
    *joined = __atomic_load_n(&walks_joined, __ATOMIC_RELAXED);
    *fallback = __atomic_load_n(&walks_fallback, __ATOMIC_RELAXED);
    *disagree = __atomic_load_n(&walks_disagree, __ATOMIC_RELAXED);
}
