/* read_thread.h - the trace read on a thread of its own, its records handed
 * to the caller's thread in batches, so that decoding the trace and what the
 * caller does with each record (the load's live map) run on two cores.
 */
#ifndef MT_READ_THREAD_H
#define MT_READ_THREAD_H

#include "trace.h"

/* As mt_trace_read (trace.h): on_event is called for every record of t in
 * order, on the calling thread; t is read on another thread meanwhile. A
 * record's fields are those mt_trace_read gives, and its byte strings point
 * into the mapping as they do there. Falls back to mt_trace_read itself
 * when no thread can be made. */
int mt_trace_read_threaded(struct mt_trace *t,
                           int (*on_event)(void *ctx, const struct mt_event *ev), void *ctx,
                           char *err, size_t errlen);

#endif
