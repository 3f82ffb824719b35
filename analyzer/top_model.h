/* top_model.h - what `memtap top` shows, kept up to date event by event
 * from a trace being written (top_model.c): the heap and RSS now, their
 * peaks and recent history, and per allocation site (a stack's innermost
 * Python frame, else its innermost native frame) the bytes and blocks live
 * now and a few seconds ago. */
#ifndef MT_TOP_MODEL_H
#define MT_TOP_MODEL_H

#include <stdint.h>

#include "livemap.h"
#include "trace.h"

#define MT_TOP_HISTORY 64 /* ticks of heap and RSS history (sparklines) */
#define MT_TOP_GROWTH 10  /* ticks a site's growth is measured over */

struct mt_top_site {
    uint64_t key;              /* MT_FRAME_PYTHON | Python frame id, or a pc */
    int64_t bytes, count;      /* live now */
    int64_t past[MT_TOP_GROWTH]; /* live bytes at the last ticks (a ring) */
    char *name;                /* made when first shown */
};

struct mt_top_model {
    struct mt_livemap live;
    int64_t heap, heap_peak;
    uint64_t rss, rss_peak;    /* the program's: memtap's own left out */
    uint64_t now_ns;           /* the latest sample's time since start */
    uint64_t events;
    uint64_t sample_rate;      /* a sampled trace: the figures are estimates */
    /* stacks: node -> parent and frame; node -> site index + 1 (0: unknown) */
    uint32_t *node_parent, *node_site;
    uint64_t *node_frame;
    uint32_t nnodes;
    struct pyframe {
        char *file, *function;
        uint64_t line;
    } *pyframes;
    uint32_t npyframes;
    struct {
        char *path;
        uint64_t base;
    } *modules;
    int nmodules;
    struct mt_symbolizer *sym;  /* made when a native site is first named */
    int symbolized_modules;     /* modules added to it so far */
    struct mt_top_site *sites;
    uint32_t nsites, cap_sites;
    uint32_t *site_index;      /* open addressing: key -> site + 1 */
    uint32_t index_cap;
    /* one value per tick */
    int64_t heap_hist[MT_TOP_HISTORY], rss_hist[MT_TOP_HISTORY];
    uint32_t ticks;
};

void mt_top_model_init(struct mt_top_model *m);
void mt_top_model_free(struct mt_top_model *m);

/* Takes one event in. 0, or ENOMEM. */
int mt_top_model_event(struct mt_top_model *m, const struct mt_event *ev);

/* Closes a tick (about a second): history and each site's past. */
void mt_top_model_tick(struct mt_top_model *m);

/* A site's name, "function (file:line)" (made once). */
const char *mt_top_site_name(struct mt_top_model *m, struct mt_top_site *s);

/* Bytes a site gained over the last MT_TOP_GROWTH ticks (or since it was
 * first seen). */
int64_t mt_top_site_growth(const struct mt_top_model *m, const struct mt_top_site *s);

#endif
