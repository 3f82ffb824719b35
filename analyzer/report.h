/* report.h - what the report commands (summary, peak, leaks, diff, check)
 * share: a list of sites read from one query, printing a site's name, its
 * JSON object, a stack's frames, and the common option parsing. */
#ifndef MT_REPORT_H
#define MT_REPORT_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#define MT_SITE_EXTRA 6

/* One row of a site query: function, file, line, bytes, count, then up to
 * MT_SITE_EXTRA more integer columns in `extra`. */
struct mt_site {
    char *function, *file;
    int line, has_line;
    int64_t bytes, count;
    int64_t extra[MT_SITE_EXTRA];
};

struct mt_sites {
    struct mt_site *v;
    int n, cap;
    int64_t bytes, count; /* totals over every row */
};

/* Steps st to the end, appending each row (extras columns after count).
 * Returns 0 or MT_EXIT_FAIL (message printed). Finalizes st. */
int mt_sites_collect(sqlite3 *db, sqlite3_stmt *st, int extras, struct mt_sites *out);
void mt_sites_free(struct mt_sites *s);

/* Appends row's figures (line, bytes, count, extra) under copies of the
 * names function and file (NULL: none), and adds them to the totals.
 * Returns 0, or -1 when out of memory (out unchanged). */
int mt_sites_add(struct mt_sites *out, const struct mt_site *row, const char *function,
                 const char *file);

/* Runs sql (no parameters) and collects its rows as mt_sites_collect. */
int mt_sites_query(sqlite3 *db, const char *sql, int extras, struct mt_sites *out);

/* The SQL expression, over stacks aliased s, of the frame a report names
 * as an allocation's site: its Python site, or with native its native site
 * (falling back to the Python one for stacks without native frames). */
const char *mt_site_frame_column(int native);

/* The highest RSS sampled (0 when sampling was off). */
int64_t mt_peak_rss(sqlite3 *db);

/* Prepares sql, printing the database's message on failure. */
int mt_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st);

/* First column of the first row of sql as an integer (0 when none). */
int64_t mt_query_int(sqlite3 *db, const char *sql);

/* `function (file:line)`, `function`, `file`, or what stands for no stack. */
void mt_site_print_name(FILE *out, const struct mt_site *s);

/* Writes `{"function": .., "file": .., "line": .., "bytes": .., "count": ..`
 * without the closing brace, so callers can add their own fields. */
void mt_site_json_open(FILE *out, const struct mt_site *s);

/* Writes the frames of a stack, innermost first: as a JSON array when
 * json, else one indented line each. Native frames are left out of a stack
 * that has Python frames unless native is set. */
void mt_print_stack(FILE *out, sqlite3 *db, int64_t stack_id, int native, int json, int max);

/* A sampled trace's mean distance in bytes between recorded allocations
 * (memtap run --sample-rate), 0 when every allocation was recorded. */
int64_t mt_sample_rate_of(sqlite3 *db);

/* About two standard deviations of a sampled estimate of `bytes` (made of
 * blocks much smaller than the rate: each recorded one stands for about
 * `rate` bytes, their number is Poisson): 2 * sqrt(rate * bytes). */
int64_t mt_sample_error(int64_t rate, int64_t bytes);

/* For a sampled trace, the lines that say so on a text report: byte
 * figures are estimates, block counts those recorded. Nothing otherwise. */
void mt_sample_note(FILE *out, sqlite3 *db);

/* Parses a size such as 300MB (10^6), 1MiB or 1M (2^20), 4096 (bytes).
 * Returns 0 or -1 when malformed. */
int mt_parse_size(const char *s, uint64_t *out);

/* The index of arg in names[0..n), or -1 after printing
 * "CMD: --OPTION wants a, b or c". */
int mt_parse_choice(const char *cmd, const char *option, const char *arg,
                    const char *const *names, int n);

/* Parses --top's value (1..100000) for command cmd; -1 on error (printed). */
int mt_parse_top(const char *cmd, const char *arg);

/* The options the report commands share, as getopt_long returns them:
 * 'j' --json, 'n' --top N, 'N' --native, 'p' --pid (each command lists those it takes
 * in its option table). */
struct mt_report_args {
    int json, top, native;
    long pid; /* 'p' --pid: one process of a run (0: the run) */
};

/* Takes getopt's c into a if it is one of those: 1 when taken, 0 when c is
 * another option, -1 on a bad value (printed). */
int mt_report_arg(const char *cmd, int c, const char *arg, struct mt_report_args *a);

#endif
