/* peak.c - `memtap peak TRACE|DB [--by line|function|file|stack] [--top N]
 * [--native] [--json]`: the allocations live at the heap high-water mark,
 * grouped, with bytes, block counts and share of the peak. Exact: every
 * live block is in exactly one group, and the groups past --top are summed
 * in one "other" row, so the rows add up to the peak. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "report.h"
#include "tree.h"
#include "util.h"

enum by { BY_LINE, BY_FUNCTION, BY_FILE, BY_STACK };
static const char *const by_names[] = {"line", "function", "file", "stack"};

static int build_sql(enum by by, int native, char *sql, size_t cap)
{
    const char *cols, *group;
    switch (by) {
    case BY_FUNCTION: cols = "f.function, f.file, NULL"; group = "f.function, f.file"; break;
    case BY_FILE: cols = "NULL, f.file, NULL"; group = "f.file"; break;
    case BY_STACK: cols = "f.function, f.file, f.line"; group = "a.stack_id"; break;
    default: cols = "f.function, f.file, f.line"; group = "f.function, f.file, f.line"; break;
    }
    return mt_fmt(sql, cap,
                  "SELECT %s, sum(a.bytes) AS bytes, sum(a.count) AS count, min(a.stack_id)"
                  " FROM peak_live a LEFT JOIN stacks s ON s.id = a.stack_id"
                  " LEFT JOIN frames f ON f.id = %s GROUP BY %s"
                  " ORDER BY bytes DESC, count DESC, 1, 2, 3",
                  cols, mt_site_frame_column(native), group);
}

struct peak_args {
    int json, top, native;
    enum by by;
    int members; /* JSON: print the members alone (a run's object holds them) */
};

/* One process's sites live at its heap peak. */
static int peak_of(sqlite3 *db, void *ctx)
{
    const struct peak_args *pa = ctx;
    int json = pa->json, top = pa->top, native = pa->native;
    enum by by = pa->by;
    char sql[1024];
    build_sql(by, native, sql, sizeof sql);
    struct mt_sites sites;
    int rc = mt_sites_query(db, sql, 1, &sites);
    if (rc)
        return rc;
    int64_t peak = mt_db_meta_int(db, "peak_bytes", 0);
    double peak_s = (double)mt_db_meta_int(db, "peak_ns", 0) / 1e9;
    int64_t rss = mt_peak_rss(db);
    int64_t rss_at = mt_query_int(db, "SELECT coalesce((SELECT rss_bytes FROM samples"
                                      " WHERE seq <= (SELECT value FROM meta WHERE key ="
                                      " 'peak_seq') ORDER BY seq DESC, ns DESC LIMIT 1), 0)");
    if (sites.bytes != peak)
        mt_warn("the live blocks add up to %lld bytes, the recorded peak is %lld",
                (long long)sites.bytes, (long long)peak);
    int shown = sites.n < top ? sites.n : top;
    int64_t other_bytes = 0, other_count = 0;
    for (int i = shown; i < sites.n; i++) {
        other_bytes += sites.v[i].bytes;
        other_count += sites.v[i].count;
    }
    if (json) {
        printf("%s\"peak_bytes\": %lld, \"peak_time_s\": %.6f, \"peak_rss_bytes\": %lld,"
               " \"rss_at_peak_bytes\": %lld, \"live_blocks\": %lld, \"by\": \"%s\", \"sites\": [",
               pa->members ? "" : "{", (long long)peak, peak_s, (long long)rss, (long long)rss_at,
               (long long)sites.count, by_names[by]);
        for (int i = 0; i < shown; i++) {
            fputs(i ? ", " : "", stdout);
            mt_site_json_open(stdout, &sites.v[i]);
            printf(", \"share\": %.6f", peak ? (double)sites.v[i].bytes / (double)peak : 0.0);
            if (by == BY_STACK) {
                printf(", \"stack_id\": %lld, \"frames\": ", (long long)sites.v[i].extra[0]);
                mt_print_stack(stdout, db, sites.v[i].extra[0], native, 1, 0);
            }
            putchar('}');
        }
        printf("], \"other\": {\"sites\": %d, \"bytes\": %lld, \"count\": %lld}%s",
               sites.n - shown, (long long)other_bytes, (long long)other_count,
               pa->members ? "" : "}\n");
    } else {
        char b1[32], b2[32];
        mt_sample_note(stdout, db);
        printf("heap peak %s (%lld bytes) at %.3f s, in %lld live blocks",
               mt_human_bytes((uint64_t)peak, b1, sizeof b1), (long long)peak, peak_s,
               (long long)sites.count);
        if (rss_at)
            printf("; RSS then %s", mt_human_bytes((uint64_t)rss_at, b2, sizeof b2));
        printf("\nlive at the peak, by %s%s:\n", by_names[by], native ? " (native frames)" : "");
        printf("  %12s %10s %6s  %s\n", "bytes", "blocks", "share", by_names[by]);
        for (int i = 0; i < shown; i++) {
            const struct mt_site *s = &sites.v[i];
            printf("  %12s %10lld %5.1f%%  ", mt_human_bytes((uint64_t)s->bytes, b1, sizeof b1),
                   (long long)s->count, peak ? 100.0 * (double)s->bytes / (double)peak : 0.0);
            mt_site_print_name(stdout, s);
            putchar('\n');
            if (by == BY_STACK)
                mt_print_stack(stdout, db, s->extra[0], native, 0, 12);
        }
        if (sites.n > shown)
            printf("  %12s %10lld %5.1f%%  (%d more; --top to see them)\n",
                   mt_human_bytes((uint64_t)other_bytes, b1, sizeof b1), (long long)other_count,
                   peak ? 100.0 * (double)other_bytes / (double)peak : 0.0, sites.n - shown);
        printf("  %12s %10lld %5.1f%%  total\n", mt_human_bytes((uint64_t)sites.bytes, b1, sizeof b1),
               (long long)sites.count, peak ? 100.0 * (double)sites.bytes / (double)peak : 0.0);
    }
    mt_sites_free(&sites);
    return MT_EXIT_OK;
}

const char mt_usage_peak[] =
    "usage: memtap peak [--by line|function|file|stack] [--top N] [--native] [--json]\n"
    "                   [--pid PID] TRACE|DB\n"
    "  --pid PID  one process of the run, not the first (memtap summary lists them)\n"
    "  a run of several processes: each one's sites at its own heap peak\n";

int mt_cmd_peak(int argc, char **argv)
{
    struct mt_report_args ra = {.top = 20};
    enum by by = BY_LINE;
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"pid", required_argument, NULL, 'p'}, {"top", required_argument, NULL, 'n'},
        {"by", required_argument, NULL, 'b'}, {"native", no_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},   {NULL, 0, NULL, 0}};
    int c, taken;
    while ((c = getopt_long(argc, argv, "jn:b:p:h", opts, NULL)) != -1) {
        if ((taken = mt_report_arg("peak", c, optarg, &ra)) != 0) {
            if (taken < 0)
                return MT_EXIT_USAGE;
            continue;
        }
        switch (c) {
        case 'b': {
            int found = mt_parse_choice("peak", "by", optarg, by_names, 4);
            if (found < 0)
                return MT_EXIT_USAGE;
            by = (enum by)found;
            break;
        }
        default: return mt_usage(mt_usage_peak, c == 'h');
        }
    }
    if (optind != argc - 1)
        return mt_usage(mt_usage_peak, 0);
    struct peak_args pa = {ra.json, ra.top, ra.native, by};
    sqlite3 *db;
    int rc = mt_db_open_process(argv[optind], ra.pid, &db);
    if (rc)
        return rc;
    int64_t procs = ra.pid ? 0 : mt_tree_count(db);
    int json = ra.json && procs > 1; /* the lists of several processes: one object */
    if (json)
        putchar('{');
    pa.members = json;
    rc = peak_of(db, &pa);
    if (!rc && procs > 1)
        rc = mt_tree_each(db, ra.json, peak_of, &pa);
    if (json)
        printf("}\n");
    sqlite3_close(db);
    return rc;
}
