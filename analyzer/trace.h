/* trace.h - reading a memtap trace: validation, then every record delivered
 * in one global order (threads merged by sequence number).
 *
 * The reader maps the file read-only and keeps, besides that mapping, only
 * a cursor per writer thread and an index of segments: its memory does not
 * grow with the number of events.
 */
#ifndef MT_TRACE_H
#define MT_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "mt_trace_format.h"

enum mt_event_kind { /* the kinds that carry a block's address come first */
    MT_EV_ALLOC,
    MT_EV_FREE,
    MT_EV_REALLOC_FREE,
    MT_EV_REALLOC_UNDO,
    MT_EV_STACK,
    MT_EV_THREAD,
    MT_EV_MODULE,
    MT_EV_PYFRAME,
    MT_EV_SAMPLE,
    MT_EV_MARKER,
    MT_EV_CHILD_EXIT,
};

/* One record. Only the fields of its kind are set (kind, thread and seq
 * always; seq is 0 for the unordered kinds): the others hold whatever an
 * earlier record left. Byte strings (name, path, build_id, label) point
 * into the mapping and are not NUL-terminated. */
struct mt_event { /* an allocation's and a free's fields first, up to parent */
    enum mt_event_kind kind;
    uint32_t thread;       /* writer thread index (every kind) */
    uint64_t seq;          /* ordered kinds: ALLOC, FREE*, SAMPLE, MARKER */
    uint64_t addr;         /* ALLOC, FREE*; MODULE: load bias */
    uint64_t size;         /* ALLOC */
    unsigned fn;           /* ALLOC: enum mt_alloc_fn */
    uint32_t stack;        /* ALLOC: stack id; STACK: node id */
    uint32_t parent;       /* STACK */
    uint64_t frame;        /* STACK */
    uint64_t tid;          /* THREAD; CHILD_EXIT: the child's pid */
    uint32_t status;       /* CHILD_EXIT: its wait status */
    uint64_t ns;           /* SAMPLE: since start */
    uint64_t rss;          /* SAMPLE: the process's RSS, memtap's own included */
    uint64_t rss_file, rss_shmem; /* SAMPLE: its file-backed and shared parts (the rest
                                   * is anonymous); 0 before format 6 */
    uint64_t own_anon, own_file, own_shmem; /* SAMPLE: memtap's own in each part */
    const char *text;      /* THREAD name, MODULE path, MARKER label, PYFRAME file */
    size_t text_len;
    const char *text2;     /* PYFRAME function */
    size_t text2_len;
    uint64_t line;         /* PYFRAME (id in .stack) */
    const unsigned char *build_id; /* MODULE */
    size_t build_id_len;
};

struct mt_trace_stats {
    uint64_t torn_records;   /* dropped: writer died while writing them */
    uint64_t segments;       /* segments holding data */
    uint64_t threads;
    uint64_t events;         /* records delivered */
    uint64_t segments_read;  /* segments reached so far */
};

struct mt_trace;

/* Opens and validates path. On failure returns an errno-style code and puts
 * a one-line reason (without "memtap: ") in err. */
int mt_trace_open(const char *path, struct mt_trace **out, char *err, size_t errlen);

/* Opens path to follow it while its process writes it (the shim's live
 * watermark, mt_trace_format.h): mt_trace_read then delivers records as the
 * watermark passes them, waiting for more, until running(ctx) returns 0
 * (the process is gone): then it reads the rest as mt_trace_read reads a
 * trace at rest. Not for a packed trace. EAGAIN: the
 * file has no header yet. While it is read, ECANCELED says the process
 * exec'd another program (whose trace replaces this one's). */
int mt_trace_follow(const char *path, int (*running)(void *ctx), void *ctx,
                    struct mt_trace **out, char *err, size_t errlen);

const struct mt_file_header *mt_trace_header(const struct mt_trace *t);

/* Calls on_event for every record in order. Stops early and returns
 * on_event's value if it is non-zero. Returns 0 at the end, or EINVAL with
 * a reason in err for a corrupt trace. */
int mt_trace_read(struct mt_trace *t, int (*on_event)(void *ctx, const struct mt_event *ev),
                  void *ctx, char *err, size_t errlen);

/* The counts; read them once mt_trace_read has returned. */
const struct mt_trace_stats *mt_trace_stats(const struct mt_trace *t);

/* An upper bound on the ids (of stacks, Python frames) the trace can hold:
 * each is defined by one record of 2 bytes or more in its segments. */
uint64_t mt_trace_id_limit(const struct mt_trace *t);

/* The share of the trace's segments mt_trace_read has reached, 0 to 1, and
 * the records it has delivered: both may be read from another thread while
 * it runs. */
double mt_trace_fraction_read(const struct mt_trace *t);
uint64_t mt_trace_events_read(const struct mt_trace *t);

void mt_trace_close(struct mt_trace *t);

/* A sampled trace's mean distance in bytes between recorded allocations
 * (mt_trace_format.h: sample_rate), 0 when every allocation was recorded.
 * The ALLOC events of a sampled trace carry their weighted size: the
 * recorded size n divided by the chance 1 - exp(-n/rate) it had to be
 * recorded (mt_trace_weighted_size; n itself when n >= rate), so that
 * every sum of bytes over them is an unbiased estimate. */
uint64_t mt_trace_sample_rate(const struct mt_trace *t);
uint64_t mt_trace_weighted_size(uint64_t n, uint64_t rate);

#endif
