/* fg_model.h - what the flamegraph is drawn from, read out of a database:
 * the stack trie, timeline points, and allocations grouped by the points
 * at which they were live. Written once as JSON into the HTML page
 * (fg_json.c), and used directly for folded output (flamegraph.c).
 *
 * Points are positions in the event order (sequence numbers): start, the
 * heap peak, exit, every marker, and up to MT_FG_SAMPLE_POINTS samples
 * (the highest-heap sample of each stretch of the run). An allocation is
 * live at point p when alloc_seq <= seq(p) < free_seq; it is live at a
 * contiguous run of points [first, last], so allocations are summed into
 * groups by (stack, thread, first, last). Live bytes at any point are
 * exact: a group counts at p when first <= p <= last. Allocations live at
 * no point are in no group, but are in the per-(stack, thread) totals of
 * bytes ever allocated. */
#ifndef MT_FG_MODEL_H
#define MT_FG_MODEL_H

#include <sqlite3.h>
#include <stdint.h>

#define MT_FG_SAMPLE_POINTS 400

enum mt_fg_point_kind {
    MT_FG_START, MT_FG_SAMPLE, MT_FG_PEAK, MT_FG_EXIT, MT_FG_MARKER,
    MT_FG_CHOSEN /* a point named on the command line (points.h) that is none of the above */
};

struct mt_fg_point {
    int64_t seq, ns, rss; /* rss: of the latest sample at or before seq */
    int64_t rss_anon;     /* its anonymous part; -1: not in the trace (before format 6) */
    int kind;
    char *label; /* markers only */
};

struct mt_fg_group {
    uint32_t node, thread, first, last;
    int64_t bytes, count;
};

/* What a frame is, for the switches that hide frames (bits of frame_class):
 * native; Python's import machinery (importlib's bootstrap, frozen or not,
 * and zipimport); the interpreter's own C code (libpython or the python
 * executable, and the C start-up that calls it: _start, __libc_start_main). */
enum { MT_FG_NATIVE = 1, MT_FG_IMPORT = 2, MT_FG_INTERP = 4 };

/* The MT_FG_* class of a frame of the given kind ("python" or "native"),
 * file (Python), function, and module path (native; NULL if none). */
uint8_t mt_fg_frame_class(const char *kind, const char *file, const char *function,
                          const char *module);

struct mt_fg_model {
    /* Trie nodes, dense: node 0 is the root; parent[i] < i. */
    uint32_t nnodes;
    uint32_t *parent, *frame; /* frame: index into frame_name (0 = none) */
    uint32_t nframes;
    char **frame_name;   /* "function (file:line)", "function", or "0x..." */
    uint8_t *frame_class; /* MT_FG_* bits */
    struct mt_fg_point *points;
    uint32_t npoints, peak_point, exit_point;
    struct mt_fg_group *groups;
    uint32_t ngroups;
    struct mt_fg_group *totals; /* first = last = 0: bytes ever allocated */
    uint32_t ntotals;
    uint32_t nthreads;
    int64_t *thread_tid;
    char **thread_name;
    int64_t peak_bytes, exit_bytes;
};

/* Reads the model from db, with a point at each of the nchosen sequence
 * numbers chosen[] (with times chosen_ns[]) where there is none yet.
 * Returns 0 or MT_EXIT_FAIL (message printed). */
int mt_fg_model_load(sqlite3 *db, const int64_t *chosen, const int64_t *chosen_ns, int nchosen,
                     struct mt_fg_model *m);
void mt_fg_model_free(struct mt_fg_model *m);

/* What mt_fg_model_merge_small folded away. */
struct mt_fg_merged {
    uint32_t nodes;          /* nodes merged */
    int64_t total_bytes;     /* their bytes ever allocated */
    int64_t peak_bytes;      /* their bytes live at the peak */
    int64_t threshold;       /* a node was merged when it never held this much */
};

/* The larger of the heap peak and the bytes ever allocated: what the
 * threshold of mt_fg_model_merge_small is a share of. */
int64_t mt_fg_model_scale(const struct mt_fg_model *m);

/* Merges every subtree too small to see into one node per parent, named
 * "[N small frames]": a subtree whose bytes, summed over every group and
 * every total (more than any view can show of it), are under threshold
 * (a share of mt_fg_model_scale; two runs compared on one page use the
 * same one). The page then stays small whatever the trace: every view's
 * sums are unchanged. Nodes and frames are renumbered (parents still
 * before children). Returns 0 or MT_EXIT_FAIL (out of memory, printed;
 * the model is then unchanged). */
int mt_fg_model_merge_small(struct mt_fg_model *m, int64_t threshold, struct mt_fg_merged *out);

/* The index of the first point at sequence number seq, or -1. */
int mt_fg_point_at(const struct mt_fg_model *m, int64_t seq);

#endif
