/* load_run.c - a run's process tree in its first process's database.
 *
 * Each process of a run has a database of its own, loaded from its trace
 * (RUN.db for RUN, RUN.d/PID.db for RUN.d/PID.memtap): every report on one
 * process reads one database, the same way for a run of one process as
 * for a tree. The tree is described in RUN.db by two tables:
 *
 *   processes     one row per process of the run (RUN's first), with its
 *                 parent, command line, times, how it ended, its figures
 *                 (heap peak, RSS peak, live at its end) and its database;
 *                 and one per child a traced process reaped that wrote no
 *                 trace (traced 0: a static or setuid program, or one run
 *                 without LD_PRELOAD), with how it ended (not with
 *                 --no-children, where no other process writes one);
 *   process_samples  every process's samples (RSS and heap), in the run's
 *                 time, by processes.id;
 *   tree_samples  the tree's memory over time: at each time any process
 *                 took a sample, the sum over the processes alive then of
 *                 each one's latest sample (RSS and heap).
 *
 * Times are in nanoseconds from the first process's start (each trace
 * counts from its own). The tree's RSS is the sum of the processes' RSS:
 * a page two processes share (a forked child's copy-on-write pages before
 * either writes them, a shared library) counts in each, so it is an upper
 * bound of what a cgroup's memory limit sees.
 */
#define _GNU_SOURCE
#include "load.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "run_files.h"
#include "util.h"

static const char tree_tables[] =
    "DROP TABLE IF EXISTS processes; DROP TABLE IF EXISTS tree_samples;"
    "DROP TABLE IF EXISTS process_samples;"
    "CREATE TABLE processes(id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, ppid INTEGER,"
    " parent_id INTEGER, command TEXT, executable TEXT, start_ns INTEGER, end_ns INTEGER,"
    " forked INTEGER, closed INTEGER, exit_status INTEGER, exit_signal INTEGER,"
    " allocations INTEGER, bytes_allocated INTEGER, peak_bytes INTEGER, peak_ns INTEGER,"
    " peak_rss_bytes INTEGER, live_at_end_bytes INTEGER, live_at_end_count INTEGER,"
    " inherited_bytes INTEGER, unmatched_frees INTEGER, trace_path TEXT, db_path TEXT,"
    " traced INTEGER NOT NULL DEFAULT 1, exec_path TEXT);"
    "CREATE TABLE tree_samples(ns INTEGER PRIMARY KEY, rss_bytes INTEGER NOT NULL,"
    " heap_bytes INTEGER NOT NULL, processes INTEGER NOT NULL);"
    "CREATE TABLE process_samples(process INTEGER NOT NULL, ns INTEGER NOT NULL,"
    " rss_bytes INTEGER NOT NULL, heap_bytes INTEGER NOT NULL);"
    "CREATE TEMP TABLE all_exits(parent INTEGER, pid INTEGER, status INTEGER);";

#define META(k) "(SELECT value FROM %1$s.meta WHERE key = '" k "')"

/* The row of the process whose database is schema %1$s; id: its row. */
static const char process_row[] =
    "INSERT INTO processes(id, pid, ppid, command, executable, start_ns, end_ns, forked,"
    " closed, exit_status, exit_signal, allocations, bytes_allocated, peak_bytes, peak_ns,"
    " peak_rss_bytes, live_at_end_bytes, live_at_end_count, inherited_bytes,"
    " unmatched_frees, trace_path, db_path, exec_path) SELECT ?1, " META("pid") ", " META("ppid") ", "
    META("command_line") ", " META("executable") ", " META("start_monotonic_ns") " - ?2, "
    META("start_monotonic_ns") " - ?2 + " META("duration_ns") ", " META("forked") ", "
    META("closed") ", nullif(" META("exit_status") ", -1), nullif(" META("exit_signal")
    ", -1), " META("allocations") ", " META("bytes_allocated") ", " META("peak_bytes") ", "
    META("start_monotonic_ns") " - ?2 + " META("peak_ns") ", (SELECT max(rss_bytes) FROM"
    " %1$s.samples), " META("live_at_exit_bytes") ", " META("live_at_exit_count") ", "
    META("inherited_bytes") ", " META("unmatched_frees") ", " META("trace_path") ", ?3,"
    " nullif(" META("exec_path") ", '');"
    "INSERT INTO process_samples SELECT ?1, " META("start_monotonic_ns") " - ?2 + ns, rss_bytes,"
    " heap_bytes FROM %1$s.samples;"
    "INSERT INTO all_exits SELECT ?1, pid, status FROM %1$s.child_exits ORDER BY rowid;";

/* After every row: parents (the latest process with the parent's pid that
 * started before the child); how each ended, as its parent's wait said
 * when the parent reaped it (a signal, or a return from main, the process
 * cannot record itself); then the tree's samples. */
static const char tree_rows[] =
    "UPDATE processes SET parent_id = (SELECT q.id FROM processes q WHERE q.pid ="
    " processes.ppid AND q.start_ns <= processes.start_ns AND q.id != processes.id"
    " ORDER BY q.start_ns DESC LIMIT 1);"
    "UPDATE processes SET exit_status = CASE WHEN w.status & 127 = 0 THEN w.status >> 8 & 255"
    " END, exit_signal = CASE WHEN w.status & 127 != 0 THEN w.status & 127 END"
    " FROM (SELECT parent, pid, status FROM all_exits e WHERE e.rowid = (SELECT max(rowid)"
    "  FROM all_exits f WHERE f.parent = e.parent AND f.pid = e.pid)) w"
    " WHERE w.parent = processes.parent_id AND w.pid = processes.pid;"
    /* children a traced process reaped that wrote no trace */
    "INSERT INTO processes(pid, ppid, parent_id, traced, exit_status, exit_signal)"
    " SELECT w.pid, p.pid, w.parent, 0, CASE WHEN w.status & 127 = 0 THEN w.status >> 8 & 255"
    " END, CASE WHEN w.status & 127 != 0 THEN w.status & 127 END"
    " FROM all_exits w JOIN processes p ON p.id = w.parent"
    " WHERE w.rowid = (SELECT max(rowid) FROM all_exits f WHERE f.parent = w.parent"
    "  AND f.pid = w.pid) AND NOT EXISTS (SELECT 1 FROM processes q WHERE q.pid = w.pid"
    "  AND q.parent_id = w.parent)"
    " AND (SELECT value FROM meta WHERE key = 'children') = 1;"
    "DROP TABLE temp.all_exits;"
    "CREATE INDEX process_samples_at ON process_samples(process, ns);";

/* tree_samples (above), in one sweep of the samples by time: at each time
 * t, the sum over the processes alive then (start <= t <= end) of each
 * one's latest sample, the processes that ended before t taken out first.
 * (A query that finds each process's latest sample for each t took 27 s
 * for 5,500 samples of one process.) */
struct tree_proc {
    int64_t id, end_ns;
    int64_t rss, heap; /* its latest sample */
    int seen, gone;
};

static int cmp_end(const void *a, const void *b)
{
    const struct tree_proc *x = *(struct tree_proc *const *)a, *y = *(struct tree_proc *const *)b;
    return (x->end_ns > y->end_ns) - (x->end_ns < y->end_ns);
}

static int find_proc(const struct tree_proc *p, size_t n, int64_t id)
{
    size_t lo = 0, hi = n; /* p sorted by id */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && p[lo].id == id ? (int)lo : -1;
}

static int write_tree_samples(sqlite3 *db)
{
    sqlite3_stmt *st = NULL, *ins = NULL, *sm = NULL;
    int64_t n = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM processes", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        return sqlite3_finalize(st), EIO;
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    struct tree_proc *p = calloc(n ? (size_t)n : 1, sizeof *p);
    struct tree_proc **by_end = calloc(n ? (size_t)n : 1, sizeof *by_end);
    int rc = p && by_end ? 0 : ENOMEM;
    size_t np = 0;
    if (!rc && sqlite3_prepare_v2(db, "SELECT id, coalesce(end_ns, 9223372036854775807)"
                                      " FROM processes ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        rc = EIO;
    while (!rc && np < (size_t)n && sqlite3_step(st) == SQLITE_ROW) {
        p[np].id = sqlite3_column_int64(st, 0);
        p[np].end_ns = sqlite3_column_int64(st, 1);
        by_end[np] = &p[np];
        np++;
    }
    sqlite3_finalize(st);
    qsort(by_end, np, sizeof *by_end, cmp_end);
    if (!rc && (sqlite3_prepare_v2(db, "SELECT process, ns, rss_bytes, heap_bytes FROM"
                                       " process_samples ORDER BY ns", -1, &sm, NULL) != SQLITE_OK ||
                sqlite3_prepare_v2(db, "INSERT INTO tree_samples VALUES (?,?,?,?)", -1, &ins,
                                   NULL) != SQLITE_OK))
        rc = EIO;
    int64_t rss = 0, heap = 0, alive = 0, at = INT64_MIN;
    size_t ended = 0;
    int step = rc ? SQLITE_DONE : sqlite3_step(sm);
    while (!rc && step == SQLITE_ROW) {
        int64_t t = sqlite3_column_int64(sm, 1);
        /* out: the processes that ended before t */
        for (; ended < np && by_end[ended]->end_ns < t; ended++) {
            struct tree_proc *q = by_end[ended];
            q->gone = 1;
            if (q->seen) {
                rss -= q->rss;
                heap -= q->heap;
                alive--;
            }
        }
        at = t;
        /* in: every sample taken at t */
        for (; step == SQLITE_ROW && sqlite3_column_int64(sm, 1) == at; step = sqlite3_step(sm)) {
            int k = find_proc(p, np, sqlite3_column_int64(sm, 0));
            if (k < 0 || p[k].gone)
                continue;
            struct tree_proc *q = &p[k];
            if (q->seen) {
                rss -= q->rss;
                heap -= q->heap;
            } else {
                q->seen = 1;
                alive++;
            }
            q->rss = sqlite3_column_int64(sm, 2);
            q->heap = sqlite3_column_int64(sm, 3);
            rss += q->rss;
            heap += q->heap;
        }
        if (alive > 0) {
            sqlite3_reset(ins);
            sqlite3_bind_int64(ins, 1, at);
            sqlite3_bind_int64(ins, 2, rss);
            sqlite3_bind_int64(ins, 3, heap);
            sqlite3_bind_int64(ins, 4, alive);
            if (sqlite3_step(ins) != SQLITE_DONE)
                rc = EIO;
        }
    }
    if (!rc && step != SQLITE_DONE)
        rc = EIO;
    sqlite3_finalize(sm);
    sqlite3_finalize(ins);
    free(by_end);
    free(p);
    return rc;
}

static int sql_fail(sqlite3 *db, const char *what)
{
    mt_error("%s: %s", what, sqlite3_errmsg(db));
    return EIO;
}

/* Adds the process of the database at path as row id: main's own, or
 * another attached as p (one file attached twice would lock itself). */
static int add_process(sqlite3 *db, int64_t id, int64_t base_ns, const char *path, int own)
{
    sqlite3_stmt *st;
    int rc = 0;
    if (!own) {
        if (sqlite3_prepare_v2(db, "ATTACH ? AS p", -1, &st, NULL) != SQLITE_OK)
            return sql_fail(db, "attach");
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_fail(db, path);
        sqlite3_finalize(st);
        if (rc)
            return rc;
    }
    char text[sizeof process_row * 2];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(text, sizeof text, process_row, own ? "main" : "p");
#pragma GCC diagnostic pop
    const char *sql = text;
    if (sqlite3_exec(db, "BEGIN;", NULL, NULL, NULL) != SQLITE_OK)
        rc = sql_fail(db, "begin");
    while (!rc && *sql) {
        const char *next;
        if (sqlite3_prepare_v2(db, sql, -1, &st, &next) != SQLITE_OK) {
            rc = sql_fail(db, "processes");
            break;
        }
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, base_ns);
        sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = sql_fail(db, "processes");
        sqlite3_finalize(st);
        sql = next;
    }
    if (sqlite3_exec(db, rc ? "ROLLBACK;" : "COMMIT;", NULL, NULL, NULL) != SQLITE_OK && !rc)
        rc = sql_fail(db, "commit");
    if (!own && sqlite3_exec(db, "DETACH p", NULL, NULL, NULL) != SQLITE_OK && !rc)
        rc = sql_fail(db, "detach");
    return rc;
}

/* Each other process's database, loaded when it is missing or stale
 * (unless tried already: then a missing one is left out). */
static int load_child(const char *trace, char *db_path, size_t cap, int all, int tried)
{
    mt_db_path_for(trace, db_path, cap);
    if (mt_db_is_current(db_path, trace))
        return 0;
    return tried ? -1 : mt_load(trace, db_path, 1, 1, all);
}

/* The other processes' databases, loaded by up to MAX_WORKERS processes at
 * once, one per core (each load stands alone: a forked child's reads its
 * parent's trace, not its database). Returns 1 when it loaded them (a
 * failure was said by mt_load), 0 when it left them to the caller. */
#define MAX_WORKERS 8
static int load_children(char **paths, size_t n, int all)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int workers = cores < 1 ? 1 : cores > MAX_WORKERS ? MAX_WORKERS : (int)cores;
    if (n < 3 || workers < 2)
        return 0;
    fflush(NULL);
    pid_t pids[MAX_WORKERS];
    int started = 0;
    for (int w = 0; w < workers; w++) {
        pid_t p = fork();
        if (p == 0) {
            for (size_t i = 1 + (size_t)w; i < n; i += (size_t)workers) {
                char db[4096];
                (void)load_child(paths[i], db, sizeof db, all, 0);
            }
            fflush(NULL);
            _exit(0);
        }
        if (p > 0)
            pids[started++] = p;
    }
    for (int k = 0; k < started; k++)
        while (waitpid(pids[k], NULL, 0) < 0 && errno == EINTR)
            ;
    return started == workers;
}

int mt_load_tree(const char *trace_path, const char *db_path, int quiet, int all)
{
    char **paths;
    size_t n;
    int rc = mt_run_list(trace_path, &paths, &n);
    if (rc) {
        mt_error("%s: %s", trace_path, strerror(rc));
        return MT_EXIT_FAIL;
    }
    int tried = load_children(paths, n, all);
    sqlite3 *db;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = sql_fail(db, db_path);
        sqlite3_close(db);
        mt_run_list_free(paths, n);
        return MT_EXIT_FAIL;
    }
    int64_t base_ns = mt_db_meta_int(db, "start_monotonic_ns", 0);
    char *msg = NULL;
    if (sqlite3_exec(db, tree_tables, NULL, NULL, &msg) != SQLITE_OK) {
        mt_error("%s: %s", db_path, msg ? msg : "error");
        rc = EIO;
    }
    sqlite3_free(msg);
    size_t skipped = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char child_db[4096];
        if (i == 0)
            snprintf(child_db, sizeof child_db, "%s", db_path);
        else if (load_child(paths[i], child_db, sizeof child_db, all, tried) != 0) {
            skipped++; /* said by mt_load; the rest of the tree still loads */
            continue;
        }
        char shown[4096];
        rc = add_process(db, (int64_t)(i + 1), base_ns,
                         realpath(child_db, shown) ? shown : child_db, i == 0);
    }
    if (!rc && sqlite3_exec(db, "BEGIN;", NULL, NULL, &msg) == SQLITE_OK &&
        sqlite3_exec(db, tree_rows, NULL, NULL, &msg) != SQLITE_OK) {
        mt_error("%s: %s", db_path, msg ? msg : "error");
        sqlite3_free(msg);
        rc = EIO;
    }
    if (!rc && write_tree_samples(db) != 0)
        rc = sql_fail(db, db_path);
    if (!rc && sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL) != SQLITE_OK)
        rc = sql_fail(db, db_path);
    sqlite3_close(db);
    if (!rc && !quiet && n > 1)
        fprintf(stderr, "memtap: the run has %zu other process%s: their databases are in %s%s\n",
                n - 1, n == 2 ? "" : "es", trace_path, MT_RUN_DIR_SUFFIX);
    if (skipped)
        mt_warn("%zu process%s of the run did not load (above): left out of its tree", skipped,
                skipped == 1 ? "" : "es");
    mt_run_list_free(paths, n);
    return rc ? MT_EXIT_FAIL : MT_EXIT_OK;
}
