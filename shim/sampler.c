/* sampler.c - the background sampler: one thread of ours that writes a
 * time/RSS sample every mt_opt.sample_ms (the loader puts the heap total
 * beside it, exact, from the sample's sequence number) and turns snapshot
 * requests made by signal into markers.
 *
 * The thread never touches the program's state: it blocks every signal
 * (process signals go to the program's threads), holds the recursion guard
 * for life (nothing it does is traced), uses no fd of its own (it sleeps on
 * a futex word, so a program that closes every fd cannot make it spin), and
 * takes no lock the program could hold.
 *
 * fork: the thread is stopped and joined in the fork prepare handler, so a
 * child starts with only the program's thread and CPython 3.12+ does not
 * warn about a thread the program never started. A non-Python parent gets
 * the thread back at once; a Python parent does not (its os.fork counts the
 * process's threads right after fork returns), and from then on samples
 * are taken in-band by allocating threads instead (writer.c).
 *
 * Bursts: a block of MT_BIG_BLOCK or more is usually filled right after it
 * is allocated, and a few of them can make a peak of RSS that lasts less
 * than a sampling interval (numpy filling four 64 MiB arrays holds its peak
 * for ~8 ms). The allocating thread's next event samples (writer.c), but
 * that event may come before the fill (numpy allocates the array object
 * between the two). So that event also starts a burst: this thread
 * samples every millisecond until BURST_MS after the last big block. A
 * program that allocates big blocks all the time keeps it at 1000 samples
 * a second (a read of /proc/self/statm each: 1.1 us here).
 *
 * Snapshot signal: the handler only counts the request and wakes the
 * thread (both async-signal-safe); the marker is written by the sampler
 * thread, or in-band when it is not running.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "faults.h"
#include "mt_shim.h"

volatile int mt_sampler_running;

static pthread_t sampler_thread;
static int python_process;
static int was_running;
static volatile int stop_requested;
#define SAMPLER_STACK (256u << 10)
static uint32_t wake_word; /* bumped to wake the thread */
static uint32_t snapshot_requests, snapshots_taken;
#define BURST_MS 64
#define BURST_MAX_MS 1024 /* a burst goes on while RSS grows, this long at most */
static uint64_t burst_until_ns; /* CLOCK_MONOTONIC: sample every ms until then */
static uint64_t burst_start_ns;

static void futex_wake(void)
{
    __atomic_add_fetch(&wake_word, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void mt_sampler_wake(void)
{
    if (mt_sampler_running)
        futex_wake();
}

void mt_sampler_take_snapshots(struct mt_thread *t)
{
    uint32_t want = __atomic_load_n(&snapshot_requests, __ATOMIC_ACQUIRE);
    while (snapshots_taken != want) {
        uint32_t n = __atomic_add_fetch(&snapshots_taken, 1, __ATOMIC_RELAXED);
        char label[32] = "snapshot-";
        char digits[12];
        int k = 0;
        do
            digits[k++] = (char)('0' + n % 10);
        while ((n /= 10) && k < 11);
        size_t at = 9;
        while (k)
            label[at++] = digits[--k];
        label[at] = 0;
        mt_record_marker(t, label);
    }
}

/* Called by an allocating thread (writer.c) with the time it read: the
 * sampler is woken only when no burst is on, so a loop of big blocks costs
 * a load and a store each. Two threads may both wake it: harmless. While
 * the thread is not running, allocating threads sample in-band, and take
 * the burst's samples at their events (writer.c). */
void mt_sampler_burst(uint64_t now_ns)
{
    uint64_t until = __atomic_load_n(&burst_until_ns, __ATOMIC_RELAXED);
    if (until <= now_ns)
        __atomic_store_n(&burst_start_ns, now_ns, __ATOMIC_RELAXED);
    __atomic_store_n(&burst_until_ns, now_ns + BURST_MS * 1000000ull, __ATOMIC_RELAXED);
    if (until <= now_ns && mt_sampler_running)
        futex_wake();
}

uint64_t mt_sampler_burst_until(void)
{
    return __atomic_load_n(&burst_until_ns, __ATOMIC_RELAXED);
}

/* A block being filled (64 MiB take 250 ms to fault in on a slow machine)
 * outlasts a burst: while RSS still grows, the burst goes on, up to
 * BURST_MAX_MS after it began. */
void mt_sampler_extend_burst(uint64_t rss_before)
{
    uint64_t now = mt_now_ns(CLOCK_MONOTONIC);
    uint64_t until = __atomic_load_n(&burst_until_ns, __ATOMIC_RELAXED);
    uint64_t start = __atomic_load_n(&burst_start_ns, __ATOMIC_RELAXED);
    if (until > now && __atomic_load_n(&mt_last_rss, __ATOMIC_RELAXED) > rss_before &&
        now + BURST_MS * 1000000ull <= start + BURST_MAX_MS * 1000000ull)
        __atomic_store_n(&burst_until_ns, now + BURST_MS * 1000000ull, __ATOMIC_RELAXED);
}

static void *sampler_main(void *arg)
{
    (void)arg;
    struct mt_thread *t = &mt_self;
    t->guard = 1; /* for life: nothing this thread does is traced */
    t->observer = 1; /* and it never takes the sequence from its owner */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    long ms = mt_opt.sample_ms;
    struct timespec interval = {ms / 1000, (ms % 1000) * 1000000L};
    static const struct timespec burst_interval = {0, 1000000L};
    while (!stop_requested) {
        uint32_t seen = __atomic_load_n(&wake_word, __ATOMIC_ACQUIRE);
        static const struct timespec window_interval = {0, 10000000L};
        const struct timespec *wait = ms ? &interval : mt_windows_timed() ? &window_interval : NULL;
        if (ms > 1 && mt_sampler_burst_until() > mt_now_ns(CLOCK_MONOTONIC))
            wait = &burst_interval;
        syscall(SYS_futex, &wake_word, FUTEX_WAIT_PRIVATE, seen, wait, NULL, 0);
        if (stop_requested || !mt_enabled)
            break;
        mt_sampler_take_snapshots(t);
        mt_windows_tick(mt_now_ns(CLOCK_MONOTONIC));
        mt_windows_take_markers(t);
        if (ms) {
            uint64_t before = __atomic_load_n(&mt_last_rss, __ATOMIC_RELAXED);
            mt_record_sample(t);
            mt_sampler_extend_burst(before);
        }
        mt_writer_publish_watermark();
        mt_writer_prefault();
    }
    return NULL;
}

static int start_thread(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits it */
    stop_requested = 0;
    /* A small stack: glibc maps a thread's stack among the program's own
     * mappings, and a default one (8 MiB) splits them (aside.c says why
     * that costs). The thread needs a few KiB. Not a stack of ours (aside,
     * where it would count as memtap's in the samples): with a stack it
     * did not allocate, glibc frees the thread's TLS blocks in ways the
     * program's allocations then see (unmatched frees after a fork). */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, SAMPLER_STACK);
    /* What glibc allocates for the thread (its TLS vector) is memtap's, and
     * is freed by the join (stop_thread): neither is the program's. */
    int was = mt_self.guard;
    mt_self.guard = 1;
    int rc = mt_fault(MT_FAULT_THREAD);
    if (!rc)
        rc = pthread_create(&sampler_thread, &attr, sampler_main, NULL);
    mt_self.guard = was;
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) {
        pthread_setname_np(sampler_thread, "memtap-sampler");
        mt_sampler_running = 1;
    }
    return rc;
}

static void stop_thread(void)
{
    if (!mt_sampler_running)
        return;
    stop_requested = 1;
    futex_wake();
    int was = mt_self.guard;
    mt_self.guard = 1; /* the join frees what pthread_create allocated for it */
    pthread_join(sampler_thread, NULL);
    mt_self.guard = was;
    mt_sampler_running = 0;
}

static void on_snapshot_signal(int sig)
{
    (void)sig;
    int saved = errno;
    __atomic_add_fetch(&snapshot_requests, 1, __ATOMIC_RELEASE);
    futex_wake();
    errno = saved;
}

static void before_fork(void)
{
    was_running = mt_sampler_running;
    stop_thread();
}

static void after_fork_parent(void)
{
    if (was_running && !python_process)
        start_thread();
}

void mt_sampler_start(int python)
{
    python_process = python;
    if (mt_opt.snapshot_signal) {
        struct sigaction sa = {.sa_handler = on_snapshot_signal, .sa_flags = SA_RESTART};
        sigemptyset(&sa.sa_mask);
        if (sigaction(mt_opt.snapshot_signal, &sa, NULL) != 0)
            mt_say("cannot catch the snapshot signal", "", "");
    }
    if (!mt_opt.sample_ms && !mt_opt.snapshot_signal && !mt_opt.window_signal &&
        !mt_windows_timed())
        return;
    pthread_atfork(before_fork, after_fork_parent, NULL);
    if (start_thread() != 0)
        mt_say("no sampler thread: samples will be taken in-band", "", "");
}

void mt_sampler_stop(void)
{
    stop_thread();
}
