/* top.c - `memtap top TRACE`: a live view of a running program's memory,
 * refreshed every second in the terminal (ncurses), from its trace as the
 * shim writes it (mt_trace_follow: what the sampler's watermark says is
 * committed): heap and RSS now, their peaks and sparklines, the sites with
 * the most bytes live now, and the sites that grew most over the last ten
 * seconds. `q` quits; the program is never touched. `--batch` prints the
 * same screens as plain text instead (a terminal is not needed), and
 * `memtap run --live` runs one beside CMD (run.c).
 *
 * The model (top_model.c) is fed on the reading thread; the screen is
 * drawn from the same thread, between events (every 65536 of them the
 * clock is looked at) and while the reader waits for more. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <getopt.h>
#include <ncurses.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "mt_trace_format.h"
#include "top_model.h"
#include "trace.h"
#include "util.h"

const char mt_usage_top[] =
    "usage: memtap top [--batch] [--interval S] [--top N] TRACE\n"
    "  a live view of the program writing TRACE (memtap run -o TRACE ...): heap and\n"
    "  RSS now and at their peaks, the sites live now, the growth leaders; q quits\n"
    "  (the program goes on)\n"
    "  --batch        plain text screens on stdout, one per interval, until the\n"
    "                 program ends (no terminal needed)\n"
    "  --interval S   seconds between screens (default 1)\n"
    "  --top N        sites in each list (default: what the screen holds; 10 in batch)\n";

#define MAX_LINES 200
#define LINE_MAX_CHARS 256

struct top {
    struct mt_top_model m;
    const struct mt_file_header *h;
    char command[256];
    pid_t pid;
    int batch, top_n, quit, ended, curses;
    int done_fd;                /* run --live: closed when CMD is gone (-1: none) */
    const char *note;           /* a line under the title (run --live: where CMD's output goes) */
    double interval;
    uint64_t next_draw_ns, last_events, last_draw_ns;
    uint64_t start_mono_ns;     /* the program's start, CLOCK_MONOTONIC */
    char lines[MAX_LINES][LINE_MAX_CHARS];
    int nlines;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put(struct top *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct top *t, const char *fmt, ...)
{
    if (t->nlines >= MAX_LINES)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->lines[t->nlines++], LINE_MAX_CHARS, fmt, ap);
    va_end(ap);
}

/* values as a line of width characters, each the max of its share */
static void sparkline(const int64_t *v, int n, int width, char *out)
{
    static const char levels[] = " _.-=+*#";
    int64_t max = 1;
    for (int i = 0; i < n; i++)
        if (v[i] > max)
            max = v[i];
    int from = n > width ? n - width : 0;
    int k = 0;
    for (int i = from; i < n; i++)
        out[k++] = levels[v[i] <= 0 ? 0 : 1 + (int)((v[i] * 6) / max)];
    out[k] = 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(struct mt_top_site *const *)a)->name, (*(struct mt_top_site *const *)b)->name);
}

/* The sites as shown: one per name (native frames of one line can have
 * several return addresses), each name's figures summed into its first
 * site's copy in view[]. Returns how many. */
static uint32_t merged_sites(struct mt_top_model *m, struct mt_top_site *view,
                             struct mt_top_site **order)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->nsites; i++)
        if (m->sites[i].bytes || mt_top_site_growth(m, &m->sites[i])) {
            mt_top_site_name(m, &m->sites[i]);
            if (m->sites[i].name)
                order[n++] = &m->sites[i];
        }
    qsort(order, n, sizeof *order, by_name);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (k && strcmp(view[k - 1].name, order[i]->name) == 0) {
            struct mt_top_site *v = &view[k - 1];
            v->bytes += order[i]->bytes;
            v->count += order[i]->count;
            for (int j = 0; j < MT_TOP_GROWTH; j++)
                v->past[j] += order[i]->past[j];
        } else {
            view[k++] = *order[i];
        }
    }
    for (uint32_t i = 0; i < k; i++)
        order[i] = &view[i];
    return k;
}

static int by_bytes(const void *a, const void *b)
{
    const struct mt_top_site *x = *(struct mt_top_site *const *)a,
                             *y = *(struct mt_top_site *const *)b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

static struct top_model_ctx {
    const struct mt_top_model *m;
} growth_ctx;

static int by_growth(const void *a, const void *b)
{
    int64_t x = mt_top_site_growth(growth_ctx.m, *(struct mt_top_site *const *)a),
            y = mt_top_site_growth(growth_ctx.m, *(struct mt_top_site *const *)b);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The screen's lines, for rows rows (0: no limit). */
static void compose(struct top *t, int rows, int cols)
{
    struct mt_top_model *m = &t->m;
    char b1[32], b2[32], spark[80];
    t->nlines = 0;
    uint64_t now = now_ns();
    double elapsed = t->start_mono_ns && now > t->start_mono_ns
                         ? (double)(now - t->start_mono_ns) / 1e9 : 0;
    double seen = (double)m->now_ns / 1e9;
    double dt = t->last_draw_ns ? (double)(now - t->last_draw_ns) / 1e9 : 0;
    double rate = dt > 0 ? (double)(m->events - t->last_events) / dt : 0;
    put(t, "memtap top  pid %d  %.60s", (int)t->pid, t->command);
    if (t->note)
        put(t, "%.200s", t->note);
    if (t->ended)
        put(t, "ended after %.1f s", seen);
    else /* the view's lag: how far the events read are behind the clock */
        put(t, "running %.1f s  (view %.1f s behind)", seen, elapsed > seen ? elapsed - seen : 0);
    if (m->sample_rate)
        put(t, "sampled by bytes (one record per %s): byte figures are estimates",
            mt_human_bytes(m->sample_rate, b1, sizeof b1));
    int width = cols > 60 ? (cols - 44 < MT_TOP_HISTORY ? cols - 44 : MT_TOP_HISTORY) : 16;
    sparkline(m->heap_hist, MT_TOP_HISTORY, width, spark);
    put(t, "heap %11s  peak %11s  |%s|", mt_human_bytes((uint64_t)(m->heap > 0 ? m->heap : 0), b1, sizeof b1),
        mt_human_bytes((uint64_t)m->heap_peak, b2, sizeof b2), spark);
    sparkline(m->rss_hist, MT_TOP_HISTORY, width, spark);
    put(t, "RSS  %11s  peak %11s  |%s|", mt_human_bytes(m->rss, b1, sizeof b1),
        mt_human_bytes(m->rss_peak, b2, sizeof b2), spark);
    put(t, "events %llu (%.1f M/s), %zu blocks live", (unsigned long long)m->events, rate / 1e6,
        m->live.count);
    put(t, "%s", "");
    int n = t->top_n;
    if (!n)
        n = rows > 14 ? (rows - 12) / 2 : 3;
    struct mt_top_site **order = m->nsites ? malloc(m->nsites * sizeof *order) : NULL;
    struct mt_top_site *view = m->nsites ? malloc(m->nsites * sizeof *view) : NULL;
    /* the lists' widths: the site names take what the figures leave, up to
     * a 120-column screen */
    int head_w = cols > 40 ? (cols < 120 ? cols : 120) - 25 : 30, name_w = head_w - 2;
    if (order && view) {
        uint32_t nsites = merged_sites(m, view, order);
        qsort(order, nsites, sizeof *order, by_bytes);
        put(t, "%-*s %12s %10s", head_w,
            "live now, by site", "bytes", "blocks");
        for (int i = 0; i < n && (uint32_t)i < nsites && order[i]->bytes > 0; i++)
            put(t, "  %-*.*s %12s %10lld", name_w,
                name_w, order[i]->name,
                mt_human_bytes((uint64_t)order[i]->bytes, b1, sizeof b1),
                (long long)order[i]->count);
        put(t, "%s", "");
        growth_ctx.m = m;
        qsort(order, nsites, sizeof *order, by_growth);
        put(t, "%-*s %12s", head_w,
            "growth over the last 10 s", "bytes");
        for (int i = 0; i < n && (uint32_t)i < nsites; i++) {
            int64_t g = mt_top_site_growth(m, order[i]);
            if (g <= 0)
                break;
            put(t, "  %-*.*s %12s", name_w,
                name_w, order[i]->name,
                mt_human_bytes((uint64_t)g, b1, sizeof b1));
        }
    }
    free(order);
    free(view);
    put(t, "%s", "");
    put(t, "%s", t->ended ? "the program has ended; q quits" : "q quits (the program goes on)");
    t->last_events = m->events;
    t->last_draw_ns = now;
}

static void handle_keys(struct top *t)
{
    if (!t->curses)
        return;
    int c;
    while ((c = getch()) != ERR)
        if (c == 'q' || c == 'Q')
            t->quit = 1;
}

static void draw(struct top *t)
{
    if (t->batch) {
        compose(t, 0, 100);
        for (int i = 0; i < t->nlines; i++)
            puts(t->lines[i]);
        puts("----");
        fflush(stdout);
        return;
    }
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    compose(t, rows, cols);
    erase();
    for (int i = 0; i < t->nlines && i < rows; i++)
        mvaddnstr(i, 0, t->lines[i], cols);
    refresh();
}

/* Called between events and while the reader waits: a tick and a screen
 * when the interval has passed, and the keys. */
static void maybe_draw(struct top *t)
{
    handle_keys(t);
    uint64_t now = now_ns();
    if (now < t->next_draw_ns)
        return;
    t->next_draw_ns = now + (uint64_t)(t->interval * 1e9);
    mt_top_model_tick(&t->m);
    draw(t);
}

static int still_running(void *ctx)
{
    struct top *t = ctx;
    maybe_draw(t);
    if (t->quit)
        return 0;
    if (t->done_fd >= 0) {
        struct pollfd p = {t->done_fd, POLLIN, 0};
        return poll(&p, 1, 0) == 0;
    }
    return kill(t->pid, 0) == 0 || errno != ESRCH;
}

static int on_event(void *ctx, const struct mt_event *ev)
{
    struct top *t = ctx;
    int rc = mt_top_model_event(&t->m, ev);
    if (rc)
        return rc;
    if ((t->m.events & 0xffff) == 0) {
        maybe_draw(t);
        if (t->quit)
            return ECANCELED;
    }
    return 0;
}

static void start_curses(struct top *t)
{
    if (t->batch || t->curses)
        return;
    initscr();
    cbreak();
    noecho();
    nodelay(stdscr, TRUE);
    curs_set(0);
    t->curses = 1;
}

static void end_curses(struct top *t)
{
    if (t->curses)
        endwin();
    t->curses = 0;
}

/* 1 when path is a packed trace (its run is over: read at rest). */
static int is_packed(const char *path)
{
    struct mt_file_header h;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(&h, 1, offsetof(struct mt_file_header, pid), f);
    fclose(f);
    return n == offsetof(struct mt_file_header, pid) && memcmp(h.magic, MT_MAGIC, 8) == 0 &&
           (h.flags & MT_HDR_PACKED);
}

/* Follows the trace until the program ends, the user quits, or it exec's
 * (ECANCELED: follow the new trace). */
static int follow_once(struct top *t, const char *path)
{
    char err[512];
    struct mt_trace *tr = NULL;
    int rc;
    for (int waited = 0;; waited++) {
        if (is_packed(path)) {
            rc = mt_trace_open(path, &tr, err, sizeof err);
            break;
        }
        rc = mt_trace_follow(path, still_running, t, &tr, err, sizeof err);
        if (rc != EAGAIN && rc != ENOENT)
            break;
        if (!still_running(t) || waited > 10000) {
            end_curses(t);
            mt_error("top: %s: no trace appeared", path);
            return MT_EXIT_FAIL;
        }
        usleep(1000);
    }
    if (rc) {
        end_curses(t);
        mt_error("top: %s", err);
        return MT_EXIT_FAIL;
    }
    t->h = mt_trace_header(tr);
    t->pid = (pid_t)t->h->pid;
    t->start_mono_ns = t->h->start_monotonic_ns;
    size_t k = 0; /* arguments NUL-separated, ending "\0\0": spaces between */
    for (; k + 1 < sizeof t->command && k + 1 < MT_CMDLINE_MAX; k++) {
        char ch = t->h->cmdline[k];
        if (!ch && !t->h->cmdline[k + 1])
            break;
        t->command[k] = ch ? ch : ' ';
    }
    t->command[k] = 0;
    mt_top_model_free(&t->m);
    mt_top_model_init(&t->m);
    t->m.sample_rate = mt_trace_sample_rate(tr);
    t->next_draw_ns = now_ns() + (uint64_t)(t->interval * 1e9); /* after a catch-up */
    rc = mt_trace_read(tr, on_event, t, err, sizeof err);
    mt_trace_close(tr);
    if (rc == ECANCELED && t->quit)
        return MT_EXIT_OK;
    if (rc == ECANCELED)
        return MT_EXIT_CANCELED;
    if (rc) {
        end_curses(t);
        mt_error("top: %s", err[0] ? err : strerror(rc));
        return MT_EXIT_FAIL;
    }
    return MT_EXIT_OK;
}

int mt_top_follow(const char *path, int batch, double interval, int top_n, int done_fd,
                  const char *note)
{
    static struct top t; /* its screen lines are large */
    memset(&t, 0, sizeof t);
    t.batch = batch;
    t.interval = interval;
    t.top_n = top_n ? top_n : batch ? 10 : 0;
    t.done_fd = done_fd;
    t.note = note;
    mt_top_model_init(&t.m);
    start_curses(&t);
    int rc;
    while ((rc = follow_once(&t, path)) == MT_EXIT_CANCELED && !t.quit)
        usleep(2000);
    if (rc == MT_EXIT_OK && !t.quit) {
        t.ended = 1;
        mt_top_model_tick(&t.m);
        draw(&t);
        while (t.curses && !t.quit) { /* the last screen stays until q */
            handle_keys(&t);
            if (!t.quit)
                napms(100);
        }
    }
    end_curses(&t);
    mt_top_model_free(&t.m);
    return rc;
}

int mt_cmd_top(int argc, char **argv)
{
    int batch = 0, top_n = 0;
    double interval = 1.0;
    static const struct option opts[] = {{"batch", no_argument, NULL, 'b'},
                                         {"interval", required_argument, NULL, 'i'},
                                         {"top", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': batch = 1; break;
        case 'i': {
            char *end = NULL;
            interval = strtod(optarg, &end);
            if (*end || !(interval >= 0.05 && interval <= 3600)) {
                mt_error("top: --interval wants seconds from 0.05 to 3600, not '%s'", optarg);
                return MT_EXIT_USAGE;
            }
            break;
        }
        case 'n':
            top_n = atoi(optarg);
            if (top_n < 1 || top_n > 1000) {
                mt_error("top: --top wants a number from 1 to 1000");
                return MT_EXIT_USAGE;
            }
            break;
        default: return mt_usage(mt_usage_top, c == 'h');
        }
    }
    if (optind != argc - 1)
        return mt_usage(mt_usage_top, 0);
    const char *path = argv[optind];
    struct stat st;
    if (stat(path, &st) != 0) {
        mt_error("top: %s: %s", path, strerror(errno));
        return MT_EXIT_FAIL;
    }
    if (!batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
        mt_error("top: needs a terminal (or --batch)");
        return MT_EXIT_USAGE;
    }
    return mt_top_follow(path, batch, interval, top_n, -1, NULL);
}
