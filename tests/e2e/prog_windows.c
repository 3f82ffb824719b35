/* prog_windows.c - recording windows (windows.sh): allocates A, switches
 * recording off, allocates B and frees one A block, switches it on,
 * allocates C and frees one B block (allocated outside the window).
 *   A: 10 x 1000 bytes (site in_a), one freed while off
 *   B: 20 x 2000 bytes (site in_b), must not be in the trace
 *   C: 30 x 3000 bytes (site in_c)
 * How it switches, from argv[1]:
 *   api     mt_window_stop() / mt_window_start() (memtap.h)
 *   signal  raise(SIGUSR2) each time (memtap run --window-signal USR2),
 *           then waits until the shim says the switch took effect
 *   paused  nothing before A (memtap run --paused: A is not recorded
 *           either), then mt_window_start() before C
 *   timed   sleeps 1.5 s between B and C (--paused --start-after 700ms) */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "memtap.h"

static void *a[10], *b[20], *c[30];

__attribute__((noinline)) static void in_a(void)
{
    for (int i = 0; i < 10; i++)
        a[i] = malloc(1000);
}

__attribute__((noinline)) static void in_b(void)
{
    for (int i = 0; i < 20; i++)
        b[i] = malloc(2000);
}

__attribute__((noinline)) static void in_c(void)
{
    for (int i = 0; i < 30; i++)
        c[i] = malloc(3000);
}

static void wait_for(int on)
{
    for (int i = 0; i < 5000 && mt_window_recording && mt_window_recording() != on; i++)
        usleep(1000);
}

static void switch_to(const char *how, int on)
{
    if (strcmp(how, "api") == 0 || (strcmp(how, "paused") == 0 && on)) {
        if (mt_window_start && mt_window_stop)
            (on ? mt_window_start : mt_window_stop)();
    } else if (strcmp(how, "signal") == 0) {
        raise(SIGUSR2);
        wait_for(on);
    }
}

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "api";
    in_a();
    switch_to(how, 0);
    in_b();
    free(a[0]);
    if (strcmp(how, "timed") == 0) {
        struct timespec ts = {1, 500000000L};
        nanosleep(&ts, NULL);
    }
    switch_to(how, 1);
    in_c();
    free(b[0]);
    return 0;
}
