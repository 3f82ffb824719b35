/* fg_page.h - the flamegraph page: the HTML file (analyzer/flamegraph/
 * page.*, embedded into the binary by assets.S) with each process's model
 * (fg_model.h) as JSON inside it. */
#ifndef MT_FG_PAGE_H
#define MT_FG_PAGE_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "fg_model.h"

/* One process's model, as the page shows it. */
struct mt_fg_part {
    sqlite3 *db;                /* the process's database */
    struct mt_fg_model m;
    struct mt_fg_merged merged; /* what merging small frames folded away */
    int a, b;                   /* the view's two points (diff: from, to) */
};

struct mt_fg_page {
    const char *view; /* peak, leaks, diff or total */
    unsigned hide;    /* MT_FG_* classes hidden at first */
    struct mt_fg_part *parts; /* parts[0]: the process the page opens on */
    int nparts;
    /* A run of several processes: its first process's database (tables
     * processes and tree_samples), for the page's process selector and
     * the tree's RSS; NULL for a page of one process. */
    sqlite3 *run;
    /* Compared with an earlier run (`--base`): its model, in the view's
     * kind; NULL for a page of one run. */
    const struct mt_fg_part *base;
};

/* Writes the page. */
void mt_fg_page_write(FILE *out, const struct mt_fg_page *page);

#endif
