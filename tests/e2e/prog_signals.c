/* prog_signals.c - counts the signals it gets for a while, then prints the
 * counts and exits 7: how signals sent around `memtap run` reach CMD.
 * usage: prog_signals PIDFILE MS   (its pid written to PIDFILE at start) */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got[NSIG];

static void on_signal(int sig)
{
    got[sig]++;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    int sigs[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
    const char *names[] = {"INT", "QUIT", "TERM", "HUP", "USR1", "USR2"};
    struct sigaction sa = {.sa_handler = on_signal};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 2;
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
    struct timespec end, now;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += atol(argv[2]) / 1000;
    end.tv_nsec += (atol(argv[2]) % 1000) * 1000000L;
    do {
        usleep(10000);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec < end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        printf("%s=%d ", names[i], (int)got[sigs[i]]);
    printf("\n");
    return 7;
}
