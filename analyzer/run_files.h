/* run_files.h - the files of one run of `memtap run`: the first process's
 * trace RUN, and each other process's in RUN.d (layout in
 * include/mt_trace_format.h). */
#ifndef MT_RUN_FILES_H
#define MT_RUN_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "mt_trace_format.h"

/* The run a trace belongs to: RUN for RUN.d/PID.memtap, else the path
 * itself. 0 or ENAMETOOLONG. */
int mt_run_of(const char *trace_path, char *run, size_t cap);

/* Reads the (plain, even when packed) header of a trace file. 0 or an
 * errno (EINVAL when it is not a memtap trace). */
int mt_run_read_header(const char *path, struct mt_file_header *h);

/* The traces of the run RUN: RUN itself first, then RUN.d's *.memtap in
 * name order. *paths is malloc'd (free with mt_run_list_free). 0 or an
 * errno; a run without RUN.d lists RUN alone. */
int mt_run_list(const char *run, char ***paths, size_t *n);
void mt_run_list_free(char **paths, size_t n);

/* The trace of the process (pid, start_ticks) in the run trace_path
 * belongs to, into out. 0, or ENOENT when the run has none. */
int mt_run_find_process(const char *trace_path, uint64_t pid, uint64_t start_ticks, char *out,
                        size_t cap);

#endif
