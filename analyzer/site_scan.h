/* site_scan.h - per-site figures summed in memory from the per-stack
 * aggregates the loader wrote (keep.h): the growing sites of `memtap leaks`
 * and the sites of `memtap diff`, and what was live at a point.
 *
 * The SQL that defines them (views site_slices and growth_sites, the diff
 * query in docs/schema.md) joins every row to its stack and frame and
 * groups by text. Here the stacks are mapped to their sites once, and the
 * rows summed in one scan. The answers are the SQL's, row for row and in
 * its order (tests/data/doc_check.py compares them on every `make check`). */
#ifndef MT_SITE_SCAN_H
#define MT_SITE_SCAN_H

#include <sqlite3.h>
#include <stdint.h>

#include "report.h"

/* The rows of view growth_sites, in its order: bytes = growth_bytes,
 * count = live_count, extra = grew_slices, active_slices, first_slice,
 * slices. Returns 0 or MT_EXIT_FAIL (message printed). */
int mt_scan_growth(sqlite3 *db, struct mt_sites *out);

/* Per site (its frame as mt_site_frame_column(native) names it), what was
 * live at sequence a and at b, for the sites where it differs, the largest
 * growth first: bytes = bytes at b, count = count at b, extra = bytes at a,
 * count at a. Returns 0 or MT_EXIT_FAIL (message printed). */
int mt_scan_diff(sqlite3 *db, int native, int64_t a, int64_t b, struct mt_sites *out);

/* Calls each(ctx, stack_id, thread_id, bytes, count) for what was live at
 * sequence seq, per (stack, thread): table peak_live when seq is
 * the peak's, else the live spans (keep.h) when seq is a checkpoint (every
 * point a report resolves is one, but the peak), else the rows of a
 * database loaded with --all. Returns 0 or MT_EXIT_FAIL (message printed;
 * each's non-zero value stops it). */
int mt_live_at(sqlite3 *db, int64_t seq, int (*each)(void *, int64_t, int64_t, int64_t, int64_t),
               void *ctx);

#endif
