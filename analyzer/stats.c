/* stats.c - `memtap stats TRACE|DB [--json] [--top N] [--pid PID]`: how
 * big the allocations are and how long the freed ones lived, over the run
 * and for its busiest sites (those with the most allocations), and the
 * sites of temporaries: blocks freed within TEMP_EVENTS events of their
 * allocation. All from the loader's exact per-stack histograms (tables
 * sizes, lifetimes, lifetime_times; views site_sizes, site_lifetimes,
 * site_lifetime_times). A lifetime in events counts the allocations and
 * frees between (program progress); one in time is as fine as the RSS
 * samples (--sample-ms). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "keep.h"
#include "report.h"
#include "tree.h"
#include "util.h"

#define TEMP_EVENTS 16 /* lifetime buckets 0 and 1: [1, 16) events */

const char mt_usage_stats[] =
    "usage: memtap stats [--json] [--top N] [--pid PID] TRACE|DB\n"
    "  histograms of allocation sizes and of freed blocks' lifetimes (in events and\n"
    "  in time), over the run and for the N sites with the most allocations\n"
    "  (default 3), and the sites of temporaries (freed within 16 events)\n";

struct hist {
    int64_t size[MT_SIZE_BUCKETS], events[MT_LIFETIME_BUCKETS], time[MT_LIFETIME_TIME_BUCKETS];
};

/* Adds the buckets of sql's rows (bucket, count) into v (n buckets). */
static int add_rows(sqlite3 *db, const char *sql, const struct mt_site *site, int64_t *v, int n)
{
    sqlite3_stmt *st;
    if (mt_prepare(db, sql, &st) != 0)
        return MT_EXIT_FAIL;
    if (site) {
        if (site->function)
            sqlite3_bind_text(st, 1, site->function, -1, SQLITE_STATIC);
        if (site->file)
            sqlite3_bind_text(st, 2, site->file, -1, SQLITE_STATIC);
        if (site->has_line)
            sqlite3_bind_int(st, 3, site->line);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        int b = sqlite3_column_int(st, 0);
        if (b >= 0 && b < n)
            v[b] += sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return MT_EXIT_OK;
}

#define SITE_MATCH " WHERE function IS ?1 AND file IS ?2 AND line IS ?3 GROUP BY bucket"

static int histograms(sqlite3 *db, const struct mt_site *site, struct hist *h)
{
    memset(h, 0, sizeof *h);
    if (site)
        return add_rows(db, "SELECT bucket, sum(count) FROM site_sizes" SITE_MATCH, site, h->size,
                        MT_SIZE_BUCKETS) |
               add_rows(db, "SELECT bucket, sum(count) FROM site_lifetimes" SITE_MATCH, site,
                        h->events, MT_LIFETIME_BUCKETS) |
               add_rows(db, "SELECT bucket, sum(count) FROM site_lifetime_times" SITE_MATCH, site,
                        h->time, MT_LIFETIME_TIME_BUCKETS);
    return add_rows(db, "SELECT bucket, sum(count) FROM sizes GROUP BY bucket", NULL, h->size,
                    MT_SIZE_BUCKETS) |
           add_rows(db, "SELECT bucket, sum(count) FROM lifetimes GROUP BY bucket", NULL,
                    h->events, MT_LIFETIME_BUCKETS) |
           add_rows(db, "SELECT bucket, sum(count) FROM lifetime_times GROUP BY bucket", NULL,
                    h->time, MT_LIFETIME_TIME_BUCKETS);
}

enum hist_kind { SIZES, EVENTS, TIMES };

/* Bucket b of a histogram of that kind holds [*lo, *hi] (bytes, events, or
 * milliseconds: [lo, hi) for times); *hi = -1 for the last, open one. */
static void bucket_bounds(enum hist_kind kind, int b, long long *lo, long long *hi)
{
    static const int last[] = {MT_SIZE_BUCKETS - 1, MT_LIFETIME_BUCKETS - 1,
                               MT_LIFETIME_TIME_BUCKETS - 1};
    long long ten = 1;
    for (int i = 0; i < b; i++)
        ten *= 10;
    switch (kind) {
    case SIZES: *lo = b ? 1ll << b : 0, *hi = (2ll << b) - 1; break;
    case EVENTS: *lo = 1ll << (2 * b), *hi = (1ll << (2 * b + 2)) - 1; break;
    case TIMES: *lo = b ? ten / 10 : 0, *hi = ten; break;
    }
    if (b == last[kind])
        *hi = -1;
}

static void bucket_text(enum hist_kind kind, int b, char *out, size_t cap)
{
    long long lo, hi;
    bucket_bounds(kind, b, &lo, &hi);
    char l[32], h[32];
    switch (kind) {
    case SIZES:
        mt_human_bytes((uint64_t)lo, l, sizeof l);
        if (hi < 0)
            snprintf(out, cap, "%s and more", l);
        else
            snprintf(out, cap, "%s - %s", l, mt_human_bytes((uint64_t)hi, h, sizeof h));
        break;
    case EVENTS:
        if (hi < 0)
            snprintf(out, cap, "%lld events and more", lo);
        else
            snprintf(out, cap, "%lld - %lld events", lo, hi);
        break;
    case TIMES:
        if (!lo)
            snprintf(out, cap, "under %lld ms", hi);
        else if (hi < 0)
            snprintf(out, cap, "%g s and more", (double)lo / 1000);
        else if (hi <= 100)
            snprintf(out, cap, "%lld - %lld ms", lo, hi);
        else
            snprintf(out, cap, "%g - %g s", (double)lo / 1000, (double)hi / 1000);
        break;
    }
}

static void print_hist(const char *title, const int64_t *v, int n, enum hist_kind kind,
                       int indent)
{
    int64_t total = 0, max = 0;
    for (int b = 0; b < n; b++) {
        total += v[b];
        if (v[b] > max)
            max = v[b];
    }
    printf("%*s%s (%lld):\n", indent, "", title, (long long)total);
    for (int b = 0; b < n; b++) {
        if (!v[b])
            continue;
        char r[64], bar[41];
        bucket_text(kind, b, r, sizeof r);
        int len = max ? (int)((v[b] * 40 + max - 1) / max) : 0;
        memset(bar, '#', (size_t)len);
        bar[len] = 0;
        printf("%*s  %-24s %12lld %5.1f%%  %s\n", indent, "", r, (long long)v[b],
               total ? 100.0 * (double)v[b] / (double)total : 0.0, bar);
    }
}

static void json_hist(const char *key, const int64_t *v, int n, enum hist_kind kind)
{
    static const char *const unit[] = {"bytes", "events", "ms"};
    printf("\"%s\": [", key);
    int first = 1;
    for (int b = 0; b < n; b++) {
        if (!v[b])
            continue;
        long long lo, hi;
        bucket_bounds(kind, b, &lo, &hi);
        printf("%s{\"bucket\": %d, \"min_%s\": %lld, \"max_%s\": ", first ? "" : ", ", b,
               unit[kind], lo, unit[kind]);
        first = 0;
        hi < 0 ? printf("null") : printf("%lld", hi);
        printf(", \"count\": %lld}", (long long)v[b]);
    }
    printf("]");
}

static void json_hists(const struct hist *h)
{
    json_hist("sizes", h->size, MT_SIZE_BUCKETS, SIZES);
    printf(", ");
    json_hist("lifetimes_events", h->events, MT_LIFETIME_BUCKETS, EVENTS);
    printf(", ");
    json_hist("lifetimes_time", h->time, MT_LIFETIME_TIME_BUCKETS, TIMES);
}

int mt_cmd_stats(int argc, char **argv)
{
    struct mt_report_args ra = {.top = 3};
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"top", required_argument, NULL, 'n'},
        {"pid", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c, taken;
    while ((c = getopt_long(argc, argv, "jn:p:h", opts, NULL)) != -1)
        if ((taken = mt_report_arg("stats", c, optarg, &ra)) <= 0)
            return taken < 0 ? MT_EXIT_USAGE : mt_usage(mt_usage_stats, c == 'h');
    if (optind != argc - 1)
        return mt_usage(mt_usage_stats, 0);
    sqlite3 *db;
    int rc = mt_db_open_process(argv[optind], ra.pid, &db);
    if (rc)
        return rc;
    struct hist all;
    struct mt_sites busy = {0}, temp = {0};
    rc = histograms(db, NULL, &all);
    if (!rc)
        rc = mt_sites_query(db,
                            "SELECT function, file, line, bytes, count FROM site_totals"
                            " ORDER BY count DESC, bytes DESC",
                            0, &busy);
    /* temporaries per site, with the site's allocations beside (extra[0]) */
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT l.function, l.file, l.line, 0, sum(l.count),"
             " (SELECT count FROM site_totals t WHERE t.function IS l.function"
             "  AND t.file IS l.file AND t.line IS l.line)"
             " FROM site_lifetimes l WHERE l.max_events < %d"
             " GROUP BY l.function, l.file, l.line ORDER BY sum(l.count) DESC",
             TEMP_EVENTS);
    if (!rc)
        rc = mt_sites_query(db, sql, 1, &temp);
    int shown = busy.n < ra.top ? busy.n : ra.top;
    int temps = temp.n < 10 ? temp.n : 10;
    struct hist *per = calloc((size_t)(shown ? shown : 1), sizeof *per);
    for (int i = 0; !rc && per && i < shown; i++)
        rc = histograms(db, &busy.v[i], &per[i]);
    if (!per)
        rc = MT_EXIT_FAIL;
    if (!rc && ra.json) {
        printf("{\"allocations\": %lld, \"bytes_allocated\": %lld, \"temporary_events\": %d, ",
               (long long)mt_db_meta_int(db, "allocations", 0),
               (long long)mt_db_meta_int(db, "bytes_allocated", 0), TEMP_EVENTS);
        json_hists(&all);
        printf(", \"sites\": [");
        for (int i = 0; i < shown; i++) {
            printf(i ? ", " : "");
            mt_site_json_open(stdout, &busy.v[i]);
            printf(", ");
            json_hists(&per[i]);
            printf("}");
        }
        printf("], \"temporaries\": [");
        for (int i = 0; i < temp.n; i++) {
            const struct mt_site *s = &temp.v[i];
            printf("%s{\"function\": ", i ? ", " : "");
            mt_json_string(stdout, s->function);
            printf(", \"file\": ");
            mt_json_string(stdout, s->file);
            printf(", \"line\": ");
            s->has_line ? printf("%d", s->line) : printf("null");
            printf(", \"count\": %lld, \"site_allocations\": %lld}", (long long)s->count,
                   (long long)s->extra[0]);
        }
        printf("]}\n");
    } else if (!rc) {
        char b1[32];
        printf("%lld allocations, %s in total\n\n",
               (long long)mt_db_meta_int(db, "allocations", 0),
               mt_human_bytes((uint64_t)mt_db_meta_int(db, "bytes_allocated", 0), b1, sizeof b1));
        print_hist("sizes of all allocations", all.size, MT_SIZE_BUCKETS, SIZES, 0);
        print_hist("lifetimes of the freed blocks, in events (allocations and frees between)",
                   all.events, MT_LIFETIME_BUCKETS, EVENTS, 0);
        print_hist("the same in time (as fine as the RSS samples)", all.time,
                   MT_LIFETIME_TIME_BUCKETS, TIMES, 0);
        printf("\ntemporaries (freed within %d events), by site:\n", TEMP_EVENTS - 1);
        printf("  %12s %7s  %s\n", "blocks", "of site", "site");
        for (int i = 0; i < temps; i++) {
            const struct mt_site *s = &temp.v[i];
            printf("  %12lld %6.1f%%  ", (long long)s->count,
                   s->extra[0] ? 100.0 * (double)s->count / (double)s->extra[0] : 0.0);
            mt_site_print_name(stdout, s);
            putchar('\n');
        }
        for (int i = 0; i < shown; i++) {
            printf("\nsite %d of the most allocations: ", i + 1);
            mt_site_print_name(stdout, &busy.v[i]);
            printf(", %lld allocations, %s\n", (long long)busy.v[i].count,
                   mt_human_bytes((uint64_t)busy.v[i].bytes, b1, sizeof b1));
            print_hist("sizes", per[i].size, MT_SIZE_BUCKETS, SIZES, 2);
            print_hist("lifetimes in events", per[i].events, MT_LIFETIME_BUCKETS, EVENTS, 2);
            print_hist("lifetimes in time", per[i].time, MT_LIFETIME_TIME_BUCKETS, TIMES, 2);
        }
    }
    free(per);
    mt_sites_free(&busy);
    mt_sites_free(&temp);
    sqlite3_close(db);
    return rc;
}
