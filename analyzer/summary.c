/* summary.c - `memtap summary TRACE|DB [--json] [--top N]`: the headline
 * figures of a run and the allocation sites live at the heap peak. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "util.h"

struct site {
    char *function, *file;
    int line; /* 0 when unknown */
    int64_t bytes, count;
};

static char *dup_col(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? strdup((const char *)s) : NULL;
}

static int top_sites(sqlite3 *db, int top, struct site **out, int *n)
{
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db, "SELECT function, file, line, bytes, count FROM peak_sites LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK) {
        mt_error("database: %s", sqlite3_errmsg(db));
        return MT_EXIT_FAIL;
    }
    sqlite3_bind_int(st, 1, top);
    struct site *s = calloc((size_t)top + 1, sizeof *s);
    while (s && sqlite3_step(st) == SQLITE_ROW) {
        struct site *x = &s[(*n)++];
        x->function = dup_col(st, 0);
        x->file = dup_col(st, 1);
        x->line = sqlite3_column_int(st, 2);
        x->bytes = sqlite3_column_int64(st, 3);
        x->count = sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    *out = s;
    return s ? MT_EXIT_OK : MT_EXIT_FAIL;
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void print_site_name(FILE *out, const struct site *s)
{
    if (!s->function)
        fputs("(no stack: interpreter start-up, or no Python frame)", out);
    else if (s->file)
        fprintf(out, "%s (%s:%d)", s->function, s->file, s->line);
    else
        fputs(s->function, out);
}

int mt_cmd_summary(int argc, char **argv)
{
    int json = 0, top = 10;
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"top", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "+jn:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'n':
            top = atoi(optarg);
            if (top <= 0 || top > 100000) {
                mt_error("summary: --top wants a number from 1 to 100000");
                return MT_EXIT_USAGE;
            }
            break;
        case 'h':
            puts("usage: memtap summary [--json] [--top N] TRACE|DB");
            return MT_EXIT_OK;
        default: return MT_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        mt_error("usage: memtap summary [--json] [--top N] TRACE|DB");
        return MT_EXIT_USAGE;
    }
    sqlite3 *db;
    int rc = mt_db_open_input(argv[optind], &db);
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
    int64_t rss = query_int(db, "SELECT coalesce(max(rss_bytes), 0) FROM samples");
    char cmd[2048];
    mt_db_meta_text(db, "command_line", cmd, sizeof cmd);
    struct site *sites;
    int nsites;
    rc = top_sites(db, top, &sites, &nsites);
    sqlite3_close(db);
    if (rc)
        return rc;

    if (json) {
        printf("{\"command\": ");
        mt_json_string(stdout, cmd);
        printf(", \"duration_s\": %.6f, \"allocations\": %lld, \"frees\": %lld,"
               " \"bytes_allocated\": %lld, \"peak_bytes\": %lld, \"peak_time_s\": %.6f,"
               " \"peak_rss_bytes\": %lld, \"live_at_exit_bytes\": %lld,"
               " \"live_at_exit_count\": %lld, \"unmatched_frees\": %lld, \"top_sites\": [",
               duration, (long long)allocs, (long long)frees, (long long)bytes, (long long)peak,
               peak_s, (long long)rss, (long long)live, (long long)live_n,
               (long long)unmatched);
        for (int i = 0; i < nsites; i++) {
            printf("%s{\"function\": ", i ? ", " : "");
            mt_json_string(stdout, sites[i].function);
            printf(", \"file\": ");
            mt_json_string(stdout, sites[i].file);
            if (sites[i].file)
                printf(", \"line\": %d", sites[i].line);
            else
                printf(", \"line\": null");
            printf(", \"bytes\": %lld, \"count\": %lld}", (long long)sites[i].bytes,
                   (long long)sites[i].count);
        }
        printf("]}\n");
    } else {
        char b1[32], b2[32], b3[32], b4[32];
        printf("command       %s\n", cmd);
        printf("duration      %.3f s\n", duration);
        printf("allocations   %lld (%s in total)\n", (long long)allocs,
               mt_human_bytes((uint64_t)bytes, b1, sizeof b1));
        printf("frees         %lld%s\n", (long long)frees,
               unmatched ? " (plus unmatched frees of blocks allocated before tracing)" : "");
        printf("heap peak     %s (%lld bytes) at %.3f s\n",
               mt_human_bytes((uint64_t)peak, b2, sizeof b2), (long long)peak, peak_s);
        if (rss)
            printf("peak RSS      %s\n", mt_human_bytes((uint64_t)rss, b4, sizeof b4));
        printf("live at exit  %s in %lld blocks\n", mt_human_bytes((uint64_t)live, b3, sizeof b3),
               (long long)live_n);
        printf("\ntop allocation sites live at the heap peak:\n");
        printf("  %12s %10s %6s  %s\n", "bytes", "blocks", "share", "site");
        for (int i = 0; i < nsites; i++) {
            printf("  %12s %10lld %5.1f%%  ", mt_human_bytes((uint64_t)sites[i].bytes, b1, sizeof b1),
                   (long long)sites[i].count,
                   peak ? 100.0 * (double)sites[i].bytes / (double)peak : 0.0);
            print_site_name(stdout, &sites[i]);
            putchar('\n');
        }
    }
    for (int i = 0; i < nsites; i++) {
        free(sites[i].function);
        free(sites[i].file);
    }
    free(sites);
    return MT_EXIT_OK;
}
