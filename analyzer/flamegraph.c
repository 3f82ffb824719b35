/* flamegraph.c - `memtap flamegraph TRACE|DB [-o FILE] [--view V]
 * [--from A --to B] [--hide-native] [--hide-imports] [--hide-interpreter]
 * [--format html|folded]`.
 *
 * html (default): one self-contained page (analyzer/flamegraph/page.*,
 * embedded at build time) with the model of fg_model.h as JSON inside a
 * <script type="application/json"> element. Every string in the JSON has
 * <, > and & escaped (mt_json_string), so no name, path or label can end
 * the element, and the page only ever puts them into the DOM as text.
 *
 * folded: "frame;frame;...;leaf VALUE" per stack, root first, sorted, the
 * format flamegraph.pl, inferno and speedscope read. Views: peak (live at
 * the heap peak), leaks (unfreed at exit), diff (bytes that grew from A to
 * B, points named as points.h says; stacks that shrank are left out),
 * total (bytes ever allocated). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "db.h"
#include "fg_model.h"
#include "points.h"
#include "report.h"
#include "tree.h"
#include "util.h"

extern const char mt_asset_page_html[], mt_asset_page_js[], mt_asset_page_css[];

static const char *const view_names[] = {"peak", "leaks", "diff", "total"};

/* The page merges subtrees that never hold 1/MERGE_SHARE of the larger of
 * the peak and the bytes allocated: a tenth of a pixel on a 1,000-pixel
 * graph, visible from a 10x zoom on. */
#define MERGE_SHARE 10000
enum view { VIEW_PEAK, VIEW_LEAKS, VIEW_DIFF, VIEW_TOTAL };

struct fg_options {
    enum view view;
    const char *from, *to, *output, *format;
    unsigned hide; /* MT_FG_* classes of frames left out */
};

/* ---- folded ------------------------------------------------------------- */

struct folded_line {
    char *path;
    int64_t value;
};

static int cmp_line(const void *a, const void *b)
{
    return strcmp(((const struct folded_line *)a)->path, ((const struct folded_line *)b)->path);
}

/* Appends a frame name with the separators of the format made harmless. */
static void append_name(char **buf, size_t *len, size_t *cap, const char *name)
{
    size_t n = strlen(name);
    if (*len + n + 2 > *cap) {
        size_t ncap = (*len + n + 2) * 2;
        char *p = realloc(*buf, ncap);
        if (!p)
            return;
        *buf = p;
        *cap = ncap;
    }
    if (*len)
        (*buf)[(*len)++] = ';';
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        (*buf)[(*len)++] = c == ';' ? ',' : (c == '\n' || c == '\r') ? ' ' : c;
    }
    (*buf)[*len] = 0;
}

static char *stack_path(const struct mt_fg_model *m, uint32_t node, unsigned hide)
{
    uint32_t chain[1100];
    int depth = 0;
    for (uint32_t n = node; n && depth < 1100; n = m->parent[n])
        chain[depth++] = n;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (!depth)
        append_name(&buf, &len, &cap, "(no stack)");
    for (int i = depth - 1; i >= 0; i--) {
        uint32_t f = m->frame[chain[i]];
        if (f < m->nframes && (m->frame_class[f] & hide))
            continue;
        append_name(&buf, &len, &cap,
                    f < m->nframes && m->frame_name[f] ? m->frame_name[f] : "?");
    }
    if (!buf)
        append_name(&buf, &len, &cap, "(hidden frames only)");
    return buf;
}

static int write_folded(FILE *out, const struct mt_fg_model *m, const struct fg_options *o,
                        int a, int b)
{
    int64_t *value = calloc(m->nnodes ? m->nnodes : 1, sizeof *value);
    if (!value)
        return MT_EXIT_FAIL;
    if (o->view == VIEW_TOTAL) {
        for (uint32_t i = 0; i < m->ntotals; i++)
            value[m->totals[i].node] += m->totals[i].bytes;
    } else {
        for (uint32_t i = 0; i < m->ngroups; i++) {
            const struct mt_fg_group *g = &m->groups[i];
            if (g->first <= (uint32_t)b && (uint32_t)b <= g->last)
                value[g->node] += g->bytes;
            if (o->view == VIEW_DIFF && g->first <= (uint32_t)a && (uint32_t)a <= g->last)
                value[g->node] -= g->bytes;
        }
    }
    struct folded_line *lines = calloc(m->nnodes ? m->nnodes : 1, sizeof *lines);
    size_t n = 0;
    for (uint32_t i = 0; lines && i < m->nnodes; i++)
        if (value[i] > 0) {
            lines[n].path = stack_path(m, i, o->hide);
            lines[n++].value = value[i];
        }
    free(value);
    if (!lines)
        return MT_EXIT_FAIL;
    qsort(lines, n, sizeof *lines, cmp_line);
    for (size_t i = 0; i < n; i++) {
        int64_t v = lines[i].value;
        while (i + 1 < n && strcmp(lines[i].path, lines[i + 1].path) == 0) {
            free(lines[i].path);
            v += lines[++i].value;
        }
        fprintf(out, "%s %lld\n", lines[i].path ? lines[i].path : "?", (long long)v);
        free(lines[i].path);
    }
    free(lines);
    return MT_EXIT_OK;
}

/* ---- html --------------------------------------------------------------- */

static void write_json_model(FILE *out, sqlite3 *db, const struct mt_fg_model *m,
                             const struct mt_fg_merged *merged, const struct fg_options *o, int a,
                             int b)
{
    char cmd[4096];
    mt_db_meta_text(db, "command_line", cmd, sizeof cmd);
    fputs("{\"version\": 1, \"command\": ", out);
    mt_json_string(out, cmd);
    fprintf(out, ", \"view\": \"%s\", \"from\": %d, \"to\": %d, \"hide\": %u,",
            view_names[o->view], a, b, o->hide);
    fprintf(out, " \"peakBytes\": %lld, \"exitBytes\": %lld, \"peakPoint\": %u, \"exitPoint\": %u,",
            (long long)m->peak_bytes, (long long)m->exit_bytes, m->peak_point, m->exit_point);
    fprintf(out, " \"durationS\": %.6f,", (double)mt_db_meta_int(db, "duration_ns", 0) / 1e9);
    fprintf(out, " \"merged\": [%u,%lld,%lld,%lld],\n\"frames\": [", merged->nodes,
            (long long)merged->total_bytes, (long long)merged->peak_bytes,
            (long long)merged->threshold);
    for (uint32_t i = 0; i < m->nframes; i++) {
        fputs(i ? ",[" : "[", out);
        mt_json_string(out, m->frame_name[i] ? m->frame_name[i] : "");
        fprintf(out, ",%d]", m->frame_class[i]);
    }
    fputs("],\n\"parent\": [", out);
    for (uint32_t i = 0; i < m->nnodes; i++)
        fprintf(out, i ? ",%u" : "%u", m->parent[i]);
    fputs("],\n\"frame\": [", out);
    for (uint32_t i = 0; i < m->nnodes; i++)
        fprintf(out, i ? ",%u" : "%u", m->frame[i]);
    fputs("],\n\"points\": [", out);
    for (uint32_t i = 0; i < m->npoints; i++) {
        const struct mt_fg_point *p = &m->points[i];
        fprintf(out, "%s[%lld,%.6f,%lld,%d,", i ? "," : "", (long long)p->seq, (double)p->ns / 1e9,
                (long long)p->rss, p->kind);
        mt_json_string(out, p->label);
        fprintf(out, ",%lld]", (long long)p->rss_anon);
    }
    fputs("],\n\"groups\": [", out);
    for (uint32_t i = 0; i < m->ngroups; i++) {
        const struct mt_fg_group *g = &m->groups[i];
        fprintf(out, "%s%u,%u,%u,%u,%lld,%lld", i ? "," : "", g->node, g->thread, g->first,
                g->last, (long long)g->bytes, (long long)g->count);
    }
    fputs("],\n\"totals\": [", out);
    for (uint32_t i = 0; i < m->ntotals; i++) {
        const struct mt_fg_group *g = &m->totals[i];
        fprintf(out, "%s%u,%u,%lld,%lld", i ? "," : "", g->node, g->thread, (long long)g->bytes,
                (long long)g->count);
    }
    fputs("],\n\"threads\": [", out);
    for (uint32_t i = 0; i < m->nthreads; i++) {
        fprintf(out, "%s[%u,%lld,", i ? "," : "", i, (long long)m->thread_tid[i]);
        mt_json_string(out, m->thread_name[i]);
        fputc(']', out);
    }
    fputs("]}", out);
}

static void write_html(FILE *out, sqlite3 *db, const struct mt_fg_model *m,
                       const struct mt_fg_merged *merged, const struct fg_options *o, int a, int b)
{
    const char *t = mt_asset_page_html;
    while (*t) {
        const char *at = strchr(t, '@');
        if (!at) {
            fputs(t, out);
            break;
        }
        fwrite(t, 1, (size_t)(at - t), out);
        if (strncmp(at, "@CSS@", 5) == 0) {
            fputs(mt_asset_page_css, out);
            t = at + 5;
        } else if (strncmp(at, "@JS@", 4) == 0) {
            fputs(mt_asset_page_js, out);
            t = at + 4;
        } else if (strncmp(at, "@DATA@", 6) == 0) {
            write_json_model(out, db, m, merged, o, a, b);
            t = at + 6;
        } else if (strncmp(at, "@TITLE@", 7) == 0) {
            char cmd[512];
            mt_db_meta_text(db, "command_line", cmd, sizeof cmd);
            mt_html_text(out, cmd);
            t = at + 7;
        } else {
            fputc('@', out);
            t = at + 1;
        }
    }
}

/* Creates the report: a new file, or an existing regular file replaced;
 * never through a symlink. Private (0600) like the trace it comes from. */
static FILE *create_output(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        errno = EINVAL;
        fd = -1;
    }
    if (fd < 0) {
        mt_error("flamegraph: %s: %s", path,
                 errno == ELOOP ? "is a symlink; not writing through it" : strerror(errno));
        return NULL;
    }
    return fdopen(fd, "w");
}

/* Beside the input: x.memtap or x.db -> x.html. */
static void default_output(const char *input, char *out, size_t cap)
{
    size_t n = strlen(input);
    int db = n > 3 && strcmp(input + n - 3, ".db") == 0;
    mt_path_replace_ext(input, db ? ".db" : ".memtap", ".html", out, cap);
}

const char mt_usage_flamegraph[] =
    "usage: memtap flamegraph [-o|--output FILE] [--view peak|leaks|diff|total]\n"
    "                         [--from A --to B] [--hide-native] [--hide-imports]\n"
    "                         [--hide-interpreter] [--pid PID]\n"
    "                         [--format html|folded] TRACE|DB\n"
    "  --hide-*: leave out native frames, Python's import machinery (importlib),\n"
    "  or the interpreter's own C frames (libpython, python, C start-up)\n"
    "  A, B: a marker label, a time (1.5s, 250ms), start, peak or end\n"
    "  html (default) writes FILE (default: beside the trace, .html) and prints its path;\n"
    "  folded writes \"frame;frame;... bytes\" lines to FILE or stdout.\n"
    "  --pid PID: one process of the run, not the first (memtap summary lists them)\n";

int mt_cmd_flamegraph(int argc, char **argv)
{
    struct fg_options o = {VIEW_PEAK, NULL, NULL, NULL, "html", 0};
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"view", required_argument, NULL, 'v'},
        {"from", required_argument, NULL, 'f'},   {"to", required_argument, NULL, 't'},
        {"format", required_argument, NULL, 'F'}, {"hide-native", no_argument, NULL, 'H'},
        {"hide-imports", no_argument, NULL, 'I'}, {"hide-interpreter", no_argument, NULL, 'P'},
        {"pid", required_argument, NULL, 'p'},    {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    long pid = 0;
    while ((c = getopt_long(argc, argv, "o:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o.output = optarg; break;
        case 'p':
            if ((pid = mt_parse_pid("flamegraph", optarg)) < 0)
                return MT_EXIT_USAGE;
            break;
        case 'f': o.from = optarg; break;
        case 't': o.to = optarg; break;
        case 'H': o.hide |= MT_FG_NATIVE; break;
        case 'I': o.hide |= MT_FG_IMPORT; break;
        case 'P': o.hide |= MT_FG_INTERP; break;
        case 'F':
            if (strcmp(optarg, "html") != 0 && strcmp(optarg, "folded") != 0) {
                mt_error("flamegraph: --format wants html or folded");
                return MT_EXIT_USAGE;
            }
            o.format = optarg;
            break;
        case 'v': {
            int found = mt_parse_choice("flamegraph", "view", optarg, view_names, 4);
            if (found < 0)
                return MT_EXIT_USAGE;
            o.view = (enum view)found;
            break;
        }
        default: return mt_usage(mt_usage_flamegraph, c == 'h');
        }
    }
    if (optind != argc - 1)
        return mt_usage(mt_usage_flamegraph, 0);
    if ((o.from || o.to) && o.view != VIEW_DIFF) {
        mt_error("flamegraph: --from and --to go with --view diff");
        return MT_EXIT_USAGE;
    }
    sqlite3 *db;
    int rc = mt_db_open_process(argv[optind], pid, &db);
    if (rc)
        return rc;
    int64_t procs = pid ? 0 : mt_tree_count(db);
    if (procs > 1)
        fprintf(stderr, "memtap: the first of the run's %lld processes; --pid PID for another"
                        " (memtap summary lists them)\n", (long long)procs);
    /* The diff's two points, named as points.h says (default: start, end);
     * the model gets a point at each. */
    int64_t seq[2] = {0, 0}, ns[2] = {0, 0};
    if (o.view == VIEW_DIFF) {
        rc = mt_point_resolve(db, "flamegraph", o.from ? o.from : "start", &seq[0], &ns[0]);
        if (!rc)
            rc = mt_point_resolve(db, "flamegraph", o.to ? o.to : "end", &seq[1], &ns[1]);
    }
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    struct mt_fg_model m;
    rc = mt_fg_model_load(db, seq, ns, o.view == VIEW_DIFF ? 2 : 0, &m);
    int a = 0, b = (int)m.peak_point;
    if (o.view == VIEW_LEAKS)
        b = (int)m.exit_point;
    if (!rc && o.view == VIEW_DIFF) {
        a = mt_fg_point_at(&m, seq[0]);
        b = mt_fg_point_at(&m, seq[1]);
    }
    int folded = strcmp(o.format, "folded") == 0;
    /* The page merges what it could not show (folded output is exact). */
    struct mt_fg_merged merged = {0};
    if (!rc && !folded)
        rc = mt_fg_model_merge_small(&m, MERGE_SHARE, &merged);
    char path[4096];
    if (o.output)
        snprintf(path, sizeof path, "%s", o.output);
    else
        default_output(argv[optind], path, sizeof path);
    FILE *out = NULL;
    if (!rc)
        out = folded && !o.output ? stdout : create_output(path);
    if (!rc && !out)
        rc = MT_EXIT_FAIL;
    if (!rc) {
        if (folded)
            rc = write_folded(out, &m, &o, a, b);
        else
            write_html(out, db, &m, &merged, &o, a, b);
        if (out != stdout ? fclose(out) != 0 : fflush(out) != 0) {
            mt_error("flamegraph: %s: write failed", folded && !o.output ? "stdout" : path);
            rc = MT_EXIT_FAIL;
        } else if (!folded) {
            printf("%s\n", path);
        }
    }
    mt_fg_model_free(&m);
    sqlite3_close(db);
    return rc;
}
