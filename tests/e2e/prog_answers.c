/* prog_answers.c - a program with known answers for peak, leaks, diff and
 * markers (tests/e2e/answers.sh). It uses no stdio before its end, so
 * every block it allocates is one of these:
 *
 *   keep_startup    10 x 1000 B, allocated at once, never freed
 *   leak_steadily  200 x 1000 B, one per ~1 ms, never freed (the leak);
 *                  with 200 x 5000 B of churn (allocated and freed)
 *   peak_burst      50 x 100000 B written and held together for 30 ms,
 *                  then freed
 *
 * Markers: "before" ahead of leak_steadily, "after" behind it. The heap
 * peak is inside peak_burst: 10000 + 200000 + 5000000 = 5210000 bytes.
 * With an argument, the program sends itself SIGUSR2 at the end (for
 * --snapshot-signal USR2). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "memtap.h"

static void *volatile sink[256];

__attribute__((noinline)) static void keep_startup(void)
{
    for (int i = 0; i < 10; i++)
        sink[i] = malloc(1000);
}

__attribute__((noinline)) static void *churn(void)
{
    return malloc(5000);
}

__attribute__((noinline)) static void leak_steadily(void)
{
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 200; i++) {
        void *leaked = malloc(1000);
        sink[10 + i] = leaked; /* never freed */
        free(churn());
        nanosleep(&ms, NULL);
    }
}

__attribute__((noinline)) static void peak_burst(void)
{
    void *held[50];
    for (int i = 0; i < 50; i++)
        memset(held[i] = malloc(100000), 1, 100000); /* resident, for the RSS check */
    struct timespec hold = {0, 30000000};            /* several sample intervals */
    nanosleep(&hold, NULL);
    for (int i = 0; i < 50; i++)
        free(held[i]);
}

int main(int argc, char **argv)
{
    (void)argv;
    keep_startup();
    mt_marker_if_traced("before");
    leak_steadily();
    mt_marker_if_traced("after");
    peak_burst();
    if (argc > 1) {
        kill(getpid(), SIGUSR2);
        struct timespec wait = {0, 50000000};
        nanosleep(&wait, NULL);
    }
    return 0;
}
