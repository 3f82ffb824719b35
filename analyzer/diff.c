/* diff.c - `memtap diff TRACE|DB --from A --to B [--top N] [--native]
 * [--json]`: per allocation site, the bytes and blocks live at A and at B
 * and the change, largest growth first (tracemalloc's compare_to, after
 * the fact, between any two points of the run). Given two runs and no
 * points, `memtap diff A B` compares the runs (diff_runs.c).
 *
 * Points are named as points.h says. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "diff_runs.h"
#include "points.h"
#include "report.h"
#include "tree.h"
#include "site_scan.h"
#include "util.h"

struct point {
    const char *spec;
    int64_t seq, ns;
    int64_t bytes, count; /* everything live there */
};

static int add_live(void *ctx, int64_t stack, int64_t thread, int64_t bytes, int64_t count)
{
    (void)stack;
    (void)thread;
    struct point *p = ctx;
    p->bytes += bytes;
    p->count += count;
    return 0;
}

/* Resolves p->spec and counts what is live there. */
static int resolve(sqlite3 *db, struct point *p)
{
    int rc = mt_point_resolve(db, "diff", p->spec, &p->seq, &p->ns);
    if (rc)
        return rc;
    p->bytes = p->count = 0;
    return mt_live_at(db, p->seq, add_live, p);
}

static void json_point(const char *key, const struct point *p)
{
    printf("\"%s\": {\"point\": ", key);
    mt_json_string(stdout, p->spec);
    printf(", \"seq\": %lld, \"time_s\": %.6f, \"bytes\": %lld, \"count\": %lld}",
           (long long)p->seq, (double)p->ns / 1e9, (long long)p->bytes, (long long)p->count);
}

const char mt_usage_diff[] =
    "usage: memtap diff --from A --to B [--top N] [--native] [--json] [--pid PID] TRACE|DB\n"
    "       memtap diff [--top N] [--json] [--min-share PCT] RUN_A RUN_B\n"
    "  A, B: a marker label, a time (1.5s, 250ms), start, peak or end\n"
    "  --pid PID  one process of the run, not the first (memtap summary lists them)\n"
    "  RUN_A RUN_B: two runs of a program (traces or databases), site by site: bytes\n"
    "  at the heap peak, allocated, live at exit; --min-share: the sites whose change\n"
    "  is at least PCT% of a run's figure (default 1; 0: every site that changed)\n";

int mt_cmd_diff(int argc, char **argv)
{
    struct mt_report_args ra = {.top = 20};
    struct point a = {0}, b = {0};
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"pid", required_argument, NULL, 'p'}, {"top", required_argument, NULL, 'n'},
        {"from", required_argument, NULL, 'f'}, {"to", required_argument, NULL, 't'},
        {"native", no_argument, NULL, 'N'}, {"help", no_argument, NULL, 'h'},
        {"min-share", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0}};
    double min_share = 1.0;
    char *end = NULL;
    int c, taken;
    while ((c = getopt_long(argc, argv, "jn:p:h", opts, NULL)) != -1) {
        if ((taken = mt_report_arg("diff", c, optarg, &ra)) != 0) {
            if (taken < 0)
                return MT_EXIT_USAGE;
            continue;
        }
        switch (c) {
        case 'f': a.spec = optarg; break;
        case 't': b.spec = optarg; break;
        case 'm':
            min_share = strtod(optarg, &end);
            if (end == optarg || *end || min_share < 0 || min_share > 100) {
                mt_error("diff: --min-share wants a percentage from 0 to 100, not '%s'", optarg);
                return MT_EXIT_USAGE;
            }
            break;
        default: return mt_usage(mt_usage_diff, c == 'h');
        }
    }
    if (optind == argc - 2 && !a.spec && !b.spec && !ra.pid && !ra.native)
        return mt_diff_runs(argv[optind], argv[optind + 1], ra.top, ra.json, min_share);
    if (optind != argc - 1 || !a.spec || !b.spec)
        return mt_usage(mt_usage_diff, 0);
    int json = ra.json, top = ra.top, native = ra.native;
    sqlite3 *db;
    int rc = mt_db_open_process(argv[optind], ra.pid, &db);
    if (rc)
        return rc;
    rc = resolve(db, &a);
    if (!rc)
        rc = resolve(db, &b);
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    /* The query of docs/schema.md ("What grew between two markers?"), in
     * one pass (site_scan.h says why). */
    struct mt_sites sites = {0};
    rc = mt_scan_diff(db, native, a.seq, b.seq, &sites);
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    int shown = sites.n < top ? sites.n : top;
    if (json) {
        putchar('{');
        json_point("from", &a);
        fputs(", ", stdout);
        json_point("to", &b);
        printf(", \"delta_bytes\": %lld, \"delta_count\": %lld, \"changed_sites\": %d, \"sites\": [",
               (long long)(b.bytes - a.bytes), (long long)(b.count - a.count), sites.n);
        for (int i = 0; i < shown; i++) {
            const struct mt_site *s = &sites.v[i];
            fputs(i ? ", " : "", stdout);
            mt_site_json_open(stdout, s);
            printf(", \"bytes_from\": %lld, \"bytes_to\": %lld, \"delta_bytes\": %lld,"
                   " \"count_from\": %lld, \"count_to\": %lld, \"delta_count\": %lld}",
                   (long long)s->extra[0], (long long)s->bytes,
                   (long long)(s->bytes - s->extra[0]), (long long)s->extra[1],
                   (long long)s->count, (long long)(s->count - s->extra[1]));
        }
        printf("]}\n");
    } else {
        char b1[32], b2[32], b3[32];
        mt_sample_note(stdout, db);
        printf("from %-10s %8.3f s  %12s in %lld blocks\n", a.spec, (double)a.ns / 1e9,
               mt_human_bytes((uint64_t)a.bytes, b1, sizeof b1), (long long)a.count);
        printf("to   %-10s %8.3f s  %12s in %lld blocks\n", b.spec, (double)b.ns / 1e9,
               mt_human_bytes((uint64_t)b.bytes, b1, sizeof b1), (long long)b.count);
        int64_t d = b.bytes - a.bytes;
        printf("change %s%s; %d sites changed, largest growth first:\n", d < 0 ? "-" : "+",
               mt_human_bytes((uint64_t)(d < 0 ? -d : d), b1, sizeof b1), sites.n);
        printf("  %12s %12s %13s %11s  %s\n", "at from", "at to", "change", "blocks +/-", "site");
        for (int i = 0; i < shown; i++) {
            const struct mt_site *s = &sites.v[i];
            int64_t ds = s->bytes - s->extra[0];
            char delta[40];
            snprintf(delta, sizeof delta, "%s%s", ds < 0 ? "-" : "+",
                     mt_human_bytes((uint64_t)(ds < 0 ? -ds : ds), b3, sizeof b3));
            printf("  %12s %12s %13s %+11lld  ", mt_human_bytes((uint64_t)s->extra[0], b1, sizeof b1),
                   mt_human_bytes((uint64_t)s->bytes, b2, sizeof b2), delta,
                   (long long)(s->count - s->extra[1]));
            mt_site_print_name(stdout, s);
            putchar('\n');
        }
        if (sites.n > shown)
            printf("  ... %d more sites (--top)\n", sites.n - shown);
    }
    mt_sites_free(&sites);
    sqlite3_close(db);
    return MT_EXIT_OK;
}
