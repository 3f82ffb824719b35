/* report.c - site lists, names, JSON objects and stacks for the report
 * commands (see report.h). */
#define _GNU_SOURCE
#include "report.h"
#include "tree.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "schema.h"
#include "util.h"

int mt_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK)
        return MT_EXIT_OK;
    mt_error("database: %s", sqlite3_errmsg(db));
    return MT_EXIT_FAIL;
}

int64_t mt_query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int mt_sites_query(sqlite3 *db, const char *sql, int extras, struct mt_sites *out)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    int rc = mt_prepare(db, sql, &st);
    return rc ? rc : mt_sites_collect(db, st, extras, out);
}

const char *mt_site_frame_column(int native)
{
    return native ? "coalesce(s.native_site_frame_id, s.site_frame_id)" : "s.site_frame_id";
}

int64_t mt_peak_rss(sqlite3 *db)
{
    return mt_query_int(db, "SELECT coalesce(max(rss_bytes), 0) FROM samples");
}

int mt_sites_add(struct mt_sites *out, const struct mt_site *row, const char *function,
                 const char *file)
{
    if (out->n == out->cap) {
        int cap = out->cap ? out->cap * 2 : 64;
        struct mt_site *v = realloc(out->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        out->v = v;
        out->cap = cap;
    }
    struct mt_site *x = &out->v[out->n];
    *x = *row;
    x->function = function ? strdup(function) : NULL;
    x->file = file ? strdup(file) : NULL;
    if ((function && !x->function) || (file && !x->file)) {
        free(x->function);
        free(x->file);
        return -1;
    }
    out->n++;
    out->bytes += x->bytes;
    out->count += x->count;
    return 0;
}

int mt_sites_collect(sqlite3 *db, sqlite3_stmt *st, int extras, struct mt_sites *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct mt_site row = {
            .has_line = sqlite3_column_type(st, 2) != SQLITE_NULL,
            .line = sqlite3_column_int(st, 2),
            .bytes = sqlite3_column_int64(st, 3),
            .count = sqlite3_column_int64(st, 4),
        };
        for (int i = 0; i < extras && i < MT_SITE_EXTRA; i++)
            row.extra[i] = sqlite3_column_int64(st, 5 + i);
        if (mt_sites_add(out, &row, (const char *)sqlite3_column_text(st, 0),
                         (const char *)sqlite3_column_text(st, 1))) {
            sqlite3_finalize(st);
            mt_error("out of memory");
            return MT_EXIT_FAIL;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        mt_error("database: %s", sqlite3_errmsg(db));
        return MT_EXIT_FAIL;
    }
    return MT_EXIT_OK;
}

void mt_sites_free(struct mt_sites *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->v[i].function);
        free(s->v[i].file);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

void mt_site_print_name(FILE *out, const struct mt_site *s)
{
    if (s->function && s->file && s->has_line)
        fprintf(out, "%s (%s:%d)", s->function, s->file, s->line);
    else if (s->function && s->file)
        fprintf(out, "%s (%s)", s->function, s->file);
    else if (s->function)
        fputs(s->function, out);
    else if (s->file)
        fputs(s->file, out);
    else
        fputs("(no stack: before tracing started, or no frame recorded)", out);
}

void mt_site_json_open(FILE *out, const struct mt_site *s)
{
    fputs("{\"function\": ", out);
    mt_json_string(out, s->function);
    fputs(", \"file\": ", out);
    mt_json_string(out, s->file);
    if (s->has_line)
        fprintf(out, ", \"line\": %d", s->line);
    else
        fputs(", \"line\": null", out);
    fprintf(out, ", \"bytes\": %lld, \"count\": %lld", (long long)s->bytes, (long long)s->count);
}

void mt_print_stack(FILE *out, sqlite3 *db, int64_t stack_id, int native, int json, int max)
{
    sqlite3_stmt *st;
    /* The walk of view stack_frames, from this one stack: SQLite does not
     * push the stack's id into the view's recursion, which then walks
     * every stack of the trace for each one printed. Bounded, as the view
     * is: a hand-edited table may hold a cycle. */
    const char *sql =
        "WITH RECURSIVE walk(depth, node, frame_id) AS"
        " (SELECT 0, parent, frame_id FROM stacks WHERE id = ?1"
        "  UNION ALL SELECT w.depth + 1, s.parent, s.frame_id"
        "  FROM walk w JOIN stacks s ON s.id = w.node WHERE w.depth < " MT_STACK_WALK_MAX ")"
        " SELECT n.name, n.kind FROM walk w JOIN frame_names n ON n.id = w.frame_id"
        " WHERE ?2 OR n.kind = 'python' OR NOT EXISTS"
        " (SELECT 1 FROM walk x JOIN frames f ON f.id = x.frame_id WHERE f.kind = 'python')"
        " ORDER BY w.depth";
    if (json)
        fputc('[', out);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, stack_id);
        sqlite3_bind_int(st, 2, native);
        int n = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(st, 0);
            if (json) {
                fputs(n ? ", " : "", out);
                mt_json_string(out, name);
            } else if (n < max) {
                fprintf(out, "        %s\n", name ? name : "?");
            }
            n++;
        }
        if (!json && n > max)
            fprintf(out, "        ... %d more frames\n", n - max);
        sqlite3_finalize(st);
    }
    if (json)
        fputc(']', out);
}

int mt_parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    double v = strtod(s, &end);
    while (*end == ' ')
        end++;
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {{"", 1},          {"B", 1},           {"K", 1024.0},    {"KiB", 1024.0},
                 {"KB", 1e3},      {"M", 1048576.0},   {"MiB", 1048576.0}, {"MB", 1e6},
                 {"G", 1073741824.0}, {"GiB", 1073741824.0}, {"GB", 1e9},
                 {"T", 1099511627776.0}, {"TiB", 1099511627776.0}, {"TB", 1e12}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].suffix) == 0) {
            double b = v * units[i].mult;
            if (b < 0 || b > 1.8e19)
                return -1;
            *out = (uint64_t)(b + 0.5);
            return 0;
        }
    }
    return -1;
}

int mt_parse_choice(const char *cmd, const char *option, const char *arg,
                    const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(arg, names[i]) == 0)
            return i;
    fprintf(stderr, "memtap: %s: --%s wants ", cmd, option);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%s%s", names[i], i == n - 1 ? "\n" : i == n - 2 ? " or " : ", ");
    return -1;
}

int mt_report_arg(const char *cmd, int c, const char *arg, struct mt_report_args *a)
{
    switch (c) {
    case 'j': a->json = 1; return 1;
    case 'N': a->native = 1; return 1;
    case 'n': return (a->top = mt_parse_top(cmd, arg)) < 0 ? -1 : 1;
    case 'p': return (a->pid = mt_parse_pid(cmd, arg)) < 0 ? -1 : 1;
    default: return 0;
    }
}

int mt_parse_top(const char *cmd, const char *arg)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*end || v < 1 || v > 100000) {
        mt_error("%s: --top wants a number from 1 to 100000", cmd);
        return -1;
    }
    return (int)v;
}

int64_t mt_sample_rate_of(sqlite3 *db)
{
    return mt_db_meta_int(db, "sample_rate", 0);
}

int64_t mt_sample_error(int64_t rate, int64_t bytes)
{
    if (rate <= 0 || bytes <= 0)
        return 0;
    return (int64_t)llround(2.0 * sqrt((double)rate * (double)bytes));
}

void mt_sample_note(FILE *out, sqlite3 *db)
{
    int64_t rate = mt_sample_rate_of(db);
    if (!rate)
        return;
    char b[32];
    fprintf(out,
            "sampled       by bytes, about one record per %s allocated (--sample-rate):\n"
            "              bytes are estimates (each recorded block weighted by 1/chance),\n"
            "              blocks are the recorded ones; blocks of %s or more are exact\n",
            mt_human_bytes((uint64_t)rate, b, sizeof b), b);
}
