/* progress.c - the progress line (see progress.h). The clock is read once
 * every 2^16 ticks; the line is redrawn at most four times a second, and
 * only once the step has run for a second. */
#define _GNU_SOURCE
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct mt_progress {
    const char *what;
    uint64_t ticks;
    double start, last_shown;
    int drawn;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct mt_progress *mt_progress_new(const char *what)
{
    if (!isatty(STDERR_FILENO))
        return NULL;
    struct mt_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->what = what;
    p->start = p->last_shown = now_s();
    return p;
}

int mt_progress_tick(struct mt_progress *p)
{
    if (!p || (++p->ticks & 0xffff))
        return 0;
    double t = now_s();
    if (t - p->start < 1.0 || t - p->last_shown < 0.25)
        return 0;
    p->last_shown = t;
    return 1;
}

void mt_progress_show(struct mt_progress *p, double fraction, uint64_t events)
{
    if (!p)
        return;
    double elapsed = now_s() - p->start;
    if (fraction < 0)
        fraction = 0;
    if (fraction > 1)
        fraction = 1;
    double left = fraction > 0.001 ? elapsed * (1 - fraction) / fraction : 0;
    fprintf(stderr, "\rmemtap: %s %5.1f%%  %.1f M events/s  %.0f s left   ", p->what,
            100 * fraction, elapsed > 0 ? (double)events / elapsed / 1e6 : 0.0, left);
    fflush(stderr);
    p->drawn = 1;
}

void mt_progress_done(struct mt_progress *p)
{
    if (!p)
        return;
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    free(p);
}
