/* diff_runs.c - `memtap diff A B`: two runs of the same program (before
 * and after a change), site by site: the bytes each site held at its run's
 * heap peak, the bytes it allocated, and the bytes it left live at exit,
 * in A and in B, largest change first.
 *
 * Sites are matched by function, file and line (a site in one run only is
 * matched by nothing: all of it is a change). Two runs of a program are
 * never identical to the byte (hash seeds, import order, allocator reuse),
 * so a site is shown when one of its changes is at least --min-share
 * percent (default 1) of the larger run's figure of that kind: its peak,
 * its bytes allocated, or its live at exit; --min-share 0 shows every site
 * that changed at all.
 */
#define _GNU_SOURCE
#include "diff_runs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "report.h"
#include "util.h"

enum { PEAK, ALLOC, EXIT, KINDS };
static const char *const kind_key[KINDS] = {"peak", "allocated", "live_at_exit"};
static const char *const kind_meta[KINDS] = {"peak_bytes", "bytes_allocated",
                                             "live_at_exit_bytes"};

struct change {
    char *function, *file;
    int64_t line;
    int64_t a[KINDS], b[KINDS];
    int64_t rank; /* the largest change, absolute */
};

/* Per site and run: its figures, in a FULL OUTER JOIN of the two. */
#define SITE_FIGURES(db)                                                                     \
    "SELECT coalesce(function, '') AS fn, coalesce(file, '') AS fl, coalesce(line, 0) AS ln," \
    " sum(peak) AS peak, sum(alloc) AS alloc, sum(ex) AS ex FROM (SELECT function, file,"     \
    " line, bytes AS peak, 0 AS alloc, 0 AS ex FROM " db ".peak_sites UNION ALL SELECT"       \
    " function, file, line, 0, bytes, live_at_exit_bytes FROM " db ".site_totals)"            \
    " GROUP BY 1, 2, 3"

static const char join_sql[] =
    "WITH a AS (" SITE_FIGURES("main") "), b AS (" SITE_FIGURES("run_b") ")"
    " SELECT coalesce(a.fn, b.fn), coalesce(a.fl, b.fl), coalesce(a.ln, b.ln),"
    " coalesce(a.peak, 0), coalesce(a.alloc, 0), coalesce(a.ex, 0),"
    " coalesce(b.peak, 0), coalesce(b.alloc, 0), coalesce(b.ex, 0)"
    " FROM a FULL OUTER JOIN b ON a.fn = b.fn AND a.fl = b.fl AND a.ln = b.ln";

static int cmp_rank(const void *x, const void *y)
{
    const struct change *a = x, *b = y;
    if (a->rank != b->rank)
        return a->rank < b->rank ? 1 : -1;
    int c = strcmp(a->function, b->function);
    if (!c)
        c = strcmp(a->file, b->file);
    return c ? c : (a->line > b->line) - (a->line < b->line);
}

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

/* As the other reports name a site (report.h); "" from the join is NULL. */
static struct mt_site site_of(const struct change *c)
{
    struct mt_site s = {0};
    s.function = c->function[0] ? c->function : NULL;
    s.file = c->file[0] ? c->file : NULL;
    s.line = (int)c->line;
    s.has_line = c->line > 0;
    return s;
}

static const char *signed_bytes(int64_t v, char *buf, size_t cap)
{
    char h[32];
    snprintf(buf, cap, "%s%s", v < 0 ? "-" : v > 0 ? "+" : "", mt_human_bytes((uint64_t)abs64(v), h, sizeof h));
    return buf;
}

int mt_diff_runs(const char *path_a, const char *path_b, int top, int json, double min_share)
{
    sqlite3 *db;
    int rc = mt_db_open_input(path_a, &db);
    if (rc)
        return rc;
    char db_b[4096];
    sqlite3 *check_b;
    rc = mt_db_open_input(path_b, &check_b); /* loads B when it is a trace */
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    const char *file_b = sqlite3_db_filename(check_b, "main");
    snprintf(db_b, sizeof db_b, "%s", file_b ? file_b : "");
    int64_t total_a[KINDS], total_b[KINDS];
    for (int k = 0; k < KINDS; k++) {
        total_a[k] = mt_db_meta_int(db, kind_meta[k], 0);
        total_b[k] = mt_db_meta_int(check_b, kind_meta[k], 0);
    }
    sqlite3_close(check_b);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "ATTACH DATABASE ? AS run_b", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_text(st, 1, db_b, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE) {
        mt_error("%s: %s", path_b, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return MT_EXIT_FAIL;
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db, join_sql, -1, &st, NULL) != SQLITE_OK) {
        mt_error("diff: %s", sqlite3_errmsg(db));
        sqlite3_close(db);
        return MT_EXIT_FAIL;
    }
    struct change *v = NULL;
    size_t n = 0, cap = 0, changed = 0;
    int step;
    rc = MT_EXIT_OK;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct change c = {0};
        int64_t rank = 0, shown = 0;
        for (int k = 0; k < KINDS; k++) {
            c.a[k] = sqlite3_column_int64(st, 3 + k);
            c.b[k] = sqlite3_column_int64(st, 6 + k);
            int64_t d = abs64(c.b[k] - c.a[k]);
            int64_t base = total_a[k] > total_b[k] ? total_a[k] : total_b[k];
            if (d > rank)
                rank = d;
            if (d > 0 && (double)d >= min_share / 100.0 * (double)base)
                shown = 1;
        }
        if (rank == 0)
            continue;
        changed++;
        if (!shown)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            struct change *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                rc = MT_EXIT_FAIL;
                break;
            }
            v = nv;
        }
        c.function = strdup((const char *)sqlite3_column_text(st, 0));
        c.file = strdup((const char *)sqlite3_column_text(st, 1));
        c.line = sqlite3_column_int64(st, 2);
        c.rank = rank;
        if (!c.function || !c.file) {
            free(c.function);
            free(c.file);
            rc = MT_EXIT_FAIL;
            break;
        }
        v[n++] = c;
    }
    if (rc == MT_EXIT_OK && step != SQLITE_DONE) {
        mt_error("diff: %s", sqlite3_errmsg(db));
        rc = MT_EXIT_FAIL;
    } else if (rc != MT_EXIT_OK) {
        mt_error("out of memory");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rc == MT_EXIT_OK) {
        qsort(v, n, sizeof *v, cmp_rank);
        size_t shown = n < (size_t)top ? n : (size_t)top;
        if (json) {
            printf("{\"a\": ");
            mt_json_string(stdout, path_a);
            printf(", \"b\": ");
            mt_json_string(stdout, path_b);
            for (int k = 0; k < KINDS; k++)
                printf(", \"%s_a\": %lld, \"%s_b\": %lld", kind_key[k], (long long)total_a[k],
                       kind_key[k], (long long)total_b[k]);
            printf(", \"min_share_pct\": %g, \"changed_sites\": %zu, \"sites_above\": %zu,"
                   " \"sites\": [",
                   min_share, changed, n);
            for (size_t i = 0; i < shown; i++) {
                const struct change *c = &v[i];
                printf("%s{\"function\": ", i ? ", " : "");
                mt_json_string(stdout, c->function[0] ? c->function : NULL);
                printf(", \"file\": ");
                mt_json_string(stdout, c->file[0] ? c->file : NULL);
                if (c->line > 0)
                    printf(", \"line\": %lld", (long long)c->line);
                else
                    printf(", \"line\": null");
                for (int k = 0; k < KINDS; k++)
                    printf(", \"%s_a\": %lld, \"%s_b\": %lld, \"%s_delta\": %lld", kind_key[k],
                           (long long)c->a[k], kind_key[k], (long long)c->b[k], kind_key[k],
                           (long long)(c->b[k] - c->a[k]));
                putchar('}');
            }
            printf("]}\n");
        } else {
            char b1[32], b2[32], b3[32];
            printf("A  %s\nB  %s\n", path_a, path_b);
            const char *label[KINDS] = {"heap peak", "allocated", "live at exit"};
            for (int k = 0; k < KINDS; k++)
                printf("%-13s %12s -> %-12s %s\n", label[k],
                       mt_human_bytes((uint64_t)total_a[k], b1, sizeof b1),
                       mt_human_bytes((uint64_t)total_b[k], b2, sizeof b2),
                       signed_bytes(total_b[k] - total_a[k], b3, sizeof b3));
            printf("\n%zu sites changed; %zu by at least %g%% of a run's figure, largest change"
                   " first:\n",
                   changed, n, min_share);
            printf("  %13s %13s %13s  %s\n", "at the peak", "allocated", "live at exit", "site");
            for (size_t i = 0; i < shown; i++) {
                const struct change *c = &v[i];
                char d[KINDS][40];
                for (int k = 0; k < KINDS; k++)
                    signed_bytes(c->b[k] - c->a[k], d[k], sizeof d[k]);
                printf("  %13s %13s %13s  ", d[PEAK], d[ALLOC], d[EXIT]);
                struct mt_site site = site_of(c);
                mt_site_print_name(stdout, &site);
                putchar('\n');
            }
            if (n > shown)
                printf("  ... %zu more sites (--top)\n", n - shown);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(v[i].function);
        free(v[i].file);
    }
    free(v);
    return rc;
}
