/* tree.c - a run's process tree in reports: the list of processes under
 * their parents with each one's figures, the tree's RSS peak (summed over
 * the processes alive at each time: load_run.c says what that counts), and
 * --pid, which points a report at one process's database. */
#define _GNU_SOURCE
#include "tree.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "util.h"

int64_t mt_tree_count(sqlite3 *db)
{
    sqlite3_stmt *st;
    int64_t n = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM processes", -1, &st, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

int64_t mt_tree_peak_rss(sqlite3 *db, double *at_s)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    *at_s = 0;
    if (sqlite3_prepare_v2(db, "SELECT rss_bytes, ns FROM tree_samples"
                               " ORDER BY rss_bytes DESC, ns LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
        *at_s = (double)sqlite3_column_int64(st, 1) / 1e9;
    }
    sqlite3_finalize(st);
    return v;
}

/* Depth-first, children in start order: each row with its depth. */
static const char tree_order[] =
    MT_TREE_WALK " SELECT t.depth, p.pid, p.ppid, p.command, p.peak_bytes, p.peak_rss_bytes,"
    " p.live_at_end_bytes, p.exit_status, p.exit_signal, p.closed, p.forked,"
    " p.start_ns, p.end_ns, p.inherited_bytes, p.traced, p.exec_path"
    " FROM t JOIN processes p ON p.id = t.id"
    " ORDER BY t.path";

enum { C_DEPTH, C_PID, C_PPID, C_CMD, C_PEAK, C_RSS, C_LIVE, C_STATUS, C_SIGNAL, C_CLOSED,
       C_FORKED, C_START, C_END, C_INHERITED, C_TRACED, C_EXEC };

#define UNTRACED "(no trace: a static or setuid program, or LD_PRELOAD removed)"

static void ended(sqlite3_stmt *st, char *buf, size_t cap)
{
    if (sqlite3_column_type(st, C_SIGNAL) != SQLITE_NULL)
        snprintf(buf, cap, "signal %d", sqlite3_column_int(st, C_SIGNAL));
    else if (sqlite3_column_type(st, C_STATUS) != SQLITE_NULL)
        snprintf(buf, cap, "exit %d", sqlite3_column_int(st, C_STATUS));
    else if (sqlite3_column_int(st, C_CLOSED))
        snprintf(buf, cap, "exited");
    else
        snprintf(buf, cap, "killed?");
}

void mt_tree_print(sqlite3 *db, FILE *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, tree_order, -1, &st, NULL) != SQLITE_OK)
        return;
    fprintf(out, "  %-14s %10s %10s %12s  %-9s %s\n", "pid", "heap peak", "RSS peak",
            "live at end", "ended", "command");
    while (sqlite3_step(st) == SQLITE_ROW) {
        char pid[32], b1[32], b2[32], b3[32], how[32];
        int depth = sqlite3_column_int(st, C_DEPTH);
        snprintf(pid, sizeof pid, "%*s%lld", 2 * (depth < 6 ? depth : 6), "",
                 (long long)sqlite3_column_int64(st, C_PID));
        ended(st, how, sizeof how);
        const char *text = (const char *)sqlite3_column_text(st, C_CMD);
        const char *exec = (const char *)sqlite3_column_text(st, C_EXEC);
        char cmd[64];
        size_t n = 0;
        for (; text && text[n] && n < sizeof cmd - 1; n++) /* one line: controls as spaces */
            cmd[n] = (unsigned char)text[n] < 0x20 ? ' ' : text[n];
        cmd[n] = 0;
        if (!sqlite3_column_int(st, C_TRACED)) {
            fprintf(out, "  %-14s %10s %10s %12s  %-9s %s\n", pid, "-", "-", "-", how, UNTRACED);
            continue;
        }
        fprintf(out, "  %-14s %10s %10s %12s  %-9s %s%s%s%.200s%s\n", pid,
                mt_human_bytes((uint64_t)sqlite3_column_int64(st, C_PEAK), b1, sizeof b1),
                mt_human_bytes((uint64_t)sqlite3_column_int64(st, C_RSS), b2, sizeof b2),
                mt_human_bytes((uint64_t)sqlite3_column_int64(st, C_LIVE), b3, sizeof b3), how,
                sqlite3_column_int(st, C_FORKED) ? "(fork) " : "", cmd,
                exec ? ", then exec " : "", exec ? exec : "", exec ? " " UNTRACED : "");
    }
    sqlite3_finalize(st);
}

static void json_int_or_null(FILE *out, const char *key, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        fprintf(out, ", \"%s\": null", key);
    else
        fprintf(out, ", \"%s\": %lld", key, (long long)sqlite3_column_int64(st, col));
}

void mt_tree_json(sqlite3 *db, FILE *out)
{
    sqlite3_stmt *st;
    fprintf(out, ", \"processes\": [");
    if (sqlite3_prepare_v2(db, tree_order, -1, &st, NULL) == SQLITE_OK) {
        for (int i = 0; sqlite3_step(st) == SQLITE_ROW; i++) {
            fprintf(out, "%s{\"pid\": %lld, \"ppid\": %lld, \"depth\": %d, \"command\": ",
                    i ? ", " : "", (long long)sqlite3_column_int64(st, C_PID),
                    (long long)sqlite3_column_int64(st, C_PPID),
                    sqlite3_column_int(st, C_DEPTH));
            mt_json_string(out, (const char *)sqlite3_column_text(st, C_CMD));
            fprintf(out, ", \"traced\": %s, \"exec_untraced\": ",
                    sqlite3_column_int(st, C_TRACED) ? "true" : "false");
            mt_json_string(out, (const char *)sqlite3_column_text(st, C_EXEC));
            fprintf(out, ", \"forked\": %s, \"start_time_s\": %.6f, \"end_time_s\": %.6f",
                    sqlite3_column_int(st, C_FORKED) ? "true" : "false",
                    (double)sqlite3_column_int64(st, C_START) / 1e9,
                    (double)sqlite3_column_int64(st, C_END) / 1e9);
            json_int_or_null(out, "peak_bytes", st, C_PEAK);
            json_int_or_null(out, "peak_rss_bytes", st, C_RSS);
            json_int_or_null(out, "live_at_exit_bytes", st, C_LIVE);
            json_int_or_null(out, "inherited_bytes", st, C_INHERITED);
            if (sqlite3_column_type(st, C_SIGNAL) != SQLITE_NULL)
                fprintf(out, ", \"exit\": {\"signal\": %d}", sqlite3_column_int(st, C_SIGNAL));
            else if (sqlite3_column_type(st, C_STATUS) != SQLITE_NULL)
                fprintf(out, ", \"exit\": {\"status\": %d}", sqlite3_column_int(st, C_STATUS));
            else
                fprintf(out, ", \"exit\": null");
            fprintf(out, ", \"closed\": %s}", sqlite3_column_int(st, C_CLOSED) ? "true" : "false");
        }
        sqlite3_finalize(st);
    }
    double at;
    int64_t rss = mt_tree_peak_rss(db, &at);
    fprintf(out, "], \"tree_peak_rss_bytes\": %lld, \"tree_peak_rss_time_s\": %.6f",
            (long long)rss, at);
}

int mt_tree_each(sqlite3 *run, int json, int (*report)(sqlite3 *db, void *ctx), void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(run, "SELECT id, pid, ppid, command, db_path FROM processes"
                                " WHERE traced ORDER BY start_ns, id", -1, &st, NULL) != SQLITE_OK) {
        mt_error("%s", sqlite3_errmsg(run));
        return MT_EXIT_FAIL;
    }
    int rc = 0, n = 0;
    if (json)
        printf(", \"processes\": [");
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        int id = sqlite3_column_int(st, 0);
        const char *cmd = (const char *)sqlite3_column_text(st, 3);
        const char *path = (const char *)sqlite3_column_text(st, 4);
        sqlite3 *db = run;
        if (id != 1 && (rc = mt_db_open_input(path ? path : "", &db)) != 0)
            break;
        if (json) {
            printf("%s{\"pid\": %lld, \"ppid\": %lld, \"command\": ", n ? ", " : "",
                   (long long)sqlite3_column_int64(st, 1), (long long)sqlite3_column_int64(st, 2));
            mt_json_string(stdout, cmd);
            printf(", ");
        } else if (id != 1) {
            printf("\n== process %lld (parent %lld): %s\n", (long long)sqlite3_column_int64(st, 1),
                   (long long)sqlite3_column_int64(st, 2), cmd ? cmd : "");
        }
        if (json || id != 1)
            rc = report(db, ctx);
        if (json)
            putchar('}');
        if (db != run)
            sqlite3_close(db);
        n++;
    }
    sqlite3_finalize(st);
    if (json)
        putchar(']');
    return rc;
}

long mt_parse_pid(const char *cmd, const char *arg)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*end || v < 1 || v > (1L << 30)) {
        mt_error("%s: --pid wants a process id", cmd);
        return -1;
    }
    return v;
}

int mt_db_open_process(const char *path, long pid, sqlite3 **db)
{
    int rc = mt_db_open_input(path, db);
    if (rc || pid <= 0)
        return rc;
    sqlite3_stmt *st;
    char child[4096] = "";
    int first = 0, found = 0;
    if (sqlite3_prepare_v2(*db, "SELECT id, db_path FROM processes WHERE pid = ? ORDER BY id",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, pid);
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (!found++) {
                first = sqlite3_column_int(st, 0) == 1;
                const char *p = (const char *)sqlite3_column_text(st, 1);
                snprintf(child, sizeof child, "%s", p ? p : "");
            }
        }
        sqlite3_finalize(st);
    }
    if (!found) {
        mt_error("%s: no process %ld in this run (memtap summary %s lists them)", path, pid,
                 path);
        sqlite3_close(*db);
        *db = NULL;
        return MT_EXIT_FAIL;
    }
    if (found > 1)
        mt_warn("%s: pid %ld came back %d times in this run: the first is shown", path, pid,
                found);
    if (first)
        return MT_EXIT_OK;
    sqlite3_close(*db);
    *db = NULL;
    return mt_db_open_input(child, db);
}
