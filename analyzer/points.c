/* points.c - resolving a named point of a run to a sequence number (see
 * points.h). */
#define _GNU_SOURCE
#include "points.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "report.h"
#include "util.h"

/* 1 found, 0 not a marker, -1 error. */
static int marker_point(sqlite3 *db, const char *label, int64_t *seq, int64_t *ns)
{
    sqlite3_stmt *st;
    if (mt_prepare(db, "SELECT seq, ns, (SELECT count(*) FROM markers WHERE label = ?1)"
                       " FROM markers WHERE label = ?1 ORDER BY seq LIMIT 1",
                   &st))
        return -1;
    sqlite3_bind_text(st, 1, label, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        *seq = sqlite3_column_int64(st, 0);
        *ns = sqlite3_column_int64(st, 1);
        if (sqlite3_column_int64(st, 2) > 1)
            mt_warn("marker '%s' occurs %lld times; using the first", label,
                    (long long)sqlite3_column_int64(st, 2));
    }
    sqlite3_finalize(st);
    return found;
}

/* "1.5s", "250ms", "2" -> nanoseconds; -1 when not a time. */
static int64_t parse_time(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    if (strcmp(end, "ms") == 0)
        v /= 1e3;
    else if (*end && strcmp(end, "s") != 0)
        return -1;
    return (int64_t)(v * 1e9 + 0.5);
}

static void list_markers(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT DISTINCT label FROM markers ORDER BY seq LIMIT 20", -1, &st,
                           NULL) != SQLITE_OK)
        return;
    fputs("memtap: markers in this trace:", stderr);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        fprintf(stderr, " '%s'", (const char *)sqlite3_column_text(st, 0));
        n++;
    }
    fputs(n ? "\n" : " none\n", stderr);
    sqlite3_finalize(st);
}

/* The last event at or before ns: events are timed by the last sample
 * before them, so this is the last event before the first sample after ns
 * (table clock holds, per sample, the last event timed by the one before). */
static int time_point(sqlite3 *db, int64_t ns, int64_t *seq)
{
    sqlite3_stmt *st;
    if (mt_prepare(db,
                   "SELECT coalesce(max(s), 0) FROM ("
                   " SELECT max(seq) AS s FROM clock WHERE ns <= ?1"
                   " UNION ALL SELECT max(seq) FROM samples WHERE ns <= ?1)",
                   &st))
        return MT_EXIT_FAIL;
    sqlite3_bind_int64(st, 1, ns);
    *seq = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return MT_EXIT_OK;
}

int mt_point_resolve(sqlite3 *db, const char *cmd, const char *spec, int64_t *seq, int64_t *ns)
{
    if (strcmp(spec, "start") == 0) {
        *seq = *ns = 0;
        return MT_EXIT_OK;
    }
    if (strcmp(spec, "peak") == 0) {
        *seq = mt_db_meta_int(db, "peak_seq", 0);
        *ns = mt_db_meta_int(db, "peak_ns", 0);
        return MT_EXIT_OK;
    }
    if (strcmp(spec, "end") == 0 || strcmp(spec, "exit") == 0) {
        *seq = mt_db_meta_int(db, "exit_seq", 0);
        *ns = mt_db_meta_int(db, "exit_ns", 0);
        return MT_EXIT_OK;
    }
    int m = marker_point(db, spec, seq, ns);
    if (m)
        return m < 0 ? MT_EXIT_FAIL : MT_EXIT_OK;
    *ns = parse_time(spec);
    if (*ns < 0) {
        mt_error("%s: '%s' is not a marker, a time (1.5s, 250ms), start, peak or end", cmd, spec);
        list_markers(db);
        return MT_EXIT_USAGE;
    }
    return time_point(db, *ns, seq);
}
