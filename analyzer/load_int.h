/* load_int.h - the loader's state, shared by the files of `memtap load`:
 * load.c (the stream: events, live blocks, rows, metadata),
 * load_inherit.c (a forked child's heap at its start) and
 * load_tables.c (after the stream: frames, stacks, modules, per-stack
 * totals). Private to them; load.h is the command's contract. */
#ifndef MT_LOAD_INT_H
#define MT_LOAD_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "dbwriter.h"
#include "keep.h"
#include "livemap.h"
#include "progress.h"
#include "symbolize.h"
#include "trace.h"

struct node {
    uint32_t parent;
    uint32_t frame;   /* frame id (index into frame_pcs) */
    uint8_t defined;
};

/* The block a realloc released, held back until the same thread's next
 * event says whether that realloc failed (REALLOC_UNDO) or not. */
struct realloc_stash {
    struct mt_live live;
    uint64_t free_seq, free_ns;
    int used;
};

#define AHEAD 8

struct loader {
    sqlite3 *db;
    int quiet;                 /* no progress, no notes (the processes of a run) */
    struct mt_event ahead[AHEAD]; /* events read, not handled yet (on_event_ahead) */
    uint64_t ahead_put, ahead_used;
    struct mt_keep keep;       /* which rows to write, and the per-stack totals */
    uint64_t rows;             /* allocation rows written */
    uint64_t clock_seq;        /* the last clock row's seq */
    struct {
        uint64_t seq, ns;
    } *clock;                  /* every sample, in order: an allocation's time (ns_at) */
    uint32_t nclock, cap_clock;
    struct mt_progress *progress;
    struct mt_trace *trace;
    struct mt_dbwriter *rows_out; /* the rows' inserts, while the trace is read */
    struct mt_livemap live;
    struct realloc_stash *stash; /* per thread: the block a realloc released */
    uint32_t nstash;
    struct node *nodes;
    uint32_t nnodes;
    /* distinct native pcs: open-addressed pc -> frame id, ids from 1 */
    uint64_t *pc_keys;
    uint32_t *pc_ids;
    size_t pc_cap, pc_count;
    uint64_t *frame_pcs;
    struct mt_symbolizer *sym;
    struct pyframe {
        char *file, *function;
        uint64_t line;
    } *pyframes; /* by Python frame id */
    uint32_t npyframes;
    struct {
        char *path;
        uint64_t base;
        char build_id[2 * MT_BUILD_ID_MAX + 1];
    } *modules;
    int nmodules, cap_modules;
    uint64_t now_ns, max_ns, last_seq;
    uint64_t exit_seq, exit_ns, exit_heap, exit_count; /* exit_seq 0: at the end */
    unsigned exit_epoch;       /* Python exit markers seen (keep.h: the slices' epochs) */
    uint64_t slice_count, slice_events; /* the growth slices: how many, how wide */
    uint64_t heap, peak, peak_seq, peak_ns;
    uint64_t mark_peak, mark_bytes, mark_count; /* since the last marker (or the start) */
    uint64_t n_allocs, n_frees, bytes_allocated, n_unmatched, n_doubled, n_markers;
    uint64_t seq_base; /* a forked child's fork seq: its seqs count from there */
    uint64_t inherited_count, inherited_bytes; /* its parent's blocks at the fork */
    char err[512];
};

/* Says what failed, with SQLite's message, in L->err; returns EIO. */
int mt_load_sql_fail(struct loader *L, const char *what);

/* Steps and resets st (an insert): 0, or EIO with the message in L->err. */
int mt_load_step(struct loader *L, sqlite3_stmt *st);

/* Definitions from the stream (load.c), for load_inherit.c too. */
int mt_load_on_stack(struct loader *L, const struct mt_event *ev);
int mt_load_on_module(struct loader *L, const struct mt_event *ev);
int mt_load_on_pyframe(struct loader *L, const struct mt_event *ev);

/* A forked child's trace (MT_HDR_FORKED): its parent's live blocks at the
 * fork, live at seq 0, and the definitions it shares with the parent, from
 * the parent's trace in the same run (load_inherit.c). Nothing for another
 * trace. 0, or an errno with L->err set. */
int mt_load_inherit(struct loader *L, const char *trace_path);

/* The tables written after the stream (load_tables.c); each returns 0 or
 * an errno with L->err set. */
int mt_load_write_modules(struct loader *L);
int mt_load_write_stacks(struct loader *L); /* and frames */
int mt_load_write_totals(struct loader *L); /* stack_totals, peak_live, lifetimes */

#endif
