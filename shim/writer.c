/* writer.c - the trace file: a MAP_SHARED mapping that grows in chunks,
 * carved into per-thread segments (layout in include/mt_trace_format.h).
 *
 * Why this shape: records go straight into the shared file mapping, so
 * whatever a thread wrote before the process was SIGKILLed is in the page
 * cache and loads; each thread writes only into its own segment, so the
 * allocation path takes no lock, and the only shared writes are one atomic
 * sequence counter and, once per segment, the segment counter. The file is
 * reserved as one range of address space up front and mapped piece by piece
 * inside it, so segment addresses never move.
 *
 * Ownership: mt_self (TLS) belongs to its thread. `grow_lock` guards
 * `mapped` growth only (a cold path, once per chunk). Everything else global
 * is written once in mt_writer_open before tracing is enabled.
 *
 * Must not: allocate, use stdio, or block on the allocation path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "faults.h"
#include "record.h"
#include "sampling.h"

__thread struct mt_thread mt_self __attribute__((tls_model("initial-exec")));
volatile int mt_enabled;

#define RESERVE_BYTES (64ull << 30) /* largest trace: 64 GiB */
#define RESERVE_MIN (256ull << 20)  /* under a tight `ulimit -v` (or valgrind) */
#define GROW_MIN (4u << 20)
#define COUNTER_SLOTS 65536u
#define SAMPLE_EVERY 16 /* events between two looks at the clock */

static int trace_fd = -1;
static int status_fd = -1;   /* /proc/self/status: RSS and its parts */
/* What each of them is: a program may close every descriptor it did not
 * open (daemons do) and be given the same numbers for files of its own, so
 * memtap never uses or closes one without checking it is still its file. */
static struct stat trace_id, status_id;
static char trace_path[MT_PATH_MAX]; /* this process's trace file */
static int trace_on_tmpfs;    /* its pages count as shared memory */
static unsigned char *base;              /* start of the reserved range */
static size_t reserved;                  /* its size: the largest trace */
static struct mt_file_header *header;    /* == base */
static size_t mapped;                    /* bytes of the file mapped at base */
static volatile int grow_lock;
static uint64_t next_segment;
static uint32_t next_thread;
static struct mt_counters *counters;
static uint64_t start_ns;
static long page_size;

static struct {
    uint64_t next_sample_ns; /* CLOCK_MONOTONIC_COARSE deadline */
    char pad[56];
} sampler __attribute__((aligned(64)));

/* ---- small helpers ---------------------------------------------------- */

void mt_say(const char *a, const char *b, const char *c)
{
    char line[512];
    size_t n = 0;
    const char *parts[] = {"memtap: ", a, b, c, "\n"};
    for (size_t i = 0; i < 5; i++)
        for (const char *s = parts[i]; s && *s && n < sizeof line - 1; s++)
            line[n++] = *s;
    if (line[n - 1] != '\n')
        line[n++] = '\n';
    (void)!write(2, line, n);
}

uint64_t mt_now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Tracing stops for good: said once on stderr, and in the header (when,
 * why), which is still closed at exit (mt_writer_close). */
static MT_COLD void fail(unsigned reason, const char *what, int err)
{
    if (!__atomic_exchange_n(&mt_enabled, 0, __ATOMIC_SEQ_CST))
        return;
    mt_say("tracing stopped: ", what, err ? strerror(err) : "");
    if (header) {
        header->stop_reason = reason;
        header->stop_errno = (uint32_t)err;
        header->stop_ns = mt_now_ns(CLOCK_MONOTONIC) - start_ns;
        __atomic_fetch_or(&header->flags, MT_HDR_STOPPED, __ATOMIC_RELEASE);
    }
}

struct mt_counters *mt_counters_of(uint32_t index)
{
    return &counters[index < COUNTER_SLOTS ? index : COUNTER_SLOTS - 1];
}

uint32_t mt_thread_count(void)
{
    uint32_t n = __atomic_load_n(&next_thread, __ATOMIC_ACQUIRE);
    return n < COUNTER_SLOTS ? n : COUNTER_SLOTS;
}

/* ---- descriptors the program may close ---------------------------------- */

/* Moves fd far above the numbers a program's next opens are given (the
 * lowest free ones): a program that closes every descriptor and opens its
 * own files does not get memtap's number back. */
static int move_high(int fd)
{
    if (fd < 0)
        return fd;
    struct rlimit rl;
    int floor = 1000;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < 1100)
        floor = (int)(rl.rlim_cur * 3 / 4);
    int high = floor > fd ? fcntl(fd, F_DUPFD_CLOEXEC, floor) : -1;
    if (high < 0)
        return fd;
    close(fd);
    return high;
}

static int is_file(int fd, const struct stat *id)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == id->st_dev && st.st_ino == id->st_ino;
}

static int open_as(const char *path, int flags, struct stat *id)
{
    int fault = mt_fault(MT_FAULT_OPEN);
    if (fault) {
        errno = fault;
        return -1;
    }
    int fd = move_high(open(path, flags | O_CLOEXEC));
    if (fd >= 0 && fstat(fd, id) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Closes *fd if it is still memtap's file; forgets it either way. */
static void close_own(int *fd, const struct stat *id)
{
    if (is_file(*fd, id))
        close(*fd);
    *fd = -1;
}

/* The trace's descriptor, checked (reopened when the program closed it):
 * 0, or EBADF when the file cannot be had again. Under grow_lock, or the
 * only thread. */
static int trace_fd_check(void)
{
    if (is_file(trace_fd, &trace_id))
        return 0;
    struct stat id;
    int fd = trace_path[0] ? open_as(trace_path, O_RDWR | O_NOFOLLOW, &id) : -1;
    if (fd >= 0 && id.st_dev == trace_id.st_dev && id.st_ino == trace_id.st_ino) {
        trace_fd = fd; /* the old number is the program's now, or nothing */
        return 0;
    }
    if (fd >= 0)
        close(fd);
    return EBADF;
}

/* ---- file growth ------------------------------------------------------ */

static MT_COLD int grow_to(size_t need)
{
    while (__atomic_exchange_n(&grow_lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
    int rc = 0;
    size_t have = __atomic_load_n(&mapped, __ATOMIC_ACQUIRE);
    if (have < need) {
        size_t step = have / 4 > GROW_MIN ? have / 4 : GROW_MIN;
        size_t want = have + step > need ? have + step : need;
        /* The file is always the header plus whole segments. */
        want = MT_HEADER_SIZE + (want - MT_HEADER_SIZE + GROW_MIN - 1) / GROW_MIN * GROW_MIN;
        if (want > reserved)
            want = reserved;
        if (want < need)
            rc = EFBIG;
        /* fallocate, not ftruncate: writing to a sparse page of a full
         * disk would SIGBUS the traced program. */
        if (!rc)
            rc = trace_fd_check();
        if (!rc && !(rc = mt_fault(MT_FAULT_FALLOCATE)))
            rc = posix_fallocate(trace_fd, (off_t)have, (off_t)(want - have));
        if (!rc && !(rc = mt_fault(MT_FAULT_MMAP)) &&
            mmap(base + have, want - have, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                 trace_fd, (off_t)have) == MAP_FAILED)
            rc = errno;
        if (!rc)
            __atomic_store_n(&mapped, want, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&grow_lock, 0, __ATOMIC_RELEASE);
    return rc;
}

/* ---- prefaulting ahead of the writers ---------------------------------- */

/* The first write to each page of the trace takes a page fault (the file
 * system allocates and zeroes the page: about a tenth of the traced time of
 * an allocation-heavy program). The sampler thread takes those faults
 * instead, on the pages the writers will reach next, while they run on
 * another core: twice what they wrote since the last call, at least 512
 * KiB. Populating a page a writer already holds changes nothing in it.
 * Sampler thread only (the statics are its own). */
#define PREFAULT_MIN (512u << 10)
#define PREFAULT_MAX (32u << 20)
#define PREFAULT_STEP MT_SEGMENT_SIZE
static size_t prefault_done, prefault_last_frontier;
static int prefault_off;

void mt_writer_prefault(void)
{
#ifdef MADV_POPULATE_WRITE
    if (prefault_off || !mt_enabled)
        return;
    uint64_t k = __atomic_load_n(&next_segment, __ATOMIC_RELAXED);
    size_t frontier = MT_HEADER_SIZE + (size_t)k * MT_SEGMENT_SIZE;
    size_t ahead = 2 * (frontier - prefault_last_frontier); /* the frontier only grows */
    prefault_last_frontier = frontier;
    if (ahead < PREFAULT_MIN)
        ahead = PREFAULT_MIN;
    if (ahead > PREFAULT_MAX)
        ahead = PREFAULT_MAX;
    size_t want = frontier + ahead;
    if (prefault_done < frontier)
        prefault_done = frontier;
    if (want <= prefault_done)
        return;
    if (want > __atomic_load_n(&mapped, __ATOMIC_ACQUIRE) && grow_to(want) != 0)
        return; /* the writer that needs it will grow it, and say why it cannot */
    /* In steps: each call holds the address-space lock for reading, which
     * an mmap or munmap of the program's would wait for. A segment, and the
     * frontier looked at again before each: the writers may have passed it,
     * filled segments and dropped them from our page tables (claim_segment),
     * and populating those again would keep them in the RSS for good. */
    while (prefault_done < want) {
        k = __atomic_load_n(&next_segment, __ATOMIC_RELAXED);
        frontier = MT_HEADER_SIZE + (size_t)k * MT_SEGMENT_SIZE;
        if (prefault_done < frontier)
            prefault_done = frontier;
        if (prefault_done >= want)
            break;
        size_t step = want - prefault_done < PREFAULT_STEP ? want - prefault_done : PREFAULT_STEP;
        if (madvise(base + prefault_done, step, MADV_POPULATE_WRITE) != 0) {
            prefault_off = 1; /* before Linux 5.14: the writers fault as before */
            return;
        }
        prefault_done += step;
    }
#endif
}

/* ---- segments and threads --------------------------------------------- */

static MT_COLD int claim_segment(struct mt_thread *t)
{
    uint64_t k = __atomic_fetch_add(&next_segment, 1, __ATOMIC_RELAXED);
    size_t off = MT_HEADER_SIZE + (size_t)k * MT_SEGMENT_SIZE;
    if (off + MT_SEGMENT_SIZE > __atomic_load_n(&mapped, __ATOMIC_ACQUIRE)) {
        int rc = grow_to(off + MT_SEGMENT_SIZE);
        if (rc) {
            fail(MT_STOP_GROW, "cannot grow the trace file: ", rc);
            return rc;
        }
    }
    /* The finished segment is in the page cache; drop it from our page
     * tables so the trace does not count in the program's RSS. */
    if (t->segment)
        madvise(t->segment, MT_SEGMENT_SIZE, MADV_DONTNEED);
    unsigned char *s = base + off;
    struct mt_segment_header *sh = (struct mt_segment_header *)s;
    sh->thread = t->index;
    sh->base_seq = t->last_seq;
    __atomic_store_n(&sh->magic, MT_SEGMENT_MAGIC, __ATOMIC_RELEASE);
    t->segment = s;
    t->pos = s + sizeof *sh;
    t->end = s + MT_SEGMENT_SIZE;
    t->prev_addr = 0;
    t->prev_stack = 0;
    return 0;
}

static unsigned char *put_bytes(unsigned char *p, const void *src, size_t n)
{
    p = mt_put_varint(p, n);
    memcpy(p, src, n);
    return p + n;
}

static MT_COLD int thread_start(struct mt_thread *t)
{
    t->index = __atomic_fetch_add(&next_thread, 1, __ATOMIC_RELAXED);
    t->counters = &counters[t->index < COUNTER_SLOTS ? t->index : COUNTER_SLOTS - 1];
    t->clock_tick = 1;
    if (t->index >= COUNTER_SLOTS - 1)
        mt_seq_forbid_owner(); /* its busy flag is shared: see sequence.c */
    t->last_seq = __atomic_load_n(&mt_seq.value, __ATOMIC_RELAXED);
    if (claim_segment(t))
        return -1;
    char name[MT_NAME_MAX] = {0};
    prctl(PR_GET_NAME, name, 0, 0, 0);
    name[sizeof name - 1] = 0;
    unsigned char *p = t->pos + 1;
    p = mt_put_varint(p, t->index);
    p = mt_put_varint(p, (uint64_t)gettid());
    p = put_bytes(p, name, strlen(name));
    mt_commit(t, t->pos, MT_REC_THREAD, p);
    t->state = MT_THREAD_ACTIVE;
    return 0;
}

/* mt_room's slow side (record.h): starts the thread, or claims a new
 * segment; NULL when tracing is off. */
MT_COLD unsigned char *mt_room_slow(struct mt_thread *t, size_t n)
{
    int saved = errno; /* system calls below; the hooks' callers see no change */
    int ok = 1;
    if (t->state != MT_THREAD_ACTIVE)
        ok = t->state != MT_THREAD_OFF && thread_start(t) == 0;
    if (ok && (size_t)(t->end - t->pos) < n)
        ok = claim_segment(t) == 0;
    errno = saved;
    return ok ? t->pos : NULL;
}

static inline uint64_t take_seq(struct mt_thread *t, unsigned char **p)
{
    t->counters->inflight = 1; /* as mt_take_event_seq (record.h) */
    uint64_t s = mt_seq_next(t);
    *p = mt_put_varint(*p, s - t->last_seq);
    t->last_seq = s;
    return s;
}

/* A sample or marker of the sampler thread takes no number of its own: it
 * says "after event N" with N the last number handed out, so that it never
 * takes the counter away from its owner. The reader sorts it after event N. */
static void put_point_seq(struct mt_thread *t, unsigned char **p)
{
    if (!t->observer) {
        take_seq(t, p);
        return;
    }
    uint64_t s = __atomic_load_n(&mt_seq.value, __ATOMIC_ACQUIRE);
    if (s < t->last_seq)
        s = t->last_seq;
    *p = mt_put_varint(*p, s - t->last_seq);
    t->last_seq = s;
}

/* ---- the live watermark ------------------------------------------------- */

/* What makes it true (mt_trace_format.h, live_watermark): every thread sets
 * its counters' inflight before it takes a number and clears it after the
 * record that carries the number is committed (record.h). Loads here are
 * in order (x86-TSO: so are each thread's stores): the counter first, g;
 * then the threads that exist; then each one's flag. A number <= g was
 * stored before g was read, and its thread's inflight = 1 before it, so a
 * flag read 0 afterwards was cleared after that record's commit. A thread
 * that has not started yet takes a number above g. The segments are read
 * last, so every record <= g is in one below them. */
#define WATERMARK_SPINS 1000 /* a thread preempted in a record: try next tick */

void mt_writer_publish_watermark(void)
{
    if (!header)
        return;
    uint64_t g = __atomic_load_n(&mt_seq.value, __ATOMIC_SEQ_CST);
    uint32_t n = __atomic_load_n(&next_thread, __ATOMIC_ACQUIRE);
    if (n >= COUNTER_SLOTS - 1)
        return; /* threads share the last slot: their flags cannot be told apart */
    for (uint32_t i = 0; i < n; i++)
        for (int spins = 0; __atomic_load_n(&counters[i].inflight, __ATOMIC_ACQUIRE); spins++) {
            if (spins == WATERMARK_SPINS)
                return;
            __builtin_ia32_pause();
        }
    uint64_t segments = __atomic_load_n(&next_segment, __ATOMIC_ACQUIRE);
    __atomic_store_n(&header->live_segments, segments, __ATOMIC_RELEASE);
    __atomic_store_n(&header->live_watermark, g, __ATOMIC_RELEASE);
}

/* ---- samples: time and RSS -------------------------------------------- */

/* What the kernel says of the process's resident memory (bytes): RssAnon,
 * RssFile and RssShmem of /proc/self/status, whose sum is its RSS. */
struct rss_parts {
    uint64_t anon, file, shmem;
};

static uint64_t kb_after(const char *text, const char *key)
{
    const char *s = strstr(text, key);
    if (!s)
        return 0;
    s += strlen(key);
    while (*s == ' ' || *s == '\t')
        s++;
    uint64_t kb = 0;
    while (*s >= '0' && *s <= '9')
        kb = kb * 10 + (uint64_t)(*s++ - '0');
    return kb << 10;
}

static void read_rss(struct rss_parts *r)
{
    char buf[4096];
    if (!is_file(status_fd, &status_id)) { /* the program closed it: open it again */
        status_fd = -1;
        status_fd = open_as("/proc/self/status", O_RDONLY, &status_id);
    }
    ssize_t n = status_fd >= 0 ? pread(status_fd, buf, sizeof buf - 1, 0) : -1;
    buf[n > 0 ? n : 0] = 0;
    r->anon = kb_after(buf, "RssAnon:");
    r->file = kb_after(buf, "RssFile:");
    r->shmem = kb_after(buf, "RssShmem:");
}

/* memtap's own part of the process's RSS: its tables (anonymous, counted
 * page by page) and the pages of the trace mapped in: the header, each
 * thread's segment being written (finished ones are dropped from our page
 * tables, claim_segment) and what the sampler prefaulted ahead of the
 * writers. The trace's pages are file-backed, or shared memory when the
 * trace is on a tmpfs. */
static void own_rss(struct rss_parts *r)
{
    r->anon = mt_aside_resident();
    uint64_t k = __atomic_load_n(&next_segment, __ATOMIC_RELAXED);
    uint64_t frontier = MT_HEADER_SIZE + k * MT_SEGMENT_SIZE;
    uint64_t ahead = __atomic_load_n(&prefault_done, __ATOMIC_RELAXED);
    uint64_t threads = __atomic_load_n(&next_thread, __ATOMIC_RELAXED);
    uint64_t trace = MT_HEADER_SIZE + (threads < k ? threads : k) * MT_SEGMENT_SIZE +
                     (ahead > frontier ? ahead - frontier : 0);
    r->file = trace_on_tmpfs ? 0 : trace;
    r->shmem = trace_on_tmpfs ? trace : 0;
}

uint64_t mt_last_rss; /* the last sample's, for the sampler's bursts */

void mt_record_sample(struct mt_thread *t)
{
    unsigned char *p = mt_room(t, 96);
    if (!p)
        return;
    unsigned char *q = p + 1;
    put_point_seq(t, &q);
    q = mt_put_varint(q, mt_now_ns(CLOCK_MONOTONIC) - start_ns);
    struct rss_parts all, own;
    read_rss(&all);
    own_rss(&own);
    uint64_t rss = all.anon + all.file + all.shmem;
    q = mt_put_varint(q, rss);
    q = mt_put_varint(q, all.file);
    q = mt_put_varint(q, all.shmem);
    q = mt_put_varint(q, own.anon);
    q = mt_put_varint(q, own.file);
    q = mt_put_varint(q, own.shmem);
    mt_commit(t, p, MT_REC_SAMPLE, q);
    __atomic_store_n(&mt_last_rss, rss, __ATOMIC_RELAXED);
}

/* A sample besides the interval's: after a big block, or a burst's taken
 * in-band, or before a big block's free. At most one a millisecond over
 * all threads for each kind, *last_ns being the kind's last (a program
 * that allocates and frees big blocks in a tight loop pays for two
 * thousand samples a second, not for two per block). A free's sample has
 * a clock of its own: the sample after the allocation, taken before the
 * block is filled, must not keep the one that sees it filled from being
 * taken. now: CLOCK_MONOTONIC. */
static uint64_t extra_last_ns, free_last_ns;

static MT_COLD void extra_sample(struct mt_thread *t, uint64_t now, uint64_t *last_ns)
{
    uint64_t last = __atomic_load_n(last_ns, __ATOMIC_RELAXED);
    if (now - last >= 1000000 &&
        __atomic_compare_exchange_n(last_ns, &last, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        mt_record_sample(t);
}

static void sample_in_band(struct mt_thread *t)
{
    mt_sampler_take_snapshots(t);
    if (mt_windows_timed())
        mt_windows_tick(mt_now_ns(CLOCK_MONOTONIC_COARSE));
    mt_windows_take_markers(t);
    if (!mt_opt.sample_ms)
        return;
    uint64_t now = mt_now_ns(CLOCK_MONOTONIC_COARSE);
    uint64_t due = __atomic_load_n(&sampler.next_sample_ns, __ATOMIC_RELAXED);
    if (now < due) {
        /* the burst after a big block (sampler.c), in-band: one sample a
         * millisecond, by the precise clock (the coarse one moves every few
         * ms, and is behind it: a burst may seem to last a few ms longer,
         * never to end early). A burst goes on while RSS grows, as the
         * sampler thread's does. And it may end while no event comes (the
         * block's fill, 64 MiB of page faults, can outlast it): the first
         * tick after it samples once more, to see the filled block. */
        static uint64_t ended_seen;
        uint64_t until = mt_sampler_burst_until();
        if (MT_UNLIKELY(now < until)) {
            uint64_t before = __atomic_load_n(&mt_last_rss, __ATOMIC_RELAXED);
            extra_sample(t, mt_now_ns(CLOCK_MONOTONIC), &extra_last_ns);
            mt_sampler_extend_burst(before);
        } else if (MT_UNLIKELY(until != __atomic_load_n(&ended_seen, __ATOMIC_RELAXED)) &&
                   __atomic_exchange_n(&ended_seen, until, __ATOMIC_RELAXED) != until) {
            extra_sample(t, mt_now_ns(CLOCK_MONOTONIC), &extra_last_ns);
        }
        return;
    }
    uint64_t next = now + (uint64_t)mt_opt.sample_ms * 1000000ull;
    if (__atomic_compare_exchange_n(&sampler.next_sample_ns, &due, next, 0,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        mt_record_sample(t);
}

/* The RSS sample after a big block (record.h, MT_BIG_BLOCK): taken by the
 * allocating thread at its next event, when the block has most likely been
 * filled. That event may come before the fill (numpy allocates an array's
 * object between its buffer and the fill), so it also starts the burst
 * (sampler.c). None with --sample-ms 0. */
static void big_block_sample(struct mt_thread *t)
{
    if (!mt_opt.sample_ms)
        return;
    uint64_t now = mt_now_ns(CLOCK_MONOTONIC);
    mt_sampler_burst(now);
    extra_sample(t, now, &extra_last_ns);
}

MT_COLD void mt_big_free_sample(struct mt_thread *t)
{
    if (!mt_opt.sample_ms)
        return;
    int saved = errno;
    extra_sample(t, mt_now_ns(CLOCK_MONOTONIC), &free_last_ns);
    errno = saved;
}

/* The clock tick's turn (record.h): the sample after a big block; and
 * in-band sampling while the sampler thread is not running (it could not
 * start, or a Python process forked): every SAMPLE_EVERY events a thread
 * looks at the coarse clock; the first thread past the deadline writes one
 * sample for everybody, and any snapshot the signal asked for. */
MT_COLD void mt_tick_slow(struct mt_thread *t)
{
    int saved = errno; /* system calls below; the hooks' callers see no change */
    if (t->big_block) {
        t->big_block = 0;
        big_block_sample(t);
    }
    if (mt_sampler_running) {
        t->clock_tick = SAMPLE_EVERY << 12; /* only to notice it stop */
    } else {
        t->clock_tick = SAMPLE_EVERY;
        sample_in_band(t);
    }
    errno = saved;
}

/* ---- records ---------------------------------------------------------- */

MT_COLD void mt_record_passing_free(struct mt_thread *t, const void *p)
{
    int saved = errno;
    /* A signal handler's free while this thread changes the sampled set
     * would wait on itself: recorded then without looking. */
    if (t->sample_writing || mt_sample_free(p))
        mt_record_free(t, MT_REC_FREE, p);
    errno = saved;
}

void mt_record_stack_node(struct mt_thread *t, uint32_t id, uint32_t parent, uint64_t frame)
{
    unsigned char *p = mt_room(t, 1 + 5 + 5 + 10);
    if (!p)
        return;
    unsigned char *q = p + 1;
    q = mt_put_varint(q, id);
    q = mt_put_varint(q, parent);
    q = mt_put_varint(q, frame);
    mt_commit(t, p, MT_REC_STACK, q);
}

void mt_record_module(struct mt_thread *t, uint64_t module_base, const char *path,
                      const unsigned char *build_id, size_t build_id_len)
{
    size_t path_len = strnlen(path, MT_PATH_MAX);
    if (build_id_len > MT_BUILD_ID_MAX)
        build_id_len = MT_BUILD_ID_MAX;
    unsigned char *p = mt_room(t, MT_RECORD_MAX);
    if (!p)
        return;
    unsigned char *q = p + 1;
    q = mt_put_varint(q, module_base);
    q = put_bytes(q, path, path_len);
    q = put_bytes(q, build_id, build_id_len);
    mt_commit(t, p, MT_REC_MODULE, q);
}

void mt_record_pyframe(struct mt_thread *t, uint32_t id, int line, const char *file,
                       const char *function)
{
    size_t file_len = strnlen(file, MT_PYNAME_MAX);
    size_t func_len = strnlen(function, MT_PYNAME_MAX);
    unsigned char *p = mt_room(t, MT_RECORD_MAX);
    if (!p)
        return;
    unsigned char *q = p + 1;
    q = mt_put_varint(q, id);
    q = mt_put_varint(q, line > 0 ? (uint64_t)line : 0);
    q = put_bytes(q, file, file_len);
    q = put_bytes(q, function, func_len);
    mt_commit(t, p, MT_REC_PYFRAME, q);
}

void mt_record_child_exit(struct mt_thread *t, uint64_t pid, uint32_t status)
{
    unsigned char *p = mt_room(t, 1 + 10 + 5);
    if (!p)
        return;
    unsigned char *q = p + 1;
    q = mt_put_varint(q, pid);
    q = mt_put_varint(q, status);
    mt_commit(t, p, MT_REC_CHILD_EXIT, q);
}

void mt_record_marker(struct mt_thread *t, const char *label)
{
    size_t n = strnlen(label, MT_LABEL_MAX - 1);
    unsigned char *p = mt_room(t, 1 + 10 + 5 + n);
    if (!p)
        return;
    unsigned char *q = p + 1;
    put_point_seq(t, &q);
    uint64_t seq = t->last_seq;
    q = put_bytes(q, label, n);
    mt_commit(t, p, MT_REC_MARKER, q);
    /* the exit hint for readers (mt_trace_format.h): markers are rare */
    if (strcmp(label, MT_MARKER_PYTHON_EXIT) == 0)
        __atomic_store_n(&header->exit_seq, seq, __ATOMIC_RELAXED);
    else if (strcmp(label, MT_MARKER_PYTHON_FINALIZED) == 0)
        __atomic_store_n(&header->exit_seq, 0, __ATOMIC_RELAXED);
    mt_record_sample(t); /* a marker gets an exact time */
}

/* ---- open / close / fork ---------------------------------------------- */

static void read_file(const char *path, char *out, size_t cap)
{
    memset(out, 0, cap);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, cap - 2);
    close(fd);
    if (n > 0)
        out[n] = out[n + 1] = 0;
}

static uint64_t own_ticks;           /* its start time (mt_start_ticks) */

/* The header of a new trace, magic last: a reader never sees a half-filled
 * header as valid. */
static void fill_header(void)
{
    header->version = MT_FORMAT_VERSION;
    header->header_size = MT_HEADER_SIZE;
    header->segment_size = MT_SEGMENT_SIZE;
    header->pid = (uint64_t)getpid();
    header->ppid = (uint64_t)getppid();
    header->start_realtime_ns = mt_now_ns(CLOCK_REALTIME);
    start_ns = mt_now_ns(CLOCK_MONOTONIC);
    header->start_monotonic_ns = start_ns;
    header->session = mt_opt.session;
    header->native_stacks = (uint32_t)mt_opt.native;
    header->max_depth = (uint32_t)mt_opt.max_depth;
    header->start_ticks = own_ticks;
    if (mt_opt.children)
        header->flags |= MT_HDR_CHILDREN;
    if (mt_sample_rate) {
        header->flags |= MT_HDR_SAMPLED;
        header->sample_rate = mt_sample_rate;
    }
    ssize_t n = readlink("/proc/self/exe", header->exe, MT_EXE_MAX - 1);
    header->exe[n > 0 ? n : 0] = 0;
    read_file("/proc/self/cmdline", header->cmdline, MT_CMDLINE_MAX);
    __atomic_signal_fence(__ATOMIC_RELEASE);
    memcpy(header->magic, MT_MAGIC, 8);
    sampler.next_sample_ns = 0;
}

/* The trace file was made (empty) but cannot be written: it goes, so
 * that no empty file is left behind as if it were a trace. */
static void forget_empty_trace(void)
{
    struct stat st;
    if (is_file(trace_fd, &trace_id) && stat(trace_path, &st) == 0 &&
        st.st_dev == trace_id.st_dev && st.st_ino == trace_id.st_ino)
        unlink(trace_path);
    close_own(&trace_fd, &trace_id);
}

static int open_file(void)
{
    own_ticks = mt_start_ticks();
    int fd = mt_trace_file_open(trace_path, sizeof trace_path, own_ticks);
    if (fd < 0) {
        int e = errno;
        mt_say("not tracing: cannot create ", trace_path,
               e == EEXIST ? ": file exists" : e == ELOOP ? ": is a symlink" : "");
        return e;
    }
    trace_fd = move_high(fd);
    if (fstat(trace_fd, &trace_id) != 0) {
        close(trace_fd);
        trace_fd = -1;
        return EBADF;
    }
    struct statfs fs;
    trace_on_tmpfs = fstatfs(fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
    return 0;
}

int mt_writer_open(void)
{
    page_size = sysconf(_SC_PAGESIZE);
    int rc = open_file();
    if (rc)
        return rc;
    /* Counters sit in anonymous memory, untouched until a thread uses its
     * slot; NORESERVE keeps them from counting against overcommit. */
    counters = mt_map_aside(COUNTER_SLOTS * sizeof *counters, PROT_READ | PROT_WRITE);
    /* Address space only; where it is limited, a smaller trace at most. */
    for (reserved = RESERVE_BYTES; reserved >= RESERVE_MIN; reserved /= 2) {
        base = mt_map_aside(reserved, PROT_NONE);
        if (base != MAP_FAILED)
            break;
    }
    rc = (counters == MAP_FAILED || base == MAP_FAILED) ? ENOMEM : grow_to(MT_HEADER_SIZE + GROW_MIN);
    if (rc) {
        mt_say("not tracing: cannot map the trace file ", trace_path, "");
        forget_empty_trace();
        return rc;
    }
    status_fd = open_as("/proc/self/status", O_RDONLY, &status_id);
    mt_seq_init();
    header = (struct mt_file_header *)base;
    fill_header();
    return 0;
}

/* A forked child: the same reserved range, now mapping a file of its own.
 * The parent's pages are unmapped first (a MAP_FIXED anonymous mapping over
 * all of them), so nothing the child does can reach the parent's file. */
int mt_writer_follow_fork(const struct mt_fork_point *at)
{
    size_t had = mapped;
    uint32_t threads = mt_thread_count();
    /* Nothing may write a header until the child's own is mapped: on a
     * failure below, header stays NULL (the parent's is not ours). */
    header = NULL;
    close_own(&trace_fd, &trace_id);
    if (mmap(base, had, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
             0) == MAP_FAILED)
        return errno;
    mapped = 0;
    grow_lock = 0; /* a thread of the parent may have held it: it is not here */
    next_segment = 0;
    next_thread = 0;
    memset(counters, 0, (size_t)threads * sizeof *counters);
    prefault_done = prefault_last_frontier = 0;
    uint64_t parent_ticks = own_ticks;
    int rc = open_file();
    if (!rc && (rc = grow_to(MT_HEADER_SIZE + GROW_MIN)) != 0)
        forget_empty_trace();
    if (rc)
        return rc;
    close_own(&status_fd, &status_id); /* it shows the process that opened it: the parent */
    status_fd = open_as("/proc/self/status", O_RDONLY, &status_id);
    mt_seq_after_fork();
    header = (struct mt_file_header *)base;
    fill_header();
    header->fork_seq = at->seq;
    header->fork_last_stack = at->last_stack;
    header->fork_last_pyframe = at->last_pyframe;
    header->parent_start_ticks = parent_ticks;
    __atomic_fetch_or(&header->flags, MT_HDR_FORKED, __ATOMIC_RELAXED);
    struct mt_thread *t = &mt_self;
    t->state = MT_THREAD_NEW;
    t->segment = NULL;
    t->last_seq = at->seq;
    return 0;
}

void mt_writer_before_exec(const char *path)
{
    if (!header)
        return;
    size_t n = strnlen(path, MT_EXEC_PATH_MAX - 1);
    memcpy(header->exec_path, path, n);
    header->exec_path[n] = 0;
    __atomic_fetch_or(&header->flags, MT_HDR_EXECED, __ATOMIC_RELAXED);
    struct mt_thread *t = &mt_self;
    int was = t->guard;
    t->guard = 1;
    mt_writer_close(1);
    t->guard = was;
}

void mt_writer_exec_failed(void)
{
    if (!header || !(header->flags & MT_HDR_EXECED))
        return;
    __atomic_fetch_and(&header->flags, ~(MT_HDR_EXECED | MT_HDR_CLOSED), __ATOMIC_RELAXED);
    header->exec_path[0] = 0;
    __atomic_store_n(&mt_enabled, 1, __ATOMIC_SEQ_CST);
}

void mt_writer_exit_status(int status)
{
    if (!header)
        return;
    header->exit_status = (uint32_t)status;
    __atomic_fetch_or(&header->flags, MT_HDR_EXIT_STATUS, __ATOMIC_RELAXED);
}

void mt_writer_flag(uint32_t flag)
{
    if (header)
        __atomic_fetch_or(&header->flags, flag, __ATOMIC_RELAXED);
}

int mt_writer_stopped(void)
{
    return header && (__atomic_load_n(&header->flags, __ATOMIC_ACQUIRE) &
                      (MT_HDR_STOPPED | MT_HDR_CLOSED)) == MT_HDR_STOPPED;
}

void mt_writer_close(int final_sample)
{
    int was_on = header && __atomic_exchange_n(&mt_enabled, 0, __ATOMIC_SEQ_CST);
    if (!header || (!was_on && !(__atomic_load_n(&header->flags, __ATOMIC_ACQUIRE) &
                                 MT_HDR_STOPPED)) ||
        (__atomic_load_n(&header->flags, __ATOMIC_ACQUIRE) & MT_HDR_CLOSED))
        return;
    if (final_sample && was_on) {
        struct mt_thread *t = &mt_self;
        int was = t->guard;
        t->guard = 1;
        mt_enabled = 1; /* one last sample, from this thread only */
        mt_record_sample(t);
        mt_enabled = 0;
        t->guard = was;
    }

    uint64_t threads = __atomic_load_n(&next_thread, __ATOMIC_RELAXED);
    if (threads > COUNTER_SLOTS)
        threads = COUNTER_SLOTS;
    uint64_t allocs = 0, frees = 0;
    for (uint64_t i = 0; i < threads; i++) {
        allocs += counters[i].allocs;
        frees += counters[i].frees;
    }
    header->n_allocs = allocs;
    header->n_frees = frees;
    header->end_seq = __atomic_load_n(&mt_seq.value, __ATOMIC_SEQ_CST);
    header->end_monotonic_ns = mt_now_ns(CLOCK_MONOTONIC);
    __atomic_signal_fence(__ATOMIC_RELEASE);
    /* atomic: another thread may set a flag of its own (mt_writer_flag) */
    __atomic_fetch_or(&header->flags, MT_HDR_CLOSED, __ATOMIC_RELAXED);
    /* Give back the disk blocks of the zeroed tail the last growth step
     * reserved. Not ftruncate: a thread still running could claim a segment
     * there and would fault writing past the end of the file; a hole reads
     * as zeros and is filled again if written. */
    uint64_t used = __atomic_load_n(&next_segment, __ATOMIC_RELAXED);
    size_t keep = MT_HEADER_SIZE + (size_t)used * MT_SEGMENT_SIZE;
    if (keep < mapped && trace_fd_check() == 0)
        fallocate(trace_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)keep,
                  (off_t)(mapped - keep));
}

void mt_writer_forget_after_fork(void)
{
    /* The child shares the parent's file: it must never write to it. Its
     * copy of the mapping stays (unmapping is not needed and other threads'
     * pointers never run here: only the forking thread survives a fork). */
    mt_enabled = 0;
    mt_self.state = MT_THREAD_OFF;
    header = NULL; /* nor close it at exit (a stopped trace is closed then) */
    close_own(&trace_fd, &trace_id);
}
