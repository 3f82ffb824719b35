/* mt_shim.h - the contract between the files of libmemtap.so.
 *
 * interpose.c  the malloc-family entry points and the real allocators
 * lifecycle.c  start-up (constructor), fork and exit handling
 * options.c    the one table of MEMTAP_* environment options
 * writer.c     the memory-mapped trace file: segments and records
 * aside.c      the shim's own mappings, out of the program's way
 * record.h     the records of every event (allocation, free), inline
 * stacks.c     native stack capture (libunwind) and lock-free interning
 * tables.c     growth by generations for the lock-free hash tables
 * unwind.c     the fast native walker: rule table, per-thread memo
 * eh_frame.c   the unwind rule of an instruction, from .eh_frame
 * modules.c    the module map (loaded objects, load address, build-id)
 * api.c        the public API of include/memtap.h
 * sampler.c    the background sampler thread and the snapshot signal
 * sequence.c   the global event sequence (owned by one thread when it can)
 * trace_file.c which file a process's trace goes to (process trees)
 * children.c   how the children ended: the wait family
 * exec.c       the trace of a process that execs another program
 * py_stats.c   sys._debugmallocstats() as without memtap
 * sampling.c   sampling by bytes: which allocations are recorded, and the
 *              set of live recorded blocks (sampling.h, inline in hooks)
 * windows.c    recording windows: switched by the program, a signal, the clock
 * faults.c     fault injection, in the test build only (faults.h)
 *
 * Nothing here is exported from the library (-fvisibility=hidden plus the
 * version script); only the interposed functions and the public API are.
 * Everything reachable from an allocation must be async-signal-safe in
 * spirit: no locks held across calls, no malloc, no stdio. One exception,
 * off the common path: a change to the sampled blocks' set (a recorded
 * block, one per SIZE allocated) takes a spinlock, and may map a larger
 * table under it; a signal handler's allocation on that thread passes
 * through (the guard) and never waits for it.
 */
#ifndef MT_SHIM_H
#define MT_SHIM_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mt_trace_format.h"

#define MT_LIKELY(x) __builtin_expect(!!(x), 1)
#define MT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MT_COLD __attribute__((noinline, cold))
#define MT_ALWAYS_INLINE inline __attribute__((always_inline))

/* ---- options.c -------------------------------------------------------- */

struct mt_options {
    const char *output;   /* MEMTAP_OUTPUT: trace path; NULL = do not trace */
    uint64_t session;     /* MEMTAP_SESSION: nonce of this launcher run */
    long root_pid;        /* MEMTAP_ROOT_PID: the run's first process */
    int children;         /* MEMTAP_CHILDREN: trace the other processes too */
    int native;           /* MEMTAP_NATIVE: 1 native stacks, 0 none, -1 auto */
    int native_fallback;  /* auto in Python: native stacks where no Python frame runs */
    int pymalloc_arenas;  /* MEMTAP_PYMALLOC_ARENAS: CPython's small blocks as arenas */
    int max_depth;        /* MEMTAP_DEPTH: frames per stack */
    int sample_ms;        /* MEMTAP_SAMPLE_MS: time/RSS sample interval, 0 off */
    int snapshot_signal;  /* MEMTAP_SNAPSHOT_SIGNAL: signal that takes a snapshot */
    int owned_sequence;   /* MEMTAP_OWNED_SEQUENCE: 0 = always atomic (sequence.c) */
    int debug;            /* MEMTAP_DEBUG: internal counters on stderr at exit */
    int fast_unwind;      /* MEMTAP_FAST_UNWIND: 0 = libunwind for every stack */
    int unwind_check;     /* MEMTAP_UNWIND_CHECK: both walkers, count disagreements */
    int table_generations; /* MEMTAP_TABLE_GENERATIONS: at most MT_GENERATIONS (tests: 1) */
    uint64_t sample_rate;  /* MEMTAP_SAMPLE_RATE: bytes, mean distance between records; 0 all */
    uint64_t sample_seed;  /* MEMTAP_SAMPLE_SEED: the sampler's seed, 0 from the clock */
    int paused;            /* MEMTAP_PAUSED: start with recording off (windows.c) */
    int window_signal;     /* MEMTAP_WINDOW_SIGNAL: the signal that switches recording */
    long start_after_ms;   /* MEMTAP_START_AFTER_MS: recording on this long after start */
    long stop_after_ms;    /* MEMTAP_STOP_AFTER_MS: and off this long after start */
};
extern struct mt_options mt_opt;

/* Reads the environment once; call before any other thread exists. */
void mt_options_load(void);

/* ---- interpose.c ------------------------------------------------------ */

struct mt_real {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
    int (*dlclose)(void *);
    void (*exit_now)(int); /* _exit */
    void (*exit)(int);
    int glibc; /* free is glibc's own: a block's size is in the word before it */
};
extern struct mt_real mt_real;

/* Resolves the real allocators (idempotent). Safe to call from inside an
 * allocation made before the constructor ran. */
void mt_resolve_real(void);

/* ---- per-thread state (writer.c owns it) ------------------------------ */

/* A thread's counters, one cache line each, in one array (writer.c) so
 * that the exit code and the sequence can read every thread's. Written by
 * their thread only (threads past the last slot share it). */
struct mt_counters {
    uint64_t allocs, frees;
    volatile uint32_t busy;     /* 1 while the thread increments the sequence */
    volatile uint32_t inflight; /* 1 from before it takes a number to the
                                 * commit of the record that carries it: the
                                 * sampler's live watermark (writer.c) */
    char pad[64 - 2 * sizeof(uint64_t) - 2 * sizeof(uint32_t)];
};
_Static_assert(sizeof(struct mt_counters) == 64, "one cache line per thread");

struct mt_thread {
    volatile int guard;        /* set while inside a hook: nested calls pass */
    int state;                 /* enum mt_thread_state */
    const void *releasing;     /* block the outer hook is freeing/reallocating */
    uint32_t index;            /* thread index in the trace */
    unsigned char *pos, *end;  /* free space in the current segment */
    unsigned char *segment;    /* current segment, NULL before the first */
    uint64_t last_seq;
    uint32_t seq_run;          /* sequence numbers in a row (sequence.c) */
    int observer;              /* the sampler: its records take no number */
    uintptr_t prev_addr;
    uint32_t prev_stack;
    uint32_t clock_tick;       /* events until the next clock look */
    uint32_t big_block;        /* a block of MT_BIG_BLOCK or more was just allocated */
    struct mt_counters *counters;
    int64_t sample_left;       /* bytes to allocate before the next recorded one */
    uint64_t sample_rng;       /* its random state, 0 before its first draw */
    int sample_writing;        /* changing the sampled blocks' set (sampling.c) */
};

enum mt_thread_state { MT_THREAD_NEW = 0, MT_THREAD_ACTIVE, MT_THREAD_OFF };

extern __thread struct mt_thread mt_self __attribute__((tls_model("initial-exec")));

/* Global switch, read on every allocation. 0 until the trace is open; back
 * to 0 in a forked child, on a write error, and at exit. */
extern volatile int mt_enabled;

/* Enters a hook: the thread state with the guard set, or NULL when this
 * call must pass straight through (nested in a hook, or tracing off). */
static inline struct mt_thread *mt_enter(void)
{
    struct mt_thread *t = &mt_self;
    if (t->guard || !mt_enabled)
        return NULL;
    t->guard = 1;
    return t;
}

/* Leaves a hook. The fence keeps the compiler from moving the store. */
static inline void mt_leave(struct mt_thread *t)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t->guard = 0;
}

/* ---- aside.c ---------------------------------------------------------- */

/* An anonymous private mapping (MAP_NORESERVE) of size bytes for the shim
 * itself, away from where the program's own mappings go (aside.c says
 * why). MAP_FAILED on failure, like mmap. */
void *mt_map_aside(size_t size, int prot);

/* Bytes of the readable mappings made by mt_map_aside that are resident
 * now (memtap's own tables, in the process's RSS). Any thread. */
uint64_t mt_aside_resident(void);

/* ---- writer.c --------------------------------------------------------- */

/* A clock's time in nanoseconds (clock_gettime). */
uint64_t mt_now_ns(clockid_t clock);

/* Creates the trace file named by mt_opt.output (0600, O_EXCL, no symlink
 * follow) and maps it. Returns 0 or an errno code (tracing stays off). */
int mt_writer_open(void);

/* 1 when tracing stopped for good (a full disk) and the trace is still to
 * be closed at exit: the exit paths close it all the same. */
int mt_writer_stopped(void);

/* Sets a flag of the header (MT_HDR_*) once the trace is open. */
void mt_writer_flag(uint32_t flag);

/* Marks the header closed with final counts (and, with final_sample, one
 * last RSS sample from the calling thread). Idempotent. Makes no call that
 * is not async-signal-safe: _exit may run it from a signal handler. */
void mt_writer_close(int final_sample);

/* Sampler thread: takes the page faults of the trace pages the writers will
 * reach next (writer.c explains). */
void mt_writer_prefault(void);
/* The sampler thread, each tick: publishes the live watermark and the
 * segments it needs in the header (mt_trace_format.h), when no thread holds
 * a number it has not committed. */
void mt_writer_publish_watermark(void);

/* Forked child: never touch the parent's mapping again. */
void mt_writer_forget_after_fork(void);

/* Where a forked child starts: the sequence number and the last stack and
 * Python frame ids handed out at the fork. */
struct mt_fork_point {
    uint64_t seq;
    uint32_t last_stack, last_pyframe;
};

/* Forked child, following: unmaps the parent's trace and opens the
 * child's own (trace_file.c names it), with the fork point in its header.
 * Runs in the child right after fork, before any other thread exists.
 * Returns 0 or an errno code (then call mt_writer_forget_after_fork). */
int mt_writer_follow_fork(const struct mt_fork_point *at);

/* Records what the process passed to exit or _exit (async-signal-safe). */
void mt_writer_exit_status(int status);

/* Before an exec: closes the trace with the program's path in the header
 * (MT_HDR_EXECED); after an exec that failed: opens it again. */
void mt_writer_before_exec(const char *path);
void mt_writer_exec_failed(void);

/* ---- trace_file.c ----------------------------------------------------- */

/* This process's start time in clock ticks since boot (0 if unknown). */
uint64_t mt_start_ticks(void);

/* ---- lifecycle.c ------------------------------------------------------ */

/* The pid whose trace this process writes (0 before tracing starts). */
long mt_traced_pid(void);

/* ---- children.c ------------------------------------------------------- */

/* Looks up the real wait family (constructor, under the guard). */
void mt_children_init(void);

/* ---- exec.c ----------------------------------------------------------- */

/* Looks up the real exec functions (constructor, under the guard). */
void mt_exec_init(void);

/* Creates (or, after an exec, reuses) this process's trace file and puts
 * its name in path. Returns the fd, or -1 with errno set. */
int mt_trace_file_open(char *path, size_t cap, uint64_t ticks);

/* Record writers (an event's two, inline: record.h). Each takes the
 * calling thread's state; the caller holds the recursion guard. Failures
 * disable tracing and never reach the caller. */
void mt_record_stack_node(struct mt_thread *t, uint32_t id, uint32_t parent,
                          uint64_t frame);
void mt_record_module(struct mt_thread *t, uint64_t base, const char *path,
                      const unsigned char *build_id, size_t build_id_len);
void mt_record_marker(struct mt_thread *t, const char *label);
void mt_record_child_exit(struct mt_thread *t, uint64_t pid, uint32_t status);
void mt_record_sample(struct mt_thread *t);

/* Says one line on stderr (write(2), no stdio), prefixed "memtap: ". */
void mt_say(const char *a, const char *b, const char *c);

/* The counters of thread index i, and how many threads have started. */
struct mt_counters *mt_counters_of(uint32_t index);
uint32_t mt_thread_count(void);

/* ---- sequence.c ------------------------------------------------------- */

#define MT_SEQ_SHARED 0u           /* every thread adds atomically */
#define MT_SEQ_MOVING 0xFFFFFFFFu  /* ownership changing hands: wait */

/* The counter and its owner share a line: in owned mode only the owner
 * touches it, in shared mode everyone does anyway. */
struct mt_sequence {
    uint64_t value;   /* the last number handed out */
    uint32_t owner;   /* MT_SEQ_SHARED, MT_SEQ_MOVING, or thread index + 1 */
    char pad[64 - sizeof(uint64_t) - sizeof(uint32_t)];
};
extern struct mt_sequence mt_seq;

/* Registers for membarrier; call once before tracing starts. */
void mt_seq_init(void);

/* Forked child: the counter in shared mode (the owner may not exist). */
void mt_seq_after_fork(void);
/* Ownership is never given from now on (a thread beyond the slots). */
void mt_seq_forbid_owner(void);
/* How many times a thread became the owner (MEMTAP_DEBUG). */
uint64_t mt_seq_owner_changes(void);

/* One try at a number: 0 when another thread owns the counter or it is
 * changing hands. *owner says which mode was seen; me is t's owner value
 * (t->index + 1, read before the fences that would make it read again). */
static inline uint64_t mt_seq_try_as(struct mt_thread *t, uint32_t me, uint32_t *owner)
{
    struct mt_counters *c = t->counters;
    c->busy = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    uint32_t o = __atomic_load_n(&mt_seq.owner, __ATOMIC_RELAXED);
    uint64_t s = 0;
    if (MT_LIKELY(o == me)) {
        s = __atomic_load_n(&mt_seq.value, __ATOMIC_RELAXED) + 1;
        __atomic_store_n(&mt_seq.value, s, __ATOMIC_RELAXED);
    } else if (o == MT_SEQ_SHARED) {
        s = __atomic_add_fetch(&mt_seq.value, 1, __ATOMIC_SEQ_CST);
    }
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    c->busy = 0;
    *owner = o;
    return s;
}

static inline uint64_t mt_seq_try(struct mt_thread *t, uint32_t *owner)
{
    return mt_seq_try_as(t, t->index + 1, owner);
}

/* Everything but the owner's own increment: shared mode, waiting, taking
 * ownership back or asking for it. */
uint64_t mt_seq_slow(struct mt_thread *t, uint32_t owner, uint64_t s);

/* The next sequence number for an event of thread t. */
static inline uint64_t mt_seq_next(struct mt_thread *t)
{
    uint32_t owner, me = t->index + 1;
    uint64_t s = mt_seq_try_as(t, me, &owner);
    if (MT_LIKELY(owner == me))
        return s;
    return mt_seq_slow(t, owner, s);
}

/* ---- tables.c --------------------------------------------------------- */

/* A lock-free hash table of the shim's, in generations (tables.c): the
 * caller probes each generation's slots itself; entries go to the newest
 * (gen[top]), and when it is full mt_table_grow maps the next one. */
#define MT_GENERATIONS 5 /* each 4 times the one before */

struct mt_generation {
    void *slots;
    uint32_t mask;  /* slots - 1: a power of two */
    uint32_t count; /* entries made in it (the caller counts them) */
};

struct mt_table {
    struct mt_generation gen[MT_GENERATIONS];
    uint32_t top;     /* the newest generation: read with mt_table_top */
    uint32_t growing; /* a thread is mapping the next one */
    uint32_t final;   /* no more generations (the last is full, or mmap failed) */
    size_t slot_size;
};

/* Maps the first generation of `slots` slots (a power of two); -1: no memory. */
int mt_table_init(struct mt_table *tb, size_t slot_size, uint32_t slots);

static inline uint32_t mt_table_top(const struct mt_table *tb)
{
    return __atomic_load_n(&tb->top, __ATOMIC_ACQUIRE);
}

/* Three quarters full: entries go to the next generation. */
static inline int mt_generation_full(const struct mt_generation *g)
{
    return __atomic_load_n(&g->count, __ATOMIC_RELAXED) >= (g->mask + 1) / 4 * 3;
}

/* Generation `seen` was the newest and is full: maps the next one, or
 * waits (briefly) for the thread that does. 1: a newer generation is
 * there; 0: there will be none. */
int mt_table_grow(struct mt_table *tb, uint32_t seen);

/* ---- api.c ------------------------------------------------------------ */

/* ---- sampler.c -------------------------------------------------------- */

/* 1 while the sampler thread runs; allocating threads sample in-band when 0. */
extern volatile int mt_sampler_running;

/* Installs the snapshot signal handler and starts the sampler thread
 * (tracing must be on). python: the process is a CPython interpreter. */
void mt_sampler_start(int python);

/* Stops and joins the sampler thread (exit). */
void mt_sampler_stop(void);

/* A big block was allocated: the sampler thread samples every millisecond
 * until some milliseconds after now (CLOCK_MONOTONIC; BURST_MS in
 * sampler.c). No-op when the thread is not running. */
void mt_sampler_burst(uint64_t now_ns);
/* RSS in the last sample recorded (writer.c). */
extern uint64_t mt_last_rss;

/* When the burst ends (CLOCK_MONOTONIC; past: none on): in-band sampling
 * takes its samples too (writer.c). */
uint64_t mt_sampler_burst_until(void);

/* After a burst's sample: the burst goes on while RSS grows (up to a
 * limit); rss_before: the RSS of the sample before it. */
void mt_sampler_extend_burst(uint64_t rss_before);

/* Writes the markers of snapshot requests not yet written (guard held). */
void mt_sampler_take_snapshots(struct mt_thread *t);

/* Wakes the sampler thread (async-signal-safe); no-op when it is not running. */
void mt_sampler_wake(void);

/* ---- windows.c -------------------------------------------------------- */

/* Reads the window options (--paused, --window-signal, --start-after,
 * --stop-after): once the trace is open. */
void mt_windows_init(void);

/* Writes the markers of the switches made by signal or clock since the
 * last call (the sampler thread, or an event's clock look). */
void mt_windows_take_markers(struct mt_thread *t);

/* The sampler thread's tick: the clock's switches due by now_ns. */
void mt_windows_tick(uint64_t now_ns);

/* 1 while a switch by the clock is still to come. */
int mt_windows_timed(void);

/* Records a marker from the calling thread (see mt_marker in memtap.h). */
int mt_marker_internal(const char *label);

/* ---- stacks.c --------------------------------------------------------- */

/* Prepares the interning tables and libunwind. Returns 0 or errno. */
int mt_stacks_init(void);

/* The last stack node id handed out (a fork's watermark). */
uint32_t mt_stacks_last_id(void);

/* Where a native walk starts: an instruction and the stack and frame
 * registers there. MT_REGS_HERE takes them at the point it is written (in
 * an inlined hook: the hook's own frame), so that a walk does not step
 * through the shim's helper frames. Zeros where the fast walker does not
 * exist: libunwind then walks. */
struct mt_regs {
    uint64_t ip, sp, bp;
};
#if defined(__x86_64__)
#define MT_REGS_HERE(r)                                                                      \
    __asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"                    \
                     : "=r"((r).ip), "=r"((r).sp), "=r"((r).bp))
#else
#define MT_REGS_HERE(r) ((r).ip = (r).sp = (r).bp = 0)
#endif

/* The calling thread's native return addresses above `from` (taken by
 * MT_REGS_HERE in a function still running), innermost first, without
 * libmemtap's own frames. Returns how many (at most max). May change errno
 * (libunwind, reading unwind tables): callers on a hook's path keep it. */
int mt_native_frames(const struct mt_regs *from, uint64_t *out, int max);

/* A key that determines what mt_native_frames(from, ..., max) gives, when
 * one comes cheaply (mt_unwind_key), else 0. Leaves errno alone. */
uint64_t mt_native_key(const struct mt_regs *from, int max);

/* The code, [*lo, *hi), of the function whose frame on the calling thread's
 * stack holds address `at` (one of that function's locals), as the unwind
 * tables bound it; 0, or -1 when no frame holds it. Walks with libunwind,
 * which may allocate: for set-up, never on a hook's path. */
int mt_native_function_holding(uintptr_t at, uintptr_t *lo, uintptr_t *hi);

/* The native stack above `from` (taken in the caller) as an interned id
 * (0 = empty/unknown). Leaves errno alone. */
uint32_t mt_stack_capture(struct mt_thread *t, const struct mt_regs *from);

/* Interning of any stack given as 64-bit frame values, innermost first:
 * hash the frames, look the hash up, intern on a miss. */
static inline uint64_t mt_stack_mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

static inline uint64_t mt_stack_hash(const uint64_t *frames, int n)
{
    uint64_t h = (uint64_t)n;
    for (int k = 0; k < n; k++)
        h = mt_stack_mix(h, frames[k]);
    return h | 1; /* 0 marks an empty slot */
}

/* The id of a stack seen before under this hash, or 0: this thread's cache
 * first, then the shared table. */
#define MT_STACK_CACHE 256
struct mt_stack_cache_entry {
    uint64_t hash; /* of the frames, or a key (mt_stack_cached) */
    uint32_t id;
    uint32_t checked; /* a key's: its frames' hash, low half, for MEMTAP_UNWIND_CHECK */
};
extern __thread struct mt_stack_cache_entry mt_stack_cache[MT_STACK_CACHE]
    __attribute__((tls_model("initial-exec")));
uint32_t mt_stack_lookup_shared(uint64_t hash);
/* The shared table alone: the caller keeps its own key in the cache. */
uint32_t mt_stack_find(uint64_t hash);

static inline size_t mt_stack_cache_slot(uint64_t hash)
{
    return (hash >> 21) & (MT_STACK_CACHE - 1);
}

static inline uint32_t mt_stack_lookup(uint64_t hash)
{
    const struct mt_stack_cache_entry *e = &mt_stack_cache[mt_stack_cache_slot(hash)];
    if (MT_LIKELY(e->hash == hash))
        return e->id;
    return mt_stack_lookup_shared(hash);
}

/* Interns frames[0..n) (innermost first) and remembers hash -> id. */
uint32_t mt_stack_intern(struct mt_thread *t, const uint64_t *frames, int n, uint64_t hash);

/* The id another thread is publishing at *id (a table slot it claimed for
 * the same key as the caller), or 0 if that takes too long: the filler may
 * be waiting for a lock the caller holds, so the wait is bounded, and the
 * caller falls back to a duplicate entry (the same thing under two ids). */
uint32_t mt_wait_published(const uint32_t *id);

/* ---- stacks found by a key ----------------------------------------------
 *
 * A key is a cheap hash of what determines a stack (the addresses of a
 * native walk, the instruction pointers of Python frames), taken without
 * building the stack's frames. mt_stack_cached gives the id of the stack a
 * key names: from this thread's cache (mt_stack_cache) when the key is
 * there, else from find, which builds the frames, gives their hash and
 * looks them up (mt_stack_known) or interns them; the id is then cached
 * under the key. Key 0 (none to be had): find's lookup goes through the
 * cache by the frames' hash, as any stack's does.
 *
 * Under MEMTAP_UNWIND_CHECK every hit is checked against find (by the
 * frames' hash: two threads may intern the same frames as two ids), and a
 * difference counted as a walkers' disagreement. The cache then holds each
 * key as MT_KEY_TO_CHECK(key), which the common path never finds, so that
 * every hit comes to mt_stack_cached_miss (the common path tests no option). */
#define MT_KEY_TO_CHECK(key) ((key) ^ 0xA5C3E1F0968B7D2Eull)
typedef uint32_t (*mt_stack_finder)(struct mt_thread *t, const void *arg, int keyed,
                                    uint64_t *hash);
uint32_t mt_stack_cached_miss(uint64_t key, mt_stack_finder find, struct mt_thread *t,
                              const void *arg);
/* MEMTAP_UNWIND_CHECK: how many hits were checked (for MEMTAP_DEBUG). */
uint64_t mt_stack_keys_checked(void);

static inline uint32_t mt_stack_cached(uint64_t key, mt_stack_finder find, struct mt_thread *t,
                                       const void *arg)
{
    const struct mt_stack_cache_entry *e = &mt_stack_cache[mt_stack_cache_slot(key)];
    if (MT_LIKELY(key && e->hash == key))
        return e->id;
    return mt_stack_cached_miss(key, find, t, arg);
}

/* A finder's lookup of its frames' hash: the shared table alone when the
 * caller caches the id under a key, else through the thread's cache. */
static inline uint32_t mt_stack_known(uint64_t hash, int keyed)
{
    return keyed ? mt_stack_find(hash) : mt_stack_lookup(hash);
}

/* ---- python.c --------------------------------------------------------- */

/* Set while the process may be a CPython interpreter that is not yet
 * initialized: allocations then call mt_py_poll to install the hooks. */
extern volatile int mt_py_waiting;
/* Set once the PyMem hooks are installed. */
extern volatile int mt_py_active;

/* At start-up: is this process a CPython interpreter? Returns 1 if so. */
int mt_py_detect(void);

/* From an allocation while mt_py_waiting: install once Python is up. */
void mt_py_poll(void);

/* After Py_Finalize returned to an embedding program: install again if
 * the interpreter is initialized again. */
void mt_py_finalized(void);

/* Whether a code object found no slot in the code table (python.c): its
 * frames are then told apart from a dead one's at the same address only
 * by offset. Said at exit. */
int mt_py_code_table_full(void);

/* Whether a Python frame found no slot in the frame table (every
 * generation full): stacks then lack it (said at exit). */
int mt_py_frames_lost(void);

/* The last Python frame id handed out (a fork's watermark). */
uint32_t mt_py_last_frame_id(void);

/* With on: the OBJ domain's allocator back to what it was before memtap's
 * hooks; with 0: the hooks again. GIL held (py_stats.c). */
void mt_py_obj_allocator_original(int on);

/* Whether this is a CPython 3.12+ (known at start-up): the only processes
 * whose stacks may run through its perf trampolines (eh_frame.c). */
int mt_py_may_have_trampolines(void);

/* The stack to record in a process whose Python hooks are active: its
 * Python frames (0 when the thread runs none or lacks the GIL), or under
 * --native its native frames with the Python ones in place. */
uint32_t mt_py_current_stack(struct mt_thread *t, int gil_held, const struct mt_regs *from);

/* The stack to record for an allocation made now; the one place that
 * decides. gil_held: the caller knows this thread holds the GIL (PyMem
 * hooks). Inline: native unwinding then starts one frame closer. */
static inline uint32_t mt_current_stack(struct mt_thread *t, int gil_held)
{
    if (!mt_opt.native) {
        uint32_t id = mt_py_active ? mt_py_current_stack(t, gil_held, NULL) : 0;
        if (MT_LIKELY(id) || !mt_opt.native_fallback)
            return id;
        struct mt_regs at;
        MT_REGS_HERE(at);
        return mt_stack_capture(t, &at);
    }
    struct mt_regs here;
    MT_REGS_HERE(here);
    return mt_py_active ? mt_py_current_stack(t, gil_held, &here) : mt_stack_capture(t, &here);
}

void mt_record_pyframe(struct mt_thread *t, uint32_t id, int line, const char *file,
                       const char *function);

/* ---- eh_frame.c ------------------------------------------------------- */

/* A rule, packed in one word so that a slot is published by one store:
 *   bits  0..7  kind
 *   bit   8     the CFA is rbp + cfa_off (else rsp + cfa_off)
 *   bit   9     rbp is saved at CFA + bp_off (else the caller's rbp is ours)
 *   bits 16..31 bp_off (signed)
 *   bits 32..63 cfa_off (signed) */
enum { MT_RULE_STEP = 1, MT_RULE_END = 2, MT_RULE_UNKNOWN = 3 };
#define MT_RULE_CFA_BP (1u << 8)
#define MT_RULE_BP_SAVED (1u << 9)

static inline uint64_t mt_rule_pack(unsigned kind, unsigned flags, int bp_off, int cfa_off)
{
    return kind | flags | ((uint64_t)(uint16_t)(int16_t)bp_off << 16) |
           ((uint64_t)(uint32_t)cfa_off << 32);
}
static inline unsigned mt_rule_kind(uint64_t r) { return r & 0xff; }
static inline int mt_rule_bp_off(uint64_t r) { return (int16_t)(uint16_t)(r >> 16); }
static inline int mt_rule_cfa_off(uint64_t r) { return (int32_t)(uint32_t)(r >> 32); }

/* The rule of the instruction at ip (x86-64 only), packed as above;
 * MT_RULE_UNKNOWN when the fast walker cannot follow it. */
uint64_t mt_eh_frame_rule(uint64_t ip);

/* Whether ip (a return address less one) lies in a copy of CPython's perf
 * trampoline (python -X perf, 3.12+): a frame of the interpreter's, which
 * mixed stacks leave out. Costs a syscall for an address outside every
 * loaded object, in a 3.12+ process; meant for the cold path. */
int mt_is_perf_trampoline(uint64_t ip);

/* ---- unwind.c --------------------------------------------------------- */

/* Sets up the fast walker (MEMTAP_FAST_UNWIND); without it every stack goes
 * to libunwind. Call from the constructor, before tracing is on. */
void mt_unwind_init(void);

/* The return addresses of the calling thread's stack above `from` (taken
 * by MT_REGS_HERE in a function still running), innermost first, as
 * unw_backtrace gives them; -1 when a frame needs libunwind (then nothing
 * is known: the caller walks with it). */
int mt_unwind_fast(const struct mt_regs *from, void **out, int max);

/* A hash of all the addresses mt_unwind_fast would give, without them, or
 * 0. Cheap when the walk ends in the thread's memo of its last walk: then
 * only its fresh frames are walked. 0 when it does not, or is cut short. */
uint64_t mt_unwind_key(const struct mt_regs *from, int max);

/* Drops every rule: code was unloaded (dlclose), and other code may be
 * loaded at its addresses. */
void mt_unwind_forget(void);

/* MEMTAP_UNWIND_CHECK: counts a stack on which the two walkers differed. */
void mt_unwind_disagreed(void);
/* MEMTAP_DEBUG totals: fast walks (of which `joined` ended in a memo),
 * walks by libunwind, disagreements. */
void mt_unwind_counts(uint64_t *fast, uint64_t *joined, uint64_t *fallback, uint64_t *disagree);

/* How many stacks were cut short because the tables were full. */
uint64_t mt_stacks_cut(void);

/* ---- modules.c -------------------------------------------------------- */

/* Records every loaded object not recorded yet (cheap when none is new). */
void mt_modules_update(struct mt_thread *t);

/* Finds libmemtap.so's own address range. Call once at start-up. */
void mt_modules_init(void);

/* Address range of libmemtap.so's own code, to cut its frames off stacks. */
extern uintptr_t mt_self_text_lo, mt_self_text_hi;

#endif
