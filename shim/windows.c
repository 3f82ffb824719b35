/* windows.c - recording windows: allocations are recorded only while
 * recording is on. It is switched by the program (mt_window_start and
 * mt_window_stop of memtap.h, memtap.start() and memtap.stop() in Python),
 * by a signal the user picks (memtap run --window-signal SIG: each one
 * switches), or by the clock (--start-after, --stop-after, checked by the
 * sampler thread each tick); --paused starts with it off.
 *
 * Between windows the hooks record no allocation (sampling.h's gate) but
 * every free (with sampling, every free of a recorded block), so a block
 * recorded in a window and freed outside is freed in the trace; a free in
 * a window of a block allocated outside it is a free the reader never saw
 * allocated, which the header's MT_HDR_WINDOWS tells it to expect.
 *
 * Each switch is a marker in the trace, memtap:window-start or
 * memtap:window-stop: written at once by a switch from the program, and
 * for a switch by signal (a handler may not write records) by the sampler
 * thread or the next event's clock look, as snapshots are. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "memtap.h"
#include "sampling.h"

static uint32_t switches;       /* switches made: recording is initial ^ (switches & 1) */
static uint32_t marked;         /* switches whose marker is written */
static int initially_on = 1;
static uint64_t start_at_ns, stop_at_ns; /* CLOCK_MONOTONIC; 0: none */

static void open_gate(void)
{
    if (!mt_sampling.gate) {
        mt_sampling.gate = 1;
        mt_writer_flag(MT_HDR_WINDOWS);
    }
}

/* Async-signal-safe: two stores and an atomic add. Returns 1 when it
 * switched (0: recording was already `on`). */
static int switch_to(int on)
{
    open_gate();
    uint32_t n = __atomic_load_n(&switches, __ATOMIC_RELAXED);
    for (;;) {
        int now = initially_on ^ (int)(n & 1);
        if (now == on)
            return 0;
        if (__atomic_compare_exchange_n(&switches, &n, n + 1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            break;
    }
    __atomic_store_n(&mt_sampling.recording, on, __ATOMIC_RELEASE);
    return 1;
}

void mt_windows_take_markers(struct mt_thread *t)
{
    uint32_t want = __atomic_load_n(&switches, __ATOMIC_ACQUIRE);
    uint32_t k = __atomic_load_n(&marked, __ATOMIC_RELAXED);
    while (k != want) { /* each marker once, whichever thread writes it */
        if (!__atomic_compare_exchange_n(&marked, &k, k + 1, 0, __ATOMIC_RELAXED,
                                         __ATOMIC_RELAXED))
            continue;
        k++;
        int on = initially_on ^ (int)(k & 1);
        mt_record_marker(t, on ? MT_MARKER_WINDOW_START : MT_MARKER_WINDOW_STOP);
    }
}

static int switch_from_program(int on)
{
    struct mt_thread *t = &mt_self;
    if (!mt_enabled || t->guard)
        return ENODEV;
    int saved = errno;
    t->guard = 1;
    if (switch_to(on))
        mt_windows_take_markers(t);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t->guard = 0;
    errno = saved;
    return 0;
}

__attribute__((visibility("default"))) int mt_window_start(void)
{
    return switch_from_program(1);
}

__attribute__((visibility("default"))) int mt_window_stop(void)
{
    return switch_from_program(0);
}

__attribute__((visibility("default"))) int mt_window_recording(void)
{
    return mt_enabled && __atomic_load_n(&mt_sampling.recording, __ATOMIC_ACQUIRE);
}

static void on_window_signal(int sig)
{
    (void)sig;
    int saved = errno;
    int on = !__atomic_load_n(&mt_sampling.recording, __ATOMIC_ACQUIRE);
    if (switch_to(on))
        mt_sampler_wake();
    errno = saved;
}

void mt_windows_tick(uint64_t now_ns)
{
    if (start_at_ns && now_ns >= start_at_ns) {
        start_at_ns = 0;
        switch_to(1);
    }
    if (stop_at_ns && now_ns >= stop_at_ns) {
        stop_at_ns = 0;
        switch_to(0);
    }
}

int mt_windows_timed(void)
{
    return start_at_ns || stop_at_ns;
}

void mt_windows_init(void)
{
    if (mt_opt.paused) {
        initially_on = 0;
        mt_sampling.recording = 0;
        open_gate();
    }
    uint64_t now = mt_now_ns(CLOCK_MONOTONIC);
    if (mt_opt.start_after_ms)
        start_at_ns = now + (uint64_t)mt_opt.start_after_ms * 1000000ull;
    if (mt_opt.stop_after_ms)
        stop_at_ns = now + (uint64_t)mt_opt.stop_after_ms * 1000000ull;
    if (mt_windows_timed())
        open_gate();
    if (mt_opt.window_signal) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_window_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(mt_opt.window_signal, &sa, NULL) != 0)
            mt_say("cannot catch the window signal", "", "");
        else
            open_gate();
    }
}
