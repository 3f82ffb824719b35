/* sequence.c - the global event sequence, cheap when one thread is busy.
 *
 * Every event takes the next number of one process-wide counter: that is
 * what orders a free in one thread before the allocation that reuses its
 * address in another, and what makes the heap peak exact. An atomic add
 * per event costs a full barrier on x86 (lock xadd): measured at 15-20% of
 * a traced Python run. So the counter is *owned* by one thread at a time
 * when it can be: the owner increments it with plain loads and stores, and
 * any other thread that needs a number first takes the ownership away.
 *
 * The states of mt_seq.owner:
 *   MT_SEQ_SHARED  every thread uses an atomic add (the old way);
 *   index + 1      that thread alone increments, non-atomically;
 *   MT_SEQ_MOVING  a thread is taking or giving back ownership: wait.
 *
 * Each thread brackets its touch of the counter with counters->busy = 1
 * ... = 0 (its own cache line; compiler barriers only). Whoever changes the
 * owner moves it to MOVING, then calls membarrier(PRIVATE_EXPEDITED), which
 * runs a full barrier on every CPU running one of our threads, then waits
 * for the busy flags that matter to drop. That is the asymmetric form of
 * Dekker's algorithm: the fast side pays nothing, the rare side pays a
 * system call. After it, no thread can still be inside an increment of the
 * old kind, and every number handed out so far is visible.
 *
 * A thread in shared mode that gets many numbers in a row with no other
 * thread in between (a single-threaded program, a Python thread holding
 * the GIL) asks for ownership. When ownership is taken away before it paid
 * for its membarriers, the run it takes to ask again doubles, so that truly
 * parallel threads settle in shared mode instead of passing ownership back
 * and forth. It halves again after a long ownership, and after a run in
 * shared mode long enough to have paid: without that, a burst of short
 * ownerships (threads starting) could leave it above the longest run the
 * program ever makes (a Python thread's GIL slice), in shared mode for good.
 *
 * Without membarrier (old kernel, seccomp), or with MEMTAP_OWNED_SEQUENCE=0,
 * ownership is never used.
 * Threads beyond the counter slots share a slot: their busy flags cannot be
 * told apart, so the first of them turns ownership off for good.
 */
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mt_shim.h"

struct mt_sequence mt_seq __attribute__((aligned(64)));

#define RUN_MIN 4096u       /* numbers in a row before asking to own */
#define RUN_MAX (1u << 24)
#define PAYS_OFF (2 * RUN_MIN) /* numbers an ownership must last to be worth it */

static struct {
    volatile int forbidden;  /* ownership is never given */
    uint32_t run_needed;     /* current run length to ask for ownership */
    uint64_t owned_at;       /* mt_seq.value when the current owner took it */
    uint64_t changes;        /* times a thread became the owner */
    char pad[64 - 2 * sizeof(int) - 2 * sizeof(uint64_t)];
} policy __attribute__((aligned(64))) = {.run_needed = RUN_MIN};

/* run_needed is changed by the thread that takes ownership back and by
 * threads in shared mode: relaxed atomics, a heuristic needs no more. */
static inline uint32_t run_needed(void)
{
    return __atomic_load_n(&policy.run_needed, __ATOMIC_RELAXED);
}

static inline void set_run_needed(uint32_t need)
{
    __atomic_store_n(&policy.run_needed, need, __ATOMIC_RELAXED);
}

static int barrier_all(void)
{
    return (int)syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

void mt_seq_init(void)
{
    mt_seq.value = 0;
    mt_seq.owner = MT_SEQ_SHARED;
    long have = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (!mt_opt.owned_sequence || have < 0 || !(have & MEMBARRIER_CMD_PRIVATE_EXPEDITED) ||
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0)
        policy.forbidden = 1;
}

void mt_seq_after_fork(void)
{
    /* The owner may be a thread the child does not have: shared mode, and
     * a fresh registration (the child is a new address space). */
    mt_seq.owner = MT_SEQ_SHARED;
    policy.run_needed = RUN_MIN;
    if (!policy.forbidden &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0)
        policy.forbidden = 1;
}

uint64_t mt_seq_owner_changes(void)
{
    return __atomic_load_n(&policy.changes, __ATOMIC_RELAXED);
}

void mt_seq_forbid_owner(void)
{
    __atomic_store_n(&policy.forbidden, 1, __ATOMIC_SEQ_CST);
}

static void wait_idle(const struct mt_counters *c)
{
    while (__atomic_load_n(&c->busy, __ATOMIC_ACQUIRE))
        __builtin_ia32_pause();
}

/* Takes the counter from its owner (owner: index + 1) back to shared. */
static MT_COLD void take_back(uint32_t owner)
{
    if (!__atomic_compare_exchange_n(&mt_seq.owner, &owner, MT_SEQ_MOVING, 0,
                                     __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        return; /* somebody else moved it first: the caller looks again */
    (void)barrier_all(); /* cannot fail: ownership is only given once registered */
    wait_idle(mt_counters_of(owner - 1));
    uint64_t held = __atomic_load_n(&mt_seq.value, __ATOMIC_ACQUIRE) - policy.owned_at;
    /* An ownership costs two membarriers (microseconds) and saves a few
     * nanoseconds per number: worth it when it lasts many thousands. One
     * that did not pay for itself makes asking harder; a long one, easier. */
    uint32_t need = run_needed();
    if (held < PAYS_OFF && need < RUN_MAX)
        set_run_needed(need * 2);
    else if (held > 8ull * need && need > RUN_MIN)
        set_run_needed(need / 2);
    __atomic_store_n(&mt_seq.owner, MT_SEQ_SHARED, __ATOMIC_RELEASE);
}

/* Makes thread t the owner; every other thread's increment in flight ends
 * first. t is not inside an increment itself. */
static MT_COLD void take_ownership(struct mt_thread *t)
{
    uint32_t shared = MT_SEQ_SHARED;
    if (__atomic_load_n(&policy.forbidden, __ATOMIC_RELAXED) ||
        !__atomic_compare_exchange_n(&mt_seq.owner, &shared, MT_SEQ_MOVING, 0,
                                     __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        return;
    if (barrier_all() != 0 || __atomic_load_n(&policy.forbidden, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&mt_seq.owner, MT_SEQ_SHARED, __ATOMIC_RELEASE);
        return;
    }
    uint32_t threads = mt_thread_count();
    for (uint32_t i = 0; i < threads; i++)
        if (i != t->index)
            wait_idle(mt_counters_of(i));
    policy.owned_at = __atomic_load_n(&mt_seq.value, __ATOMIC_ACQUIRE);
    policy.changes++;
    __atomic_store_n(&mt_seq.owner, t->index + 1, __ATOMIC_RELEASE);
}

static uint64_t seq_slow(struct mt_thread *t, uint32_t owner, uint64_t s)
{
    for (;;) {
        if (s) { /* shared mode: count the run of numbers in a row */
            if (s == t->last_seq + 1) {
                if (++t->seq_run >= run_needed()) {
                    t->seq_run = 0;
                    take_ownership(t);
                }
            } else {
                /* A run that would have paid for an ownership, though too
                 * short to ask for one: asking was made too hard (by a
                 * burst of short ownerships, say while threads started). */
                uint32_t need = run_needed();
                if (MT_UNLIKELY(t->seq_run >= PAYS_OFF) && need > RUN_MIN)
                    set_run_needed(need / 2);
                t->seq_run = 0;
            }
            return s;
        }
        if (owner == MT_SEQ_MOVING)
            sched_yield();
        else
            take_back(owner);
        s = mt_seq_try(t, &owner);
        if (owner == t->index + 1)
            return s;
    }
}

uint64_t mt_seq_slow(struct mt_thread *t, uint32_t owner, uint64_t s)
{
    int saved = errno; /* membarrier may fail; the hooks' callers see no change */
    s = seq_slow(t, owner, s);
    errno = saved;
    return s;
}
