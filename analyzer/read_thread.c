/* read_thread.c - mt_trace_read_threaded (read_thread.h): a reader thread
 * decodes the trace and merges its threads' records (mt_trace_read) into
 * batches; the calling thread takes the batches in order and hands each
 * record to the caller.
 *
 * Why batches of compact slots: most records are allocations and frees,
 * whose few fields fit in 32 bytes, against the 136 of a struct mt_event;
 * what crosses from one core to the other is that slot, a batch of them at
 * a time, with one lock taken per batch. The other kinds (samples, markers,
 * names, paths) are rare and travel whole beside the slots.
 *
 * Ownership: a batch belongs to the reader until it is counted in `filled`,
 * then to the caller's thread until it is counted in `emptied`; both counts
 * and the flags are under `mu`.
 */
#define _GNU_SOURCE
#include "read_thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define SLOTS 8192 /* records a batch */
#define RARE 256   /* whole records a batch */
#define BATCHES 4

#define KIND_RARE 15u /* a slot whose record is rare[addr] */

/* A record in 32 bytes: seq; addr (STACK: frame; rare: its index); size
 * (STACK: parent); stack; meta = kind | fn << 4 | thread << 8. */
struct slot {
    uint64_t seq, addr, size;
    uint32_t stack, meta;
};

struct batch {
    struct slot slot[SLOTS];
    struct mt_event rare[RARE];
    uint32_t n, nrare;
};

struct queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct batch *b[BATCHES];
    uint64_t filled, emptied; /* batches handed over, and given back */
    int stop;                 /* the caller wants no more */
    int done;                 /* the reader ended: rc, err */
    int rc;
    char err[512];
    struct mt_trace *t;
    struct batch *cur; /* the reader's */
};

_Static_assert(MT_FN_COUNT <= 16, "an allocator function fits in 4 bits of a slot");
_Static_assert(MT_EV_CHILD_EXIT < KIND_RARE, "a kind fits in 4 bits of a slot");

/* Hands the reader's batch over, and takes the next free one; ECANCELED
 * when the caller stopped. */
static int hand_over(struct queue *q)
{
    __builtin_ia32_sfence(); /* the streaming stores before the batch is seen */
    pthread_mutex_lock(&q->mu);
    q->filled++;
    pthread_cond_broadcast(&q->cv);
    while (q->filled - q->emptied >= BATCHES && !q->stop)
        pthread_cond_wait(&q->cv, &q->mu);
    int stop = q->stop;
    q->cur = q->b[q->filled % BATCHES];
    pthread_mutex_unlock(&q->mu);
    q->cur->n = q->cur->nrare = 0;
    return stop ? ECANCELED : 0;
}

static int put(void *ctx, const struct mt_event *ev)
{
    struct queue *q = ctx;
    struct batch *b = q->cur;
    struct slot *s = &b->slot[b->n++];
    uint64_t addr = ev->addr, size = 0, stack = 0;
    unsigned kind = (unsigned)ev->kind;
    switch (ev->kind) {
    case MT_EV_ALLOC:
        size = ev->size;
        stack = ev->stack;
        kind |= ev->fn << 4;
        break;
    case MT_EV_FREE:
    case MT_EV_REALLOC_FREE:
    case MT_EV_REALLOC_UNDO:
        break;
    case MT_EV_STACK:
        stack = ev->stack;
        addr = ev->frame;
        size = ev->parent;
        break;
    default:
        kind = KIND_RARE;
        addr = b->nrare;
        b->rare[b->nrare++] = *ev;
        break;
    }
    /* Streaming stores: the lines go to memory whole, and the other core
     * reads them from there, instead of each one being taken back from its
     * cache when the batch comes round again (measured: the reader thread
     * 3x slower with plain stores). */
    long long *w = (long long *)s;
    __builtin_ia32_movnti64(&w[0], (long long)ev->seq);
    __builtin_ia32_movnti64(&w[1], (long long)addr);
    __builtin_ia32_movnti64(&w[2], (long long)size);
    __builtin_ia32_movnti64(&w[3], (long long)(stack | (uint64_t)(kind | ev->thread << 8) << 32));
    return b->n == SLOTS || b->nrare == RARE ? hand_over(q) : 0;
}

static void *reader_main(void *arg)
{
    struct queue *q = arg;
    char err[sizeof q->err] = "";
    int rc = mt_trace_read(q->t, put, q, err, sizeof err);
    __builtin_ia32_sfence();
    pthread_mutex_lock(&q->mu);
    if (q->cur->n)
        q->filled++;
    q->done = 1;
    q->rc = rc;
    memcpy(q->err, err, sizeof err);
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

/* Hands batch b's records to on_event; stops at its first non-zero value. */
static int deliver(const struct batch *b, struct mt_event *e,
                   int (*on_event)(void *, const struct mt_event *), void *ctx)
{
    for (uint32_t i = 0; i < b->n; i++) {
        const struct slot *s = &b->slot[i];
        unsigned kind = s->meta & 15;
        int rc;
        if (kind == KIND_RARE) {
            rc = on_event(ctx, &b->rare[s->addr]);
        } else {
            e->kind = (enum mt_event_kind)kind;
            e->thread = s->meta >> 8;
            e->seq = s->seq;
            e->addr = s->addr;
            e->size = s->size;
            e->stack = s->stack;
            e->fn = (s->meta >> 4) & 15;
            if (kind == MT_EV_STACK) {
                e->frame = s->addr;
                e->parent = (uint32_t)s->size;
            }
            rc = on_event(ctx, e);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int consume(struct queue *q, int (*on_event)(void *, const struct mt_event *), void *ctx)
{
    struct mt_event e;
    memset(&e, 0, sizeof e);
    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (q->emptied == q->filled && !q->done)
            pthread_cond_wait(&q->cv, &q->mu);
        int end = q->emptied == q->filled;
        const struct batch *b = q->b[q->emptied % BATCHES];
        pthread_mutex_unlock(&q->mu);
        if (end)
            return 0;
        int rc = deliver(b, &e, on_event, ctx);
        pthread_mutex_lock(&q->mu);
        q->emptied++;
        if (rc)
            q->stop = 1;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
        if (rc)
            return rc;
    }
}

int mt_trace_read_threaded(struct mt_trace *t,
                           int (*on_event)(void *ctx, const struct mt_event *ev), void *ctx,
                           char *err, size_t errlen)
{
    struct queue q;
    memset(&q, 0, sizeof q);
    q.t = t;
    int ok = 1;
    for (int i = 0; i < BATCHES; i++) {
        ok &= (q.b[i] = malloc(sizeof *q.b[i])) != NULL;
        if (q.b[i])
            q.b[i]->n = q.b[i]->nrare = 0;
    }
    pthread_t reader;
    if (ok) {
        q.cur = q.b[0];
        pthread_mutex_init(&q.mu, NULL);
        pthread_cond_init(&q.cv, NULL);
        ok = pthread_create(&reader, NULL, reader_main, &q) == 0;
        if (!ok) {
            pthread_cond_destroy(&q.cv);
            pthread_mutex_destroy(&q.mu);
        }
    }
    if (!ok) {
        for (int i = 0; i < BATCHES; i++)
            free(q.b[i]);
        return mt_trace_read(t, on_event, ctx, err, errlen);
    }
    int rc = consume(&q, on_event, ctx);
    pthread_join(reader, NULL);
    /* the caller's own value first; else the reader's, with its reason */
    if (!rc && q.rc) {
        rc = q.rc;
        snprintf(err, errlen, "%s", q.err);
    }
    pthread_cond_destroy(&q.cv);
    pthread_mutex_destroy(&q.mu);
    for (int i = 0; i < BATCHES; i++)
        free(q.b[i]);
    return rc;
}
