/* progress.h - a progress line on stderr for steps that take more than
 * about a second (loading a trace, a report that loads first), shown only
 * when stderr is a terminal: fraction done, events a second, time left.
 * Nothing at all is written when stderr is a file or a pipe. */
#ifndef MT_PROGRESS_H
#define MT_PROGRESS_H

#include <stdint.h>

struct mt_progress;

/* A progress line for the step `what`; NULL (and every call below a no-op)
 * when stderr is not a terminal or out of memory. */
struct mt_progress *mt_progress_new(const char *what);

/* Cheap enough to call once an event: 1 when it is time to show. */
int mt_progress_tick(struct mt_progress *p);

/* Draws the line: fraction in [0, 1], events done so far. */
void mt_progress_show(struct mt_progress *p, double fraction, uint64_t events);

/* Clears the line (if one was drawn) and frees p. */
void mt_progress_done(struct mt_progress *p);

#endif
