/* diff_runs.h - `memtap diff A B`: two runs of a program compared site by
 * site (diff_runs.c). */
#ifndef MT_DIFF_RUNS_H
#define MT_DIFF_RUNS_H

/* Runs A and B (traces or databases): per site (function, file, line), the
 * bytes at each run's heap peak, allocated, and live at exit, in A and B;
 * the sites whose change is at least min_share percent of a run's figure,
 * largest change first, at most top of them; as JSON with json. Returns an
 * exit status. */
int mt_diff_runs(const char *path_a, const char *path_b, int top, int json, double min_share);

#endif
