/* load.h - trace to SQLite database (the `memtap load` command's engine). */
#ifndef MT_LOAD_H
#define MT_LOAD_H

/* Loads trace_path into a new database at db_path. An existing db_path is
 * an error unless replace is set. all: a row for every allocation, not
 * only those the compact rule keeps (keep.h). Prints errors and warnings
 * itself, and progress when stderr is a terminal and not quiet. Returns an
 * exit status (MT_EXIT_*). */
int mt_load(const char *trace_path, const char *db_path, int replace, int quiet, int all);

/* Loads trace_path into db_path while its process writes it (trace.h,
 * mt_trace_follow), the database complete once the trace is closed or
 * running(ctx) says the process is gone. Quiet but for errors; the run's
 * other processes are not loaded (mt_load_tree does that). Returns an exit
 * status; MT_EXIT_CANCELED when it is worth trying again: no trace there
 * yet, or the process exec'd a program that writes it afresh. */
int mt_load_follow(const char *trace_path, const char *db_path, int (*running)(void *ctx),
                   void *ctx);

/* db_path, loaded from the trace at trace_path, is that trace's again after
 * the trace was packed (meta trace_size and trace_mtime_ns: what makes a
 * report use it without loading again). Returns an exit status. */
int mt_load_mark_current(const char *db_path, const char *trace_path);

/* The run's process tree into db_path, the database of its first process
 * just loaded from trace_path (load_run.c): every other process's trace
 * in RUN.d loaded into its own database (when missing or stale), and the
 * tables processes and tree_samples written. mt_load calls it. Returns an
 * exit status. */
int mt_load_tree(const char *trace_path, const char *db_path, int quiet, int all);

#endif
