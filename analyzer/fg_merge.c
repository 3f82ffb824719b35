/* fg_merge.c - the flamegraph page's model with its smallest subtrees
 * merged (see mt_fg_model_merge_small in fg_model.h): a trace of a
 * million distinct stacks would otherwise make a page of tens of MB that a
 * browser opens slowly, to draw frames under a pixel wide. The folded
 * output never merges: it is exact. */
#define _GNU_SOURCE
#include "fg_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int cmp_group(const void *pa, const void *pb)
{
    const struct mt_fg_group *a = pa, *b = pb;
    if (a->node != b->node)
        return a->node < b->node ? -1 : 1;
    if (a->thread != b->thread)
        return a->thread < b->thread ? -1 : 1;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    return (a->last > b->last) - (a->last < b->last);
}

/* Renames each group's node through new_id, then sums groups that now
 * share (node, thread, first, last). */
static void remap_groups(struct mt_fg_group *g, uint32_t *n, const uint32_t *new_id)
{
    for (uint32_t i = 0; i < *n; i++)
        g[i].node = new_id[g[i].node];
    qsort(g, *n, sizeof *g, cmp_group);
    uint32_t out = 0;
    for (uint32_t i = 0; i < *n; i++) {
        if (out && cmp_group(&g[out - 1], &g[i]) == 0) {
            g[out - 1].bytes += g[i].bytes;
            g[out - 1].count += g[i].count;
        } else {
            g[out++] = g[i];
        }
    }
    *n = out;
}

/* The pass's working arrays, by old node id. */
struct scratch {
    int64_t *bound;        /* bytes over every group and total of the subtree */
    uint32_t *target;      /* the kept node that holds each node */
    uint32_t *synth_of;    /* per kept node: its merged child, or 0 */
    uint32_t *merged_under; /* per kept node: nodes merged under it */
    uint32_t *new_id;
    uint8_t *kept;
    uint32_t *frame_new;   /* by old frame id */
};

static void scratch_free(struct scratch *w)
{
    free(w->bound);
    free(w->target);
    free(w->synth_of);
    free(w->merged_under);
    free(w->new_id);
    free(w->kept);
    free(w->frame_new);
}

static int scratch_new(struct scratch *w, uint32_t n, uint32_t nframes)
{
    w->bound = calloc(n, sizeof *w->bound);
    w->target = malloc(n * sizeof *w->target);
    w->synth_of = calloc(n, sizeof *w->synth_of);
    w->merged_under = calloc(n, sizeof *w->merged_under);
    w->new_id = malloc(n * sizeof *w->new_id);
    w->kept = calloc(n, 1);
    w->frame_new = calloc((size_t)nframes + 1, sizeof *w->frame_new);
    if (w->bound && w->target && w->synth_of && w->merged_under && w->new_id && w->kept &&
        w->frame_new)
        return 0;
    scratch_free(w);
    mt_error("flamegraph: out of memory");
    return MT_EXIT_FAIL;
}

int64_t mt_fg_model_scale(const struct mt_fg_model *m)
{
    int64_t all_total = 0;
    for (uint32_t i = 0; i < m->ntotals; i++)
        all_total += m->totals[i].bytes;
    return m->peak_bytes > all_total ? m->peak_bytes : all_total;
}

int mt_fg_model_merge_small(struct mt_fg_model *m, int64_t threshold, struct mt_fg_merged *out)
{
    memset(out, 0, sizeof *out);
    uint32_t n = m->nnodes;
    struct scratch w;
    if (n < 2)
        return MT_EXIT_OK;
    if (scratch_new(&w, n, m->nframes))
        return MT_EXIT_FAIL;
    for (uint32_t i = 0; i < m->ngroups; i++)
        if (m->groups[i].node < n)
            w.bound[m->groups[i].node] += m->groups[i].bytes;
    for (uint32_t i = 0; i < m->ntotals; i++)
        if (m->totals[i].node < n)
            w.bound[m->totals[i].node] += m->totals[i].bytes;
    for (uint32_t i = n; i-- > 1;)
        w.bound[m->parent[i] < i ? m->parent[i] : 0] += w.bound[i];
    out->threshold = threshold;
    /* Parents come before children: one ascending pass decides each node. */
    w.kept[0] = 1;
    w.target[0] = 0;
    for (uint32_t i = 1; i < n; i++) {
        uint32_t p = m->parent[i] < i ? m->parent[i] : 0;
        if (w.kept[p] && w.bound[i] >= out->threshold) {
            w.kept[i] = 1;
            w.target[i] = i;
        } else {
            w.target[i] = w.kept[p] ? p : w.target[p]; /* the kept ancestor */
            w.merged_under[w.target[i]]++;
            out->nodes++;
        }
    }
    if (!out->nodes) {
        scratch_free(&w);
        return MT_EXIT_OK;
    }
    /* New numbering: kept nodes in order, then one merged node per kept
     * node that has merged children; frames as the kept nodes use them,
     * then one name per merged node. */
    uint32_t nn = 0, nf = 1, nsynth = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (w.kept[i])
            w.new_id[i] = nn++;
        if (w.kept[i] && w.merged_under[i])
            nsynth++;
    }
    uint32_t total_nodes = nn + nsynth;
    uint32_t *parent = malloc(total_nodes * sizeof *parent);
    uint32_t *frame = malloc(total_nodes * sizeof *frame);
    char **names = calloc((size_t)m->nframes + nsynth + 1, sizeof *names);
    uint8_t *native = calloc((size_t)m->nframes + nsynth + 1, 1);
    if (!parent || !frame || !names || !native) {
        mt_error("flamegraph: out of memory");
        free(parent);
        free(frame);
        free(names);
        free(native);
        scratch_free(&w);
        return MT_EXIT_FAIL;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!w.kept[i])
            continue;
        uint32_t f = m->frame[i] < m->nframes ? m->frame[i] : 0;
        if (f && !w.frame_new[f]) {
            w.frame_new[f] = nf;
            names[nf] = m->frame_name[f];
            m->frame_name[f] = NULL;
            native[nf] = m->frame_class[f];
            nf++;
        }
        parent[w.new_id[i]] = i ? w.new_id[m->parent[i] < i ? m->parent[i] : 0] : 0;
        frame[w.new_id[i]] = f ? w.frame_new[f] : 0;
    }
    uint32_t s = nn;
    for (uint32_t i = 0; i < n; i++) {
        if (!w.kept[i] || !w.merged_under[i])
            continue;
        w.synth_of[i] = s;
        parent[s] = w.new_id[i];
        if (asprintf(&names[nf], "[%u small frames]", w.merged_under[i]) < 0)
            names[nf] = NULL;
        frame[s] = nf++;
        s++;
    }
    for (uint32_t i = 0; i < n; i++)
        w.new_id[i] = w.kept[i] ? w.new_id[i] : w.synth_of[w.target[i]];
    for (uint32_t i = 0; i < m->ngroups; i++) {
        const struct mt_fg_group *g = &m->groups[i];
        if (g->node < n && !w.kept[g->node] && g->first <= m->peak_point &&
            m->peak_point <= g->last)
            out->peak_bytes += g->bytes;
        if (g->node >= n)
            m->groups[i].node = 0;
    }
    for (uint32_t i = 0; i < m->ntotals; i++) {
        if (m->totals[i].node < n && !w.kept[m->totals[i].node])
            out->total_bytes += m->totals[i].bytes;
        if (m->totals[i].node >= n)
            m->totals[i].node = 0;
    }
    remap_groups(m->groups, &m->ngroups, w.new_id);
    remap_groups(m->totals, &m->ntotals, w.new_id);
    for (uint32_t i = 0; i < m->nframes; i++)
        free(m->frame_name[i]);
    free(m->frame_name);
    free(m->frame_class);
    free(m->parent);
    free(m->frame);
    m->frame_name = names;
    m->frame_class = native;
    m->nframes = nf;
    m->parent = parent;
    m->frame = frame;
    m->nnodes = total_nodes;
    scratch_free(&w);
    return MT_EXIT_OK;
}
