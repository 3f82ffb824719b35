/* record.h - the two records every event writes (an allocation, a free),
 * inline in the hooks that write them.
 *
 * An allocation-heavy Python program makes tens of millions of events, and
 * these records are the part of each one that is the same for every hook:
 * a place in the thread's segment, the next sequence number, the address
 * as a delta from the thread's previous one, the kind byte last. Written
 * inline, an event pays for no call, no spilled registers and no second
 * look at the thread state; everything that is not the common case (a new
 * segment, a thread's first record, the clock's turn) is out of line in
 * writer.c. The format itself is include/mt_trace_format.h's.
 *
 * The caller holds the recursion guard of thread t (mt_enter).
 */
#ifndef MT_RECORD_H
#define MT_RECORD_H

#include "mt_shim.h"

/* writer.c: the segment has less than n bytes left, or the thread has not
 * started (or tracing is off: NULL). */
unsigned char *mt_room_slow(struct mt_thread *t, size_t n);

/* writer.c: the thread's clock tick ran out (sampling in-band, snapshots,
 * the RSS sample after a big block). */
void mt_tick_slow(struct mt_thread *t);

/* A block this large is usually filled right after it is allocated, and a
 * few of them can make a peak of RSS between two samples of the sampler
 * thread: the thread's next event takes an RSS sample and starts a burst
 * of samples, one a millisecond, by the sampler thread (mt_tick_slow). */
#define MT_BIG_BLOCK (1u << 20)

/* writer.c: the RSS sample before a block of MT_BIG_BLOCK or more is
 * freed, while it still counts in RSS: a peak of RSS made of a few big
 * blocks, filled and then freed, is seen at its top even when the sampler
 * thread's burst (sampler.c) could not run at that moment. At most one
 * extra sample a millisecond, as after a big block's allocation. */
void mt_big_free_sample(struct mt_thread *t);

/* writer.c: mt_record_free out of line, errno kept (mt_passing_release). */
void mt_record_passing_free(struct mt_thread *t, const void *p);

/* Where a record of at most n bytes may be written, or NULL. */
static inline unsigned char *mt_room(struct mt_thread *t, size_t n)
{
    if (MT_LIKELY(t->state == MT_THREAD_ACTIVE && (size_t)(t->end - t->pos) >= n)) {
        unsigned char *p = t->pos;
        if (!p) /* an active thread has a segment: the caller's NULL test goes */
            __builtin_unreachable();
        return p;
    }
    return mt_room_slow(t, n);
}

/* Publishes the record that starts at `at` (t->pos, as mt_room gave it)
 * and ends at `end`: the kind byte goes last, so a reader never sees a
 * half-written record as whole. */
static inline void mt_commit(struct mt_thread *t, unsigned char *at, unsigned kind,
                             unsigned char *end)
{
    __atomic_signal_fence(__ATOMIC_RELEASE);
    __atomic_store_n(at, (unsigned char)kind, __ATOMIC_RELAXED);
    t->pos = end;
    __atomic_signal_fence(__ATOMIC_RELEASE);
    t->counters->inflight = 0; /* after the kind byte (mt_take_event_seq) */
}

/* The sequence number of an event record: a delta of 1 from the thread's
 * last number is not written but flagged in the kind (MT_REC_SEQ_NEXT),
 * which this returns; any other delta is written at *p. */
static inline unsigned mt_take_event_seq(struct mt_thread *t, unsigned char **p)
{
    /* Before the number is taken, cleared once its record is committed
     * (mt_commit): the sampler publishes a watermark only when no thread
     * holds a number it has not committed (writer.c, publish_watermark). */
    t->counters->inflight = 1;
    uint64_t s = mt_seq_next(t);
    uint64_t delta = s - t->last_seq;
    t->last_seq = s;
    if (MT_LIKELY(delta == 1))
        return MT_REC_SEQ_NEXT;
    *p = mt_put_varint(*p, delta);
    return 0;
}

/* At most 9 bytes, written with one 8-byte store from p: both within the
 * 10 bytes the records below ask room for. */
static inline unsigned char *mt_put_addr(struct mt_thread *t, unsigned char *p, const void *a)
{
    uintptr_t v = (uintptr_t)a;
    p = mt_put_addr_delta(p, (int64_t)(v - t->prev_addr));
    t->prev_addr = v;
    return p;
}

static inline void mt_tick(struct mt_thread *t)
{
    if (MT_UNLIKELY(--t->clock_tick == 0))
        mt_tick_slow(t);
}

/* Records an allocation of `size` bytes at ptr by allocator function fn
 * (MT_FN_*), with its stack id. Failures turn tracing off, never reach the
 * caller. */
static MT_ALWAYS_INLINE void mt_record_alloc(struct mt_thread *t, unsigned fn,
                                             const void *ptr, size_t size, uint32_t stack)
{
    unsigned char *p = mt_room(t, 1 + 10 + 10 + 10 + 5);
    if (!p)
        return;
    unsigned char *q = p + 1;
    unsigned next = mt_take_event_seq(t, &q);
    q = mt_put_addr(t, q, ptr);
    q = mt_put_varint(q, size);
    q = mt_put_varint(q, mt_zigzag((int64_t)stack - (int64_t)t->prev_stack));
    t->prev_stack = stack;
    mt_commit(t, p, (MT_REC_ALLOC + fn) | next, q);
    t->counters->allocs++;
    if (MT_UNLIKELY(size >= MT_BIG_BLOCK)) {
        t->big_block = 1;
        t->clock_tick = 2; /* 1 after this event's tick: the next one samples */
    }
    mt_tick(t);
}

/* Records a free of ptr: kind is MT_REC_FREE, MT_REC_REALLOC_FREE (the old
 * block of a realloc), or MT_REC_REALLOC_UNDO (that realloc failed: the
 * block lives on). */
static MT_ALWAYS_INLINE void mt_record_free(struct mt_thread *t, unsigned kind, const void *ptr)
{
    unsigned char *p = mt_room(t, 1 + 10 + 10);
    if (!p)
        return;
    unsigned char *q = p + 1;
    unsigned next = mt_take_event_seq(t, &q);
    q = mt_put_addr(t, q, ptr);
    mt_commit(t, p, kind | next, q);
    if (kind == MT_REC_FREE || kind == MT_REC_REALLOC_FREE)
        t->counters->frees++;
    else
        t->counters->frees--; /* REALLOC_UNDO: that free did not happen */
    mt_tick(t);
}

/* A free or realloc that passes straight through a hook. When it runs
 * inside another hook of this thread (guard set), the block may still need
 * recording: the nested free of the block the outer hook is releasing
 * (PyObject_Free -> free of the same block) is not an event, but any other
 * block is (a layer wrapping ours, tracemalloc for one, may free its own
 * bookkeeping from inside our hook), so that one is recorded. */
static inline void mt_passing_release(const void *p)
{
    struct mt_thread *t = &mt_self;
    if (p && MT_UNLIKELY(t->guard) && p != t->releasing && mt_enabled)
        mt_record_passing_free(t, p);
}

#endif
