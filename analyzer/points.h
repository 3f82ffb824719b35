/* points.h - naming a point of a run, the same way in every command that
 * takes one (diff, flamegraph): a marker label (its first occurrence), a
 * time since start ("1.5s", "250ms", or seconds as a bare number), or
 * start, peak, end. A point is a position in the event order: "live at P"
 * means allocated at or before P's sequence number and not freed by then. */
#ifndef MT_POINTS_H
#define MT_POINTS_H

#include <sqlite3.h>
#include <stdint.h>

/* Resolves spec to a sequence number and a time. Returns MT_EXIT_OK, or
 * MT_EXIT_USAGE for a name that is none of the above (printed, with the
 * trace's markers, prefixed by cmd), or MT_EXIT_FAIL. */
int mt_point_resolve(sqlite3 *db, const char *cmd, const char *spec, int64_t *seq, int64_t *ns);

#endif
