/* summary.c - `memtap summary TRACE|DB [--json] [--top N]`: the headline
 * figures of a run: counts, the heap peak and the RSS peak with when each
 * happened and how much of the RSS peak the heap explains, and the
 * allocation sites live at the heap peak. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "mt_trace_format.h"
#include "db.h"
#include "report.h"
#include "tree.h"
#include "util.h"

struct rss_peak {
    int64_t rss, heap, ns; /* the sample with the highest RSS (first one) */
    int64_t anon, file, shmem; /* its parts; -1: not in the trace (before format 6) */
    int64_t own_max;           /* memtap's own, the most it was; -1: not in the trace */
};

static void find_rss_peak(sqlite3 *db, struct rss_peak *r)
{
    sqlite3_stmt *st;
    memset(r, 0, sizeof *r);
    r->anon = r->file = r->shmem = r->own_max = -1;
    if (sqlite3_prepare_v2(db, "SELECT rss_bytes, heap_bytes, ns, rss_anon_bytes, rss_file_bytes,"
                               " rss_shmem_bytes, (SELECT max(memtap_rss_bytes) FROM samples)"
                               " FROM samples ORDER BY rss_bytes DESC, seq, ns LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    if (sqlite3_step(st) == SQLITE_ROW) {
        r->rss = sqlite3_column_int64(st, 0);
        r->heap = sqlite3_column_int64(st, 1);
        r->ns = sqlite3_column_int64(st, 2);
        int64_t *parts[] = {&r->anon, &r->file, &r->shmem, &r->own_max};
        for (int i = 0; i < 4; i++)
            if (sqlite3_column_type(st, 3 + i) != SQLITE_NULL)
                *parts[i] = sqlite3_column_int64(st, 3 + i);
    }
    sqlite3_finalize(st);
}

/* A JSON integer, or null for -1 (not known). */
static void json_known(const char *key, int64_t v)
{
    if (v < 0)
        printf(", \"%s\": null", key);
    else
        printf(", \"%s\": %lld", key, (long long)v);
}

const char mt_usage_summary[] =
    "usage: memtap summary [--json] [--top N] [--pid PID] TRACE|DB\n"
    "  a run of several processes: the first one's figures, then the tree of\n"
    "  processes with each one's, and their RSS summed over time\n"
    "  --pid PID  one process of the run, not the first (memtap summary lists them)\n";

/* How the process ended: its exit status, the signal that killed it (the
 * launcher's record, or its parent's wait), or unknown (an older trace, or
 * one that was not closed: killed by SIGKILL, or crashed, where nothing
 * reaped it). */
struct ending {
    const char *how; /* "exit", "signal", "unknown" */
    int64_t status, signal; /* -1: not this way */
    char text[128];
};

static void find_ending(sqlite3 *db, struct ending *e)
{
    e->status = mt_db_meta_int(db, "exit_status", -1);
    e->signal = mt_db_meta_int(db, "exit_signal", -1);
    if (e->signal >= 0) {
        const char *name = sigabbrev_np((int)e->signal);
        e->how = "signal";
        e->status = -1;
        snprintf(e->text, sizeof e->text, "killed by signal %lld%s%s%s", (long long)e->signal,
                 name ? " (SIG" : "", name ? name : "", name ? ")" : "");
    } else if (e->status >= 0) {
        e->how = "exit";
        snprintf(e->text, sizeof e->text, "exit status %lld", (long long)e->status);
    } else {
        e->how = "unknown";
        snprintf(e->text, sizeof e->text, "%s",
                 mt_db_meta_int(db, "closed", 1)
                     ? "unknown (no exit status recorded)"
                     : "unknown: the trace was not closed (killed by SIGKILL, or crashed)");
    }
}

int mt_cmd_summary(int argc, char **argv)
{
    struct mt_report_args ra = {.top = 10};
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"pid", required_argument, NULL, 'p'}, {"top", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c, taken;
    while ((c = getopt_long(argc, argv, "jn:p:h", opts, NULL)) != -1)
        if ((taken = mt_report_arg("summary", c, optarg, &ra)) <= 0)
            return taken < 0 ? MT_EXIT_USAGE : mt_usage(mt_usage_summary, c == 'h');
    if (optind != argc - 1)
        return mt_usage(mt_usage_summary, 0);
    int json = ra.json, top = ra.top;
    sqlite3 *db;
    int rc = mt_db_open_process(argv[optind], ra.pid, &db);
    if (rc)
        return rc;
    int64_t allocs = mt_db_meta_int(db, "allocations", 0);
    int64_t frees = mt_db_meta_int(db, "frees", 0);
    int64_t bytes = mt_db_meta_int(db, "bytes_allocated", 0);
    int64_t peak = mt_db_meta_int(db, "peak_bytes", 0);
    double peak_s = (double)mt_db_meta_int(db, "peak_ns", 0) / 1e9;
    int64_t live = mt_db_meta_int(db, "live_at_exit_bytes", 0);
    int64_t live_n = mt_db_meta_int(db, "live_at_exit_count", 0);
    double duration = (double)mt_db_meta_int(db, "duration_ns", 0) / 1e9;
    int64_t unmatched = mt_db_meta_int(db, "unmatched_frees", 0);
    int64_t arenas = mt_db_meta_int(db, "pymalloc_arenas", 0);
    int64_t rate = mt_sample_rate_of(db);
    int64_t windowed = mt_db_meta_int(db, "windows", 0);
    int64_t stopped = mt_db_meta_int(db, "stopped", 0);
    char stop_reason[256];
    mt_db_meta_text(db, "stop_reason", stop_reason, sizeof stop_reason);
    double stop_s = (double)mt_db_meta_int(db, "stop_ns", 0) / 1e9;
    int64_t starts = windowed ? mt_query_int(db, "SELECT count(*) FROM markers WHERE label = '"
                                                     MT_MARKER_WINDOW_START "'")
                              : 0;
    int64_t stops = windowed ? mt_query_int(db, "SELECT count(*) FROM markers WHERE label = '"
                                                    MT_MARKER_WINDOW_STOP "'")
                             : 0;
    struct ending end;
    find_ending(db, &end);
    struct rss_peak rp;
    find_rss_peak(db, &rp);
    double rss_s = (double)rp.ns / 1e9;
    double explained = rp.rss ? (double)rp.heap / (double)rp.rss : 0;
    char cmd[2048];
    mt_db_meta_text(db, "command_line", cmd, sizeof cmd);
    struct mt_sites sites;
    rc = mt_sites_query(db, "SELECT function, file, line, bytes, count FROM peak_sites", 0, &sites);
    int64_t procs = ra.pid ? 0 : mt_tree_count(db);
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    int shown = sites.n < top ? sites.n : top;

    if (json) {
        printf("{\"command\": ");
        mt_json_string(stdout, cmd);
        printf(", \"duration_s\": %.6f, \"allocations\": %lld, \"frees\": %lld,"
               " \"bytes_allocated\": %lld, \"peak_bytes\": %lld, \"peak_time_s\": %.6f,"
               " \"peak_rss_bytes\": %lld, \"peak_rss_time_s\": %.6f,"
               " \"heap_at_peak_rss_bytes\": %lld, \"heap_share_of_peak_rss\": %.4f,"
               " \"live_at_exit_bytes\": %lld,"
               " \"live_at_exit_count\": %lld, \"unmatched_frees\": %lld,"
               " \"pymalloc_arenas\": %lld",
               duration, (long long)allocs, (long long)frees, (long long)bytes, (long long)peak,
               peak_s, (long long)rp.rss, rss_s, (long long)rp.heap, explained, (long long)live,
               (long long)live_n, (long long)unmatched, (long long)arenas);
        printf(", \"ended\": \"%s\"", end.how);
        json_known("exit_status", end.status);
        json_known("exit_signal", end.signal);
        json_known("peak_rss_anon_bytes", rp.anon);
        json_known("peak_rss_file_bytes", rp.file);
        json_known("peak_rss_shmem_bytes", rp.shmem);
        json_known("memtap_rss_max_bytes", rp.own_max);
        if (stopped) {
            printf(", \"partial\": {\"stopped_at_s\": %.6f, \"reason\": ", stop_s);
            mt_json_string(stdout, stop_reason);
            printf("}");
        }
        if (windowed)
            printf(", \"windows\": {\"started\": %lld, \"stopped\": %lld,"
                   " \"frees_of_unrecorded_blocks\": %lld}",
                   (long long)starts, (long long)stops, (long long)unmatched);
        if (rate)
            printf(", \"sampled\": {\"rate_bytes\": %lld, \"estimates\": \"bytes\","
                   " \"peak_bytes_error\": %lld, \"live_at_exit_bytes_error\": %lld}",
                   (long long)rate, (long long)mt_sample_error(rate, peak),
                   (long long)mt_sample_error(rate, live));
        if (procs > 1)
            mt_tree_json(db, stdout);
        printf(", \"top_sites\": [");
        for (int i = 0; i < shown; i++) {
            fputs(i ? ", " : "", stdout);
            mt_site_json_open(stdout, &sites.v[i]);
            putchar('}');
        }
        printf("]}\n");
    } else {
        char b1[32], b2[32];
        printf("command       %s\n", cmd);
        printf("duration      %.3f s\n", duration);
        printf("ended         %s\n", end.text);
        if (stopped)
            printf("partial       tracing stopped at %.3f s: %s; nothing the program\n"
                   "              did after that is in the trace (the figures below end there)\n",
                   stop_s, stop_reason);
        printf("allocations   %lld%s (%s%s in total)\n", (long long)allocs,
               rate ? " recorded" : "", rate ? "about " : "",
               mt_human_bytes((uint64_t)bytes, b1, sizeof b1));
        if (arenas)
            printf("              Python's small blocks as pymalloc's arenas"
                   " (--pymalloc arenas)\n");
        printf("frees         %lld\n", (long long)frees);
        if (windowed)
            printf("              and %lld of blocks never seen allocated: allocated between\n"
                   "              the recording windows (or before tracing)\n"
                   "windows       recording switched on %lld times, off %lld times (markers\n"
                   "              " MT_MARKER_WINDOW_START ", " MT_MARKER_WINDOW_STOP
                   "): the figures are what the\n"
                   "              windows recorded\n",
                   (long long)unmatched, (long long)starts, (long long)stops);
        else if (unmatched)
            printf("              and %lld of blocks never seen allocated: allocated before\n"
                   "              tracing, or by an allocator layer under memtap's hooks\n"
                   "              (python -X dev, -X tracemalloc)\n",
                   (long long)unmatched);
        mt_sample_note(stdout, db);
        if (rate)
            printf("heap peak     about %s (%lld bytes, +/- %s) at %.3f s\n",
                   mt_human_bytes((uint64_t)peak, b1, sizeof b1), (long long)peak,
                   mt_human_bytes((uint64_t)mt_sample_error(rate, peak), b2, sizeof b2), peak_s);
        else
            printf("heap peak     %s (%lld bytes) at %.3f s\n",
                   mt_human_bytes((uint64_t)peak, b1, sizeof b1), (long long)peak, peak_s);
        if (rp.rss) {
            printf("peak RSS      %s at %.3f s; the heap was %s of it (%.0f%%), the rest is\n"
                   "              code, stacks, allocator and interpreter overhead, mmap\n",
                   mt_human_bytes((uint64_t)rp.rss, b1, sizeof b1), rss_s,
                   mt_human_bytes((uint64_t)rp.heap, b2, sizeof b2), 100 * explained);
            if (rp.anon >= 0) {
                char b3[32];
                printf("              anonymous %s, file-backed %s, shared memory %s\n",
                       mt_human_bytes((uint64_t)rp.anon, b1, sizeof b1),
                       mt_human_bytes((uint64_t)rp.file, b2, sizeof b2),
                       mt_human_bytes((uint64_t)rp.shmem, b3, sizeof b3));
            }
            if (rp.own_max >= 0)
                printf("              (the program's: memtap's own tables and trace pages,\n"
                       "              %s at most, are measured and left out)\n",
                       mt_human_bytes((uint64_t)rp.own_max, b1, sizeof b1));
        } else {
            printf("peak RSS      not sampled (--sample-ms 0, or no /proc to read it from)\n");
        }
        if (rate)
            printf("%s  about %s (+/- %s) in %lld recorded blocks%s\n",
                   end.status >= 0 ? "live at exit" : "live at end ",
                   mt_human_bytes((uint64_t)live, b1, sizeof b1),
                   mt_human_bytes((uint64_t)mt_sample_error(rate, live), b2, sizeof b2),
                   (long long)live_n, end.status >= 0 ? "" : " (at the end of the trace)");
        else
            printf("%s  %s in %lld blocks%s\n", end.status >= 0 ? "live at exit" : "live at end ",
                   mt_human_bytes((uint64_t)live, b1, sizeof b1), (long long)live_n,
                   end.status >= 0 ? "" : " (at the end of the trace: the process did not exit)");
        printf("\ntop allocation sites live at the heap peak:\n");
        printf("  %12s %10s %6s  %s\n", "bytes", "blocks", "share", "site");
        for (int i = 0; i < shown; i++) {
            printf("  %12s %10lld %5.1f%%  ", mt_human_bytes((uint64_t)sites.v[i].bytes, b1, sizeof b1),
                   (long long)sites.v[i].count,
                   peak ? 100.0 * (double)sites.v[i].bytes / (double)peak : 0.0);
            mt_site_print_name(stdout, &sites.v[i]);
            putchar('\n');
        }
        if (procs > 1) {
            double at;
            int64_t tree_rss = mt_tree_peak_rss(db, &at);
            printf("\nprocesses     %lld in the run (figures above: the first; --pid PID for"
                   " another)\n", (long long)procs);
            mt_tree_print(db, stdout);
            printf("tree RSS peak %s at %.3f s: the processes' RSS summed (pages they share\n"
                   "              count in each)\n",
                   mt_human_bytes((uint64_t)tree_rss, b1, sizeof b1), at);
        }
        printf("\nnext: memtap peak | leaks | diff --from A --to B | flamegraph  %s\n",
               argv[optind]);
    }
    sqlite3_close(db);
    mt_sites_free(&sites);
    return MT_EXIT_OK;
}
