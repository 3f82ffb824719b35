/* pprof.h - the flamegraph's model as a gzipped pprof profile (pprof.c). */
#ifndef MT_PPROF_H
#define MT_PPROF_H

#include <sqlite3.h>
#include <stdio.h>

#include "fg_model.h"

struct mt_pprof_view {
    const char *name; /* peak, leaks, diff, total */
    int diff, total;  /* inuse = live at b minus live at a (diff); alloc_space first (total) */
    int a, b;         /* the model's points */
    unsigned hide;    /* MT_FG_* classes of frames left out */
};

/* Writes the profile of model m (read from db, whose frames and modules
 * name its locations) to out. Returns an exit status (message printed). */
int mt_pprof_write(FILE *out, sqlite3 *db, const struct mt_fg_model *m,
                   const struct mt_pprof_view *v);

#endif
