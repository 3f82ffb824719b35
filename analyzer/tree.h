/* tree.h - a run's process tree in reports: the processes table and the
 * tree's samples of RUN.db (load_run.c writes them). */
#ifndef MT_TREE_H
#define MT_TREE_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

/* The run's processes depth-first, children in start order: a query that
 * starts with this has t(id, depth, path) to join with processes (as p, on
 * p.id = t.id) and to order by t.path. */
#define MT_TREE_WALK                                                                         \
    "WITH RECURSIVE t(id, depth, path) AS (SELECT id, 0, printf('%012d', id) FROM processes" \
    " WHERE parent_id IS NULL UNION ALL SELECT p.id, t.depth + 1,"                           \
    " t.path || printf('/%012d', p.id) FROM processes p JOIN t ON p.parent_id = t.id"        \
    " WHERE t.depth < 64)"

/* Processes in the run (0 when the database has no processes table). */
int64_t mt_tree_count(sqlite3 *db);

/* The tree's highest summed RSS and its time in seconds (0 when none). */
int64_t mt_tree_peak_rss(sqlite3 *db, double *at_s);

/* The processes as an indented tree, with each one's figures (text). */
void mt_tree_print(sqlite3 *db, FILE *out);

/* `, "processes": [...], "tree_peak_rss_bytes": N, ...` (JSON members). */
void mt_tree_json(sqlite3 *db, FILE *out);

/* A report for each process of a run: runs report(db, ctx) on each
 * process's database in start order (the first's is run). Text: each
 * after the first under a "== process PID (parent PPID): COMMAND" line.
 * JSON: `, "processes": [{"pid": .., "ppid": .., "command": .., MEMBERS},
 * ...]`, the first included, MEMBERS being what report prints. Processes
 * without a trace are left out. Returns report's first non-zero value. */
int mt_tree_each(sqlite3 *run, int json, int (*report)(sqlite3 *db, void *ctx), void *ctx);

/* Parses --pid's value; -1 after printing why it is not a pid. */
long mt_parse_pid(const char *cmd, const char *arg);

/* Opens what path names, as mt_db_open_input; with pid > 0, the database
 * of that process of the run instead. Prints errors. MT_EXIT_*. */
int mt_db_open_process(const char *path, long pid, sqlite3 **db);

#endif
