/* load.h - trace to SQLite database (the `memtap load` command's engine). */
#ifndef MT_LOAD_H
#define MT_LOAD_H

/* Loads trace_path into a new database at db_path. An existing db_path is
 * an error unless replace is set. all: a row for every allocation, not
 * only those the compact rule keeps (keep.h). Prints errors and warnings
 * itself, and progress when stderr is a terminal and not quiet. Returns an
 * exit status (MT_EXIT_*). */
int mt_load(const char *trace_path, const char *db_path, int replace, int quiet, int all);

/* The run's process tree into db_path, the database of its first process
 * just loaded from trace_path (load_run.c): every other process's trace
 * in RUN.d loaded into its own database (when missing or stale), and the
 * tables processes and tree_samples written. mt_load calls it. Returns an
 * exit status. */
int mt_load_tree(const char *trace_path, const char *db_path, int quiet, int all);

#endif
