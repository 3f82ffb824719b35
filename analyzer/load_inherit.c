/* load_inherit.c - a forked child's heap at its start.
 *
 * A forked child begins with a copy of its parent's live blocks, and frees
 * them as its own. Its trace starts at the fork (MT_HDR_FORKED): the
 * sequence number there, and the last stack and Python frame ids the parent
 * had handed out, whose definitions are in the parent's trace only. So
 * before the child's own events, the parent's trace (found in the same
 * run: pid and start time, run_files.c) is read up to the fork: its
 * allocations and frees give the live blocks, its definitions the stacks
 * the child shares. A parent that was itself forked is read the same way
 * first, up its line.
 *
 * In the child's database the inherited blocks are allocated at seq 0, by
 * thread 0 (the thread that forked: the only one a child has at first),
 * under the parent's stacks; the child's own seqs count from the fork (the
 * loader subtracts fork_seq), so every answer about the child starts from
 * what it inherited. A realloc in the parent that failed (REALLOC_UNDO) is
 * read as a free: the block is missing from the inheritance (ENOMEM, never
 * seen in practice).
 *
 * When the parent's trace is missing or unreadable, the child loads
 * without its inheritance, with a warning: its frees of inherited blocks
 * are then unmatched.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "load_int.h"
#include "run_files.h"
#include "util.h"

#define LINE_MAX_DEPTH 64 /* fork generations followed up */

struct prefix {
    struct loader *L;
    uint64_t cut; /* the fork's seq, in the parent's numbering */
    uint32_t last_stack, last_pyframe;
};

static int on_parent_event(void *ctx, const struct mt_event *ev)
{
    struct prefix *p = ctx;
    struct loader *L = p->L;
    struct mt_live a, old;
    switch (ev->kind) {
    case MT_EV_ALLOC:
        if (ev->seq > p->cut)
            return 0;
        a = (struct mt_live){.addr = ev->addr, .seq = 0, .size = ev->size, .fn = ev->fn,
                             .stack = ev->stack, .thread = 0};
        return mt_livemap_put(&L->live, &a, &old) < 0 ? ENOMEM : 0;
    case MT_EV_FREE:
    case MT_EV_REALLOC_FREE:
        if (ev->seq <= p->cut)
            mt_livemap_take(&L->live, ev->addr, &old);
        return 0;
    case MT_EV_STACK:
        return ev->stack <= p->last_stack ? mt_load_on_stack(L, ev) : 0;
    case MT_EV_PYFRAME:
        return ev->stack <= p->last_pyframe ? mt_load_on_pyframe(L, ev) : 0;
    case MT_EV_MODULE:
        return mt_load_on_module(L, ev);
    default:
        return 0;
    }
}

/* The parent of the process whose header is child (its trace at
 * child_path), read up to cut with the ids up to the watermarks. */
static int replay_parent(struct loader *L, const char *child_path,
                         const struct mt_file_header *child, uint64_t cut, uint32_t last_stack,
                         uint32_t last_pyframe, int depth)
{
    char parent[4096], why[512];
    if (depth >= LINE_MAX_DEPTH) {
        snprintf(L->err, sizeof L->err, "more than %d forks in a line", LINE_MAX_DEPTH);
        return ELOOP;
    }
    if (mt_run_find_process(child_path, child->ppid, child->parent_start_ticks, parent,
                            sizeof parent) != 0) {
        snprintf(L->err, sizeof L->err, "the parent's trace (pid %llu) is not in the run",
                 (unsigned long long)child->ppid);
        return ENOENT;
    }
    struct mt_trace *tr;
    if (mt_trace_open(parent, &tr, why, sizeof why) != 0) {
        snprintf(L->err, sizeof L->err, "%s", why);
        return EINVAL;
    }
    const struct mt_file_header *ph = mt_trace_header(tr);
    int rc = 0;
    if (ph->start_monotonic_ns > child->start_monotonic_ns) {
        snprintf(L->err, sizeof L->err,
                 "the parent (pid %llu) exec'd another program after the fork: its trace "
                 "is that program's",
                 (unsigned long long)child->ppid);
        rc = ESTALE;
    } else if (ph->flags & MT_HDR_FORKED) {
        rc = replay_parent(L, parent, ph, ph->fork_seq, ph->fork_last_stack,
                           ph->fork_last_pyframe, depth + 1);
    }
    if (!rc) {
        struct prefix p = {L, cut, last_stack, last_pyframe};
        struct mt_trace *own = L->trace;
        L->trace = tr; /* the id limits of the file being read */
        rc = mt_trace_read(tr, on_parent_event, &p, why, sizeof why);
        L->trace = own;
        if (rc && !L->err[0])
            snprintf(L->err, sizeof L->err, "%.200s: %.300s", parent, why);
    }
    mt_trace_close(tr);
    return rc;
}

int mt_load_inherit(struct loader *L, const char *trace_path)
{
    const struct mt_file_header *h = mt_trace_header(L->trace);
    if (!(h->flags & MT_HDR_FORKED))
        return 0;
    L->seq_base = h->fork_seq;
    int rc = replay_parent(L, trace_path, h, h->fork_seq, h->fork_last_stack,
                           h->fork_last_pyframe, 0);
    if (rc == ENOMEM)
        return rc;
    if (rc) {
        mt_warn("%s: loaded without the blocks it inherited at its fork: %s", trace_path,
                L->err);
        L->err[0] = 0;
        mt_livemap_free(&L->live);
        memset(&L->live, 0, sizeof L->live);
        return 0;
    }
    for (size_t i = 0; i < L->live.cap; i++) {
        const struct mt_live *a = &L->live.slots[i];
        if (!a->addr)
            continue;
        if (mt_keep_on_alloc(&L->keep, a) != 0) {
            snprintf(L->err, sizeof L->err, "out of memory");
            return ENOMEM;
        }
        L->inherited_count++;
        L->inherited_bytes += a->size;
    }
    L->heap = L->inherited_bytes;
    if (L->heap) {
        L->peak = L->heap;
        L->peak_seq = 0;
        mt_keep_new_peak(&L->keep, 0);
    }
    return 0;
}
