/* flamegraph.c - `memtap flamegraph TRACE|DB [-o FILE] [--view V]
 * [--from A --to B] [--hide-native] [--hide-imports] [--hide-interpreter]
 * [--format html|folded]`.
 *
 * html (default): one self-contained page (fg_page.c writes it) with the
 * model of fg_model.h; for a run of several processes, the first one's
 * and up to MAX_PARTS - 1 others', with a selector and the tree's RSS.
 *
 * folded: "frame;frame;...;leaf VALUE" per stack, root first, sorted, the
 * format flamegraph.pl, inferno and speedscope read. Views: peak (live at
 * the heap peak), leaks (unfreed at exit), diff (bytes that grew from A to
 * B, points named as points.h says; stacks that shrank are left out),
 * total (bytes ever allocated).
 *
 * pprof: the same model as a gzipped pprof profile (pprof.c).
 *
 * --base RUN: this run against RUN, an earlier one of the same program
 * (its first process), in the peak, leaks or total view: the page shows
 * both runs' stacks matched by frame names and colours each frame by its
 * change; folded writes each stack's value in RUN and in this run. */
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
#include "fg_page.h"
#include "points.h"
#include "pprof.h"
#include "report.h"
#include "tree.h"
#include "util.h"

static const char *const view_names[] = {"peak", "leaks", "diff", "total"};

/* The page merges subtrees that never hold 1/MERGE_SHARE of the larger of
 * the peak and the bytes allocated: a tenth of a pixel on a 1,000-pixel
 * graph, visible from a 10x zoom on. */
#define MERGE_SHARE 10000
/* Processes whose models one page holds (a run's first and 31 more). */
#define MAX_PARTS 32
enum view { VIEW_PEAK, VIEW_LEAKS, VIEW_DIFF, VIEW_TOTAL };

struct fg_options {
    enum view view;
    const char *from, *to, *output, *format;
    const char *base; /* --base: the run this one is compared with */
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

/* Each stack's value in the view, as "frame;frame;...;leaf" paths sorted
 * by path, one line per distinct path (stacks that differ only in hidden
 * frames summed). Returns the number of lines, or -1 (out of memory). */
static ssize_t folded_lines(const struct mt_fg_model *m, enum view view, unsigned hide, int a,
                            int b, struct folded_line **out)
{
    int64_t *value = calloc(m->nnodes ? m->nnodes : 1, sizeof *value);
    if (!value)
        return -1;
    if (view == VIEW_TOTAL) {
        for (uint32_t i = 0; i < m->ntotals; i++)
            value[m->totals[i].node] += m->totals[i].bytes;
    } else {
        for (uint32_t i = 0; i < m->ngroups; i++) {
            const struct mt_fg_group *g = &m->groups[i];
            if (g->first <= (uint32_t)b && (uint32_t)b <= g->last)
                value[g->node] += g->bytes;
            if (view == VIEW_DIFF && g->first <= (uint32_t)a && (uint32_t)a <= g->last)
                value[g->node] -= g->bytes;
        }
    }
    struct folded_line *lines = calloc(m->nnodes ? m->nnodes : 1, sizeof *lines);
    size_t n = 0;
    for (uint32_t i = 0; lines && i < m->nnodes; i++)
        if (value[i] > 0) {
            lines[n].path = stack_path(m, i, hide);
            lines[n++].value = value[i];
        }
    free(value);
    if (!lines)
        return -1;
    qsort(lines, n, sizeof *lines, cmp_line);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept && lines[i].path && lines[kept - 1].path &&
            strcmp(lines[kept - 1].path, lines[i].path) == 0) {
            lines[kept - 1].value += lines[i].value;
            free(lines[i].path);
        } else {
            lines[kept++] = lines[i];
        }
    }
    *out = lines;
    return (ssize_t)kept;
}

static void free_lines(struct folded_line *lines, ssize_t n)
{
    for (ssize_t i = 0; i < n; i++)
        free(lines[i].path);
    free(lines);
}

static int write_folded(FILE *out, const struct mt_fg_model *m, const struct fg_options *o,
                        int a, int b)
{
    struct folded_line *lines;
    ssize_t n = folded_lines(m, o->view, o->hide, a, b, &lines);
    if (n < 0)
        return MT_EXIT_FAIL;
    for (ssize_t i = 0; i < n; i++)
        fprintf(out, "%s %lld\n", lines[i].path ? lines[i].path : "?",
                (long long)lines[i].value);
    free_lines(lines, n);
    return MT_EXIT_OK;
}

/* Against a base run: "frame;...;leaf BASE THIS" for every stack either
 * run has in the view (0 where one has none), the two-column form
 * flamegraph.pl draws as a differential flamegraph. */
static int write_folded_against(FILE *out, const struct mt_fg_part *base,
                                const struct mt_fg_part *part, const struct fg_options *o)
{
    struct folded_line *la, *lb;
    ssize_t na = folded_lines(&base->m, o->view, o->hide, base->a, base->b, &la);
    ssize_t nb = na < 0 ? -1 : folded_lines(&part->m, o->view, o->hide, part->a, part->b, &lb);
    if (nb < 0) {
        if (na >= 0)
            free_lines(la, na);
        return MT_EXIT_FAIL;
    }
    for (ssize_t i = 0, j = 0; i < na || j < nb;) {
        int c = i == na ? 1 : j == nb ? -1 : strcmp(la[i].path ? la[i].path : "?",
                                                     lb[j].path ? lb[j].path : "?");
        const char *path = c <= 0 ? la[i].path : lb[j].path;
        fprintf(out, "%s %lld %lld\n", path ? path : "?", (long long)(c <= 0 ? la[i].value : 0),
                (long long)(c >= 0 ? lb[j].value : 0));
        i += c <= 0;
        j += c >= 0;
    }
    free_lines(la, na);
    free_lines(lb, nb);
    return MT_EXIT_OK;
}

/* ---- models ----------------------------------------------------------------- */

/* One process's model for the view: its two points (diff: named as
 * points.h says, default start and end; a name it does not have is an
 * error). */
static int build_part(sqlite3 *db, const struct fg_options *o, struct mt_fg_part *p)
{
    memset(p, 0, sizeof *p);
    p->db = db;
    int64_t seq[2] = {0, 0}, ns[2] = {0, 0};
    int rc = 0;
    if (o->view == VIEW_DIFF) {
        rc = mt_point_resolve(db, "flamegraph", o->from ? o->from : "start", &seq[0], &ns[0]);
        if (!rc)
            rc = mt_point_resolve(db, "flamegraph", o->to ? o->to : "end", &seq[1], &ns[1]);
    }
    if (!rc)
        rc = mt_fg_model_load(db, seq, ns, o->view == VIEW_DIFF ? 2 : 0, &p->m);
    if (rc)
        return rc;
    p->a = 0;
    p->b = (int)(o->view == VIEW_LEAKS ? p->m.exit_point : p->m.peak_point);
    if (o->view == VIEW_DIFF) {
        p->a = mt_fg_point_at(&p->m, seq[0]);
        p->b = mt_fg_point_at(&p->m, seq[1]);
    }
    return 0;
}

/* Small frames merged for the page (folded output is exact): under
 * 1/MERGE_SHARE of scale. */
static int merge_part(struct mt_fg_part *p, int64_t scale)
{
    int rc = mt_fg_model_merge_small(&p->m, scale / MERGE_SHARE, &p->merged);
    if (rc)
        mt_fg_model_free(&p->m);
    return rc;
}

/* The run's other processes, in tree order, as many as fit (the page's
 * selector lists the rest, one `--pid` away): each one's model. A process
 * whose model cannot be built (a --from or --to it lacks) is left out.
 * Returns how many were added. */
static int add_processes(sqlite3 *run, const struct fg_options *o, struct mt_fg_part *parts,
                         int room)
{
    sqlite3_stmt *st;
    if (mt_prepare(run, "SELECT db_path, pid FROM processes WHERE id > 1 ORDER BY start_ns, id",
                   &st) != 0)
        return 0;
    int n = 0, left_out = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *path = (const char *)sqlite3_column_text(st, 0);
        sqlite3 *db = NULL;
        if (n == room) {
            left_out++;
            continue;
        }
        if (!path || mt_db_open_input(path, &db) != 0 || build_part(db, o, &parts[n]) != 0 ||
            merge_part(&parts[n], mt_fg_model_scale(&parts[n].m)) != 0) {
            mt_warn("flamegraph: process %lld left out of the page",
                    (long long)sqlite3_column_int64(st, 1));
            sqlite3_close(db);
            continue;
        }
        n++;
    }
    sqlite3_finalize(st);
    if (left_out)
        fprintf(stderr, "memtap: the page holds %d of the run's processes; the %d others are one"
                        " `memtap flamegraph --pid PID` away\n", n + 1, left_out);
    return n;
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

/* Beside the input: x.memtap or x.db -> x.html (or x.pb.gz). */
static void default_output(const char *input, const char *ext, char *out, size_t cap)
{
    size_t n = strlen(input);
    int db = n > 3 && strcmp(input + n - 3, ".db") == 0;
    mt_path_replace_ext(input, db ? ".db" : ".memtap", ext, out, cap);
}

const char mt_usage_flamegraph[] =
    "usage: memtap flamegraph [-o|--output FILE] [--view peak|leaks|diff|total]\n"
    "                         [--from A --to B] [--hide-native] [--hide-imports]\n"
    "                         [--hide-interpreter] [--pid PID] [--base RUN]\n"
    "                         [--format html|folded|pprof] TRACE|DB\n"
    "  --hide-*: leave out native frames, Python's import machinery (importlib),\n"
    "  or the interpreter's own C frames (libpython, python, C start-up)\n"
    "  A, B: a marker label, a time (1.5s, 250ms), start, peak or end\n"
    "  html (default) writes FILE (default: beside the trace, .html) and prints its path;\n"
    "  folded writes \"frame;frame;... bytes\" lines to FILE or stdout;\n"
    "  pprof writes a gzipped pprof profile (go tool pprof, Pyroscope, Parca) to FILE\n"
    "  (default: beside the trace, .pb.gz): alloc_objects, alloc_space, inuse_objects,\n"
    "  inuse_space (live at the view's point; the diff view: its change)\n"
    "  --pid PID: one process of the run, not the first (memtap summary lists them)\n"
    "  --base RUN: compare with RUN, an earlier run of the program (its first process):\n"
    "  the page colours each frame by its change from RUN (red: grew, blue: shrank);\n"
    "  folded writes \"frame;... BASE_BYTES BYTES\" lines (flamegraph.pl's differential)\n";

int mt_cmd_flamegraph(int argc, char **argv)
{
    struct fg_options o = {VIEW_PEAK, NULL, NULL, NULL, "html", NULL, 0};
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"view", required_argument, NULL, 'v'},
        {"from", required_argument, NULL, 'f'},   {"to", required_argument, NULL, 't'},
        {"format", required_argument, NULL, 'F'}, {"hide-native", no_argument, NULL, 'H'},
        {"hide-imports", no_argument, NULL, 'I'}, {"hide-interpreter", no_argument, NULL, 'P'},
        {"pid", required_argument, NULL, 'p'},    {"base", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    int c;
    long pid = 0;
    while ((c = getopt_long(argc, argv, "o:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o.output = optarg; break;
        case 'p':
            if ((pid = mt_parse_pid("flamegraph", optarg)) < 0)
                return MT_EXIT_USAGE;
            break;
        case 'b': o.base = optarg; break;
        case 'f': o.from = optarg; break;
        case 't': o.to = optarg; break;
        case 'H': o.hide |= MT_FG_NATIVE; break;
        case 'I': o.hide |= MT_FG_IMPORT; break;
        case 'P': o.hide |= MT_FG_INTERP; break;
        case 'F':
            if (strcmp(optarg, "html") != 0 && strcmp(optarg, "folded") != 0 &&
                strcmp(optarg, "pprof") != 0) {
                mt_error("flamegraph: --format wants html, folded or pprof");
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
    int pprof = strcmp(o.format, "pprof") == 0;
    if (o.base && (o.view == VIEW_DIFF || pprof)) {
        mt_error("flamegraph: --base compares the runs' %s", pprof
                     ? "graphs on the page or as folded lines; for pprof, write each run's"
                       " profile and give the first to `go tool pprof -diff_base`"
                     : "peak, leaks or total view, not --view diff");
        return MT_EXIT_USAGE;
    }
    sqlite3 *db, *base_db = NULL;
    int rc = mt_db_open_process(argv[optind], pid, &db);
    if (rc)
        return rc;
    int folded = strcmp(o.format, "folded") == 0 || pprof; /* one process, exact */
    struct mt_fg_part parts[MAX_PARTS];
    int nparts = 0;
    rc = build_part(db, &o, &parts[0]);
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    nparts = 1;
    struct mt_fg_part base;
    int has_base = 0;
    if (o.base) {
        rc = mt_db_open_process(o.base, 0, &base_db);
        if (!rc)
            rc = build_part(base_db, &o, &base);
        if (rc) {
            mt_fg_model_free(&parts[0].m);
            sqlite3_close(base_db);
            sqlite3_close(db);
            return rc;
        }
        has_base = 1;
    }
    if (!folded) { /* two runs compared merge under one threshold, so their frames match */
        int64_t scale = mt_fg_model_scale(&parts[0].m);
        if (has_base && mt_fg_model_scale(&base.m) > scale)
            scale = mt_fg_model_scale(&base.m);
        rc = merge_part(&parts[0], scale); /* frees the model when it fails */
        if (has_base && rc)
            mt_fg_model_free(&base.m);
        else if (has_base && (rc = merge_part(&base, scale)) != 0)
            mt_fg_model_free(&parts[0].m);
        if (rc) {
            sqlite3_close(base_db);
            sqlite3_close(db);
            return rc;
        }
    }
    int64_t procs = pid || o.base ? 0 : mt_tree_count(db);
    if (procs > 1 && folded)
        fprintf(stderr, "memtap: the first of the run's %lld processes; --pid PID for another"
                        " (memtap summary lists them)\n", (long long)procs);
    else if (procs > 1)
        nparts += add_processes(db, &o, parts + 1, MAX_PARTS - 1);
    char path[4096];
    if (o.output)
        snprintf(path, sizeof path, "%s", o.output);
    else
        default_output(argv[optind], pprof ? ".pb.gz" : ".html", path, sizeof path);
    FILE *out = folded && !pprof && !o.output ? stdout : create_output(path);
    if (!out)
        rc = MT_EXIT_FAIL;
    if (!rc) {
        if (pprof) {
            struct mt_pprof_view v = {view_names[o.view], o.view == VIEW_DIFF,
                                      o.view == VIEW_TOTAL, parts[0].a, parts[0].b, o.hide};
            rc = mt_pprof_write(out, db, &parts[0].m, &v);
        } else if (folded && has_base) {
            rc = write_folded_against(out, &base, &parts[0], &o);
        } else if (folded) {
            rc = write_folded(out, &parts[0].m, &o, parts[0].a, parts[0].b);
        } else {
            struct mt_fg_page page = {view_names[o.view], o.hide, parts, nparts,
                                      procs > 1 ? db : NULL, has_base ? &base : NULL};
            mt_fg_page_write(out, &page);
        }
        if (out != stdout ? fclose(out) != 0 : fflush(out) != 0) {
            mt_error("flamegraph: %s: write failed", folded && !o.output ? "stdout" : path);
            rc = MT_EXIT_FAIL;
        } else if (!folded || pprof) {
            printf("%s\n", path);
        }
    }
    for (int i = 0; i < nparts; i++) {
        mt_fg_model_free(&parts[i].m);
        if (parts[i].db != db)
            sqlite3_close(parts[i].db);
    }
    if (has_base)
        mt_fg_model_free(&base.m);
    sqlite3_close(base_db);
    sqlite3_close(db);
    return rc;
}
