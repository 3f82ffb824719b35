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

int mt_fg_model_merge_small(struct mt_fg_model *m, int64_t share, struct mt_fg_merged *out)
{
    memset(out, 0, sizeof *out);
    uint32_t n = m->nnodes;
    if (n < 2)
        return MT_EXIT_OK;
    int64_t *bound = calloc(n, sizeof *bound);
    uint32_t *target = malloc(n * sizeof *target);    /* kept node holding each node */
    uint32_t *synth_of = malloc(n * sizeof *synth_of); /* per kept node: its merged child, or 0 */
    uint32_t *merged_under = calloc(n, sizeof *merged_under);
    uint32_t *new_id = malloc(2 * (size_t)n * sizeof *new_id);
    uint8_t *kept = calloc(n, 1);
    uint32_t *frame_new = calloc(m->nframes + 1, sizeof *frame_new);
    if (!bound || !target || !synth_of || !merged_under || !new_id || !kept || !frame_new) {
        mt_error("flamegraph: out of memory");
        free(bound), free(target), free(synth_of), free(merged_under), free(new_id), free(kept),
            free(frame_new);
        return MT_EXIT_FAIL;
    }
    int64_t all_total = 0;
    for (uint32_t i = 0; i < m->ngroups; i++)
        if (m->groups[i].node < n)
            bound[m->groups[i].node] += m->groups[i].bytes;
    for (uint32_t i = 0; i < m->ntotals; i++)
        if (m->totals[i].node < n) {
            bound[m->totals[i].node] += m->totals[i].bytes;
            all_total += m->totals[i].bytes;
        }
    for (uint32_t i = n; i-- > 1;)
        bound[m->parent[i] < i ? m->parent[i] : 0] += bound[i];
    int64_t ref = m->peak_bytes > all_total ? m->peak_bytes : all_total;
    out->threshold = ref / (share > 0 ? share : 1);
    /* Parents come before children: one ascending pass decides each node. */
    kept[0] = 1;
    target[0] = 0;
    for (uint32_t i = 1; i < n; i++) {
        uint32_t p = m->parent[i] < i ? m->parent[i] : 0;
        if (kept[p] && bound[i] >= out->threshold) {
            kept[i] = 1;
            target[i] = i;
        } else {
            target[i] = kept[p] ? p : target[p]; /* the kept ancestor */
            merged_under[target[i]]++;
            out->nodes++;
        }
    }
    if (!out->nodes) {
        free(bound), free(target), free(synth_of), free(merged_under), free(new_id), free(kept),
            free(frame_new);
        return MT_EXIT_OK;
    }
    /* New numbering: kept nodes in order, then one merged node per kept
     * node that has merged children; frames as the kept nodes use them,
     * then one name per merged node. */
    uint32_t nn = 0, nf = 1;
    for (uint32_t i = 0; i < n; i++)
        if (kept[i])
            new_id[i] = nn++;
    uint32_t nsynth = 0;
    for (uint32_t i = 0; i < n; i++)
        if (kept[i] && merged_under[i])
            nsynth++;
    uint32_t total_nodes = nn + nsynth;
    uint32_t *parent = malloc(total_nodes * sizeof *parent);
    uint32_t *frame = malloc(total_nodes * sizeof *frame);
    char **names = calloc(m->nframes + nsynth + 1, sizeof *names);
    uint8_t *native = calloc(m->nframes + nsynth + 1, 1);
    if (!parent || !frame || !names || !native) {
        mt_error("flamegraph: out of memory");
        free(parent), free(frame), free(names), free(native);
        free(bound), free(target), free(synth_of), free(merged_under), free(new_id), free(kept),
            free(frame_new);
        return MT_EXIT_FAIL;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!kept[i])
            continue;
        uint32_t f = m->frame[i] < m->nframes ? m->frame[i] : 0;
        if (f && !frame_new[f]) {
            frame_new[f] = nf;
            names[nf] = m->frame_name[f];
            m->frame_name[f] = NULL;
            native[nf] = m->frame_native[f];
            nf++;
        }
        parent[new_id[i]] = i ? new_id[m->parent[i] < i ? m->parent[i] : 0] : 0;
        frame[new_id[i]] = f ? frame_new[f] : 0;
    }
    uint32_t s = nn;
    for (uint32_t i = 0; i < n; i++) {
        synth_of[i] = 0;
        if (!kept[i] || !merged_under[i])
            continue;
        synth_of[i] = s;
        parent[s] = new_id[i];
        if (asprintf(&names[nf], "[%u small frames]", merged_under[i]) < 0)
            names[nf] = NULL;
        frame[s] = nf++;
        s++;
    }
    for (uint32_t i = 0; i < n; i++)
        new_id[i] = kept[i] ? new_id[i] : synth_of[target[i]];
    for (uint32_t i = 0; i < m->ngroups; i++) {
        const struct mt_fg_group *g = &m->groups[i];
        if (g->node < n && !kept[g->node] && g->first <= m->peak_point && m->peak_point <= g->last)
            out->peak_bytes += g->bytes;
    }
    for (uint32_t i = 0; i < m->ntotals; i++)
        if (m->totals[i].node < n && !kept[m->totals[i].node])
            out->total_bytes += m->totals[i].bytes;
    for (uint32_t i = 0; i < m->ngroups; i++)
        if (m->groups[i].node >= n)
            m->groups[i].node = 0;
    for (uint32_t i = 0; i < m->ntotals; i++)
        if (m->totals[i].node >= n)
            m->totals[i].node = 0;
    remap_groups(m->groups, &m->ngroups, new_id);
    remap_groups(m->totals, &m->ntotals, new_id);
    for (uint32_t i = 0; i < m->nframes; i++)
        free(m->frame_name[i]);
    free(m->frame_name);
    free(m->frame_native);
    free(m->parent);
    free(m->frame);
    m->frame_name = names;
    m->frame_native = native;
    m->nframes = nf;
    m->parent = parent;
    m->frame = frame;
    m->nnodes = total_nodes;
    free(bound), free(target), free(synth_of), free(merged_under), free(new_id), free(kept),
        free(frame_new);
    return MT_EXIT_OK;
}
