/* trace.c - the trace reader: header and segment validation, one decoder
 * per record kind, and the merge of per-thread record streams by sequence.
 *
 * Trust model: the file may be truncated, torn by a SIGKILL, or not a trace
 * at all. Every read is bounds-checked against its segment; anything that
 * is neither a valid record nor a torn one (kind 0 followed by bytes) is
 * reported as corruption with its file offset, never decoded as data.
 */
#define _GNU_SOURCE
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pack.h"
#include "util.h"

struct cursor {
    uint32_t thread;
    int64_t seg;            /* current segment index, -1 when done */
    const unsigned char *pos, *end;
    uint64_t last_seq, prev_addr;
    uint32_t prev_stack;
    struct mt_event next;   /* the pending ordered record */
};

struct mt_trace {
    unsigned char *map;     /* read-only mapping (PROT_READ) */
    size_t size;
    struct mt_file_header header;
    uint64_t nseg;
    int64_t *seg_next;      /* next segment of the same thread, -1 at end */
    struct cursor *cursors; /* one per thread index */
    uint32_t nthreads;
    uint64_t drop_lo, drop_hi; /* segments read and still mapped in: [lo, hi) */
    struct mt_trace_stats stats;
};

/* stats.events and stats.segments_read are written by the reading thread
 * alone and read meanwhile by another (progress, read_thread.c): relaxed
 * atomics, so that the counts are whole. */
static void count(uint64_t *n)
{
    __atomic_store_n(n, *n + 1, __ATOMIC_RELAXED);
}


static const unsigned char *seg_start(const struct mt_trace *t, uint64_t k)
{
    return t->map + MT_HEADER_SIZE + k * MT_SEGMENT_SIZE;
}

static int check_header(struct mt_trace *t, char *err, size_t errlen)
{
    if (t->size == 0)
        return mt_fail(err, errlen, EINVAL, "empty file, not a memtap trace");
    if (t->size < sizeof(struct mt_file_header) || memcmp(t->map, MT_MAGIC, 8) != 0)
        return mt_fail(err, errlen, EINVAL, "not a memtap trace (bad magic)");
    memcpy(&t->header, t->map, sizeof t->header);
    const struct mt_file_header *h = &t->header;
    if (h->version > MT_FORMAT_VERSION)
        return mt_fail(err, errlen, ENOTSUP,
                    "trace format version %u is newer than this memtap reads (%u): "
                    "use a newer memtap",
                    h->version, MT_FORMAT_VERSION);
    if (h->version == 0 || h->header_size != MT_HEADER_SIZE ||
        h->segment_size != MT_SEGMENT_SIZE)
        return mt_fail(err, errlen, EINVAL, "corrupt trace header (version %u, sizes %u/%u)",
                    h->version, h->header_size, h->segment_size);
    if (t->size < MT_HEADER_SIZE || (t->size - MT_HEADER_SIZE) % MT_SEGMENT_SIZE != 0)
        return mt_fail(err, errlen, EINVAL,
                    "truncated trace: %zu bytes is not a whole number of segments", t->size);
    t->header.exe[MT_EXE_MAX - 1] = 0;
    t->header.cmdline[MT_CMDLINE_MAX - 1] = t->header.cmdline[MT_CMDLINE_MAX - 2] = 0;
    return 0;
}

static int all_zero(const unsigned char *p, const unsigned char *end)
{
    for (; p < end; p++)
        if (*p)
            return 0;
    return 1;
}

/* Indexes segments: per thread, its segments in file (= claim) order. */
static int index_segments(struct mt_trace *t, char *err, size_t errlen)
{
    t->nseg = (t->size - MT_HEADER_SIZE) / MT_SEGMENT_SIZE;
    t->seg_next = malloc((t->nseg + 1) * sizeof *t->seg_next);
    if (!t->seg_next)
        return mt_fail(err, errlen, ENOMEM, "out of memory");
    uint32_t cap = 0;
    int64_t *last = NULL;
    for (uint64_t k = 0; k < t->nseg; k++) {
        /* Reading a header maps the pages around it (and a never-claimed
         * segment is read whole): give back every 256 segments' worth
         * (16 MiB), so that opening a trace does not make the file resident. */
        if (k && k % 256 == 0)
            madvise(t->map + MT_HEADER_SIZE + (k - 256) * MT_SEGMENT_SIZE, 256 * MT_SEGMENT_SIZE,
                    MADV_DONTNEED);
        const unsigned char *s = seg_start(t, k);
        struct mt_segment_header sh;
        memcpy(&sh, s, sizeof sh);
        t->seg_next[k] = -1;
        if (sh.magic != MT_SEGMENT_MAGIC) {
            /* Never claimed, or claimed and the writer died before the
             * magic: no record can follow either way. */
            if (sh.magic != 0 || !all_zero(s + sizeof sh, s + MT_SEGMENT_SIZE)) {
                free(last);
                return mt_fail(err, errlen, EINVAL, "corrupt segment header at offset %llu",
                            (unsigned long long)(s - t->map));
            }
            continue;
        }
        /* Thread indexes are handed out in order, and each thread that has
         * one claimed a segment: an index of the file's segment count or
         * more is corruption (and would size the cursors by it). */
        if (sh.thread >= (1u << 24) || sh.thread >= t->nseg) {
            free(last);
            return mt_fail(err, errlen, EINVAL, "corrupt segment header at offset %llu",
                        (unsigned long long)(s - t->map));
        }
        if (sh.thread >= cap) {
            uint32_t ncap = cap ? cap : 64;
            while (ncap <= sh.thread)
                ncap *= 2;
            struct cursor *c = realloc(t->cursors, ncap * sizeof *c);
            int64_t *l = realloc(last, ncap * sizeof *l);
            if (!c || !l) {
                free(c ? (void *)c : (void *)t->cursors);
                t->cursors = NULL;
                free(l ? l : last);
                return mt_fail(err, errlen, ENOMEM, "out of memory");
            }
            for (uint32_t i = cap; i < ncap; i++) {
                memset(&c[i], 0, sizeof c[i]);
                c[i].thread = i;
                c[i].seg = -1;
                l[i] = -1;
            }
            t->cursors = c;
            last = l;
            cap = ncap;
        }
        if (sh.thread >= t->nthreads)
            t->nthreads = sh.thread + 1;
        if (last[sh.thread] < 0)
            t->cursors[sh.thread].seg = (int64_t)k;
        else
            t->seg_next[last[sh.thread]] = (int64_t)k;
        last[sh.thread] = (int64_t)k;
        t->stats.segments++;
    }
    free(last);
    t->stats.threads = t->nthreads;
    return 0;
}

int mt_trace_open(const char *path, struct mt_trace **out, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mt_fail(err, errlen, errno, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return mt_fail(err, errlen, EINVAL, "%s: not a regular file", path);
    }
    /* Packed at rest (pack.h): read from the trace as written, unpacked. */
    struct mt_file_header h;
    if ((size_t)st.st_size > MT_HEADER_SIZE && pread(fd, &h, sizeof h, 0) == sizeof h &&
        memcmp(h.magic, MT_MAGIC, 8) == 0 && (h.flags & MT_HDR_PACKED)) {
        char why[256];
        int raw, rc = mt_trace_unpack(fd, path, &raw, why, sizeof why);
        close(fd);
        if (rc)
            return mt_fail(err, errlen, rc, "%s: %s", path, why);
        fd = raw;
        if (fstat(fd, &st) != 0) {
            close(fd);
            return mt_fail(err, errlen, EIO, "%s: cannot read the unpacked trace", path);
        }
    }
    struct mt_trace *t = calloc(1, sizeof *t);
    if (!t) {
        close(fd);
        return mt_fail(err, errlen, ENOMEM, "out of memory");
    }
    t->size = (size_t)st.st_size;
    if (t->size) {
        t->map = mmap(NULL, t->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (t->map == MAP_FAILED) {
            int e = errno;
            close(fd);
            free(t);
            return mt_fail(err, errlen, e, "%s: cannot map: %s", path, strerror(e));
        }
        madvise(t->map, t->size, MADV_SEQUENTIAL);
    }
    close(fd);
    char why[256];
    int rc = check_header(t, why, sizeof why);
    if (!rc)
        rc = index_segments(t, why, sizeof why);
    /* The index touched every segment's first page (and the kernel mapped
     * the pages around each): let them go until the read comes to them. */
    if (!rc && t->size > MT_HEADER_SIZE)
        madvise(t->map + MT_HEADER_SIZE, t->size - MT_HEADER_SIZE, MADV_DONTNEED);
    if (rc) {
        mt_fail(err, errlen, rc, "%s: %s", path, why);
        mt_trace_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

const struct mt_file_header *mt_trace_header(const struct mt_trace *t)
{
    return &t->header;
}

const struct mt_trace_stats *mt_trace_stats(const struct mt_trace *t)
{
    return &t->stats;
}

uint64_t mt_trace_id_limit(const struct mt_trace *t)
{
    return t->stats.segments * (MT_SEGMENT_SIZE / 2) + 1;
}

double mt_trace_fraction_read(const struct mt_trace *t)
{
    uint64_t read = __atomic_load_n(&t->stats.segments_read, __ATOMIC_RELAXED);
    return t->stats.segments ? (double)read / (double)t->stats.segments : 1.0;
}

uint64_t mt_trace_events_read(const struct mt_trace *t)
{
    return __atomic_load_n(&t->stats.events, __ATOMIC_RELAXED);
}

void mt_trace_close(struct mt_trace *t)
{
    if (!t)
        return;
    if (t->map && t->map != MAP_FAILED)
        munmap(t->map, t->size);
    free(t->seg_next);
    free(t->cursors);
    free(t);
}

/* ---- record decoding -------------------------------------------------- */

struct decoder {
    const unsigned char *p, *end;
    int bad;
    int leb_addr; /* format versions 1-3: addresses as zig-zag LEB128 */
    int rss_parts; /* format 6+: a SAMPLE's RSS parts and memtap's own */
};

static uint64_t get(struct decoder *d)
{
    uint64_t v = 0;
    if (!d->bad && mt_get_varint(&d->p, d->end, &v) != 0)
        d->bad = 1;
    return v;
}

static const unsigned char *get_bytes(struct decoder *d, size_t *len, size_t max)
{
    uint64_t n = get(d);
    if (d->bad || n > max || n > (size_t)(d->end - d->p)) {
        d->bad = 1;
        *len = 0;
        return NULL;
    }
    const unsigned char *s = d->p;
    d->p += n;
    *len = (size_t)n;
    return s;
}

static void get_seq(struct decoder *d, struct cursor *c, struct mt_event *ev)
{
    c->last_seq += get(d);
    ev->seq = c->last_seq;
}

/* An event record's number: 1 after the last when its kind says so
 * (MT_REC_SEQ_NEXT), else stored. */
static void get_event_seq(struct decoder *d, struct cursor *c, struct mt_event *ev, int next)
{
    if (next) {
        ev->seq = ++c->last_seq;
        return;
    }
    get_seq(d, c, ev);
}

static void get_addr(struct decoder *d, struct cursor *c, struct mt_event *ev)
{
    int64_t delta = 0;
    if (d->leb_addr)
        delta = mt_unzigzag(get(d));
    else if (!d->bad && mt_get_addr_delta(&d->p, d->end, &delta) != 0)
        d->bad = 1;
    c->prev_addr += (uint64_t)delta;
    ev->addr = c->prev_addr;
}

static void decode_alloc(struct decoder *d, struct cursor *c, struct mt_event *ev, int next)
{
    get_event_seq(d, c, ev, next);
    get_addr(d, c, ev);
    ev->size = get(d);
    c->prev_stack = (uint32_t)((int64_t)c->prev_stack + mt_unzigzag(get(d)));
    ev->stack = c->prev_stack;
}

static void decode_free(struct decoder *d, struct cursor *c, struct mt_event *ev, int next)
{
    get_event_seq(d, c, ev, next);
    get_addr(d, c, ev);
}

static void decode_stack(struct decoder *d, struct mt_event *ev)
{
    ev->stack = (uint32_t)get(d);
    ev->parent = (uint32_t)get(d);
    ev->frame = get(d);
}

static void decode_thread(struct decoder *d, struct mt_event *ev)
{
    get(d); /* index: the segment already says which thread */
    ev->tid = get(d);
    ev->text = (const char *)get_bytes(d, &ev->text_len, MT_NAME_MAX);
}

static void decode_module(struct decoder *d, struct mt_event *ev)
{
    ev->addr = get(d);
    ev->text = (const char *)get_bytes(d, &ev->text_len, MT_PATH_MAX);
    ev->build_id = get_bytes(d, &ev->build_id_len, MT_BUILD_ID_MAX);
}

static void decode_child_exit(struct decoder *d, struct mt_event *ev)
{
    ev->tid = get(d);
    ev->status = (uint32_t)get(d);
}

static void decode_pyframe(struct decoder *d, struct mt_event *ev)
{
    ev->stack = (uint32_t)get(d);
    ev->line = get(d);
    ev->text = (const char *)get_bytes(d, &ev->text_len, MT_PYNAME_MAX);
    ev->text2 = (const char *)get_bytes(d, &ev->text2_len, MT_PYNAME_MAX);
}

static void decode_sample(struct decoder *d, struct cursor *c, struct mt_event *ev)
{
    get_seq(d, c, ev);
    ev->ns = get(d);
    ev->rss = get(d);
    if (d->rss_parts) {
        ev->rss_file = get(d);
        ev->rss_shmem = get(d);
        ev->own_anon = get(d);
        ev->own_file = get(d);
        ev->own_shmem = get(d);
    } else {
        ev->rss_file = ev->rss_shmem = ev->own_anon = ev->own_file = ev->own_shmem = 0;
    }
}

static void decode_marker(struct decoder *d, struct cursor *c, struct mt_event *ev)
{
    get_seq(d, c, ev);
    ev->text = (const char *)get_bytes(d, &ev->text_len, MT_LABEL_MAX);
}

/* Segments read leave this process (they stay in the page cache, and a
 * string still pointing there reads them back), so that the reader's
 * resident memory does not grow with the trace: a run of neighbours at a
 * time, as each madvise costs every core a TLB flush. */
#define DROP_RUN 32 /* segments: 2 MiB */

static void drop_segments(struct mt_trace *t)
{
    if (t->drop_hi > t->drop_lo)
        madvise(t->map + MT_HEADER_SIZE + t->drop_lo * MT_SEGMENT_SIZE,
                (t->drop_hi - t->drop_lo) * MT_SEGMENT_SIZE, MADV_DONTNEED);
    t->drop_lo = t->drop_hi = 0;
}

static void done_with_segment(struct mt_trace *t, uint64_t k)
{
    if (k != t->drop_hi || t->drop_hi - t->drop_lo >= DROP_RUN) {
        drop_segments(t);
        t->drop_lo = k;
    }
    t->drop_hi = k + 1;
}

/* Moves to the cursor's next segment; returns 0 when there is none. */
static int next_segment(struct mt_trace *t, struct cursor *c, int first)
{
    int64_t k = first ? c->seg : t->seg_next[c->seg];
    if (!first && c->seg >= 0)
        done_with_segment(t, (uint64_t)c->seg);
    c->seg = k;
    if (k < 0)
        return 0;
    count(&t->stats.segments_read);
    const unsigned char *s = seg_start(t, (uint64_t)k);
    struct mt_segment_header sh;
    memcpy(&sh, s, sizeof sh);
    c->pos = s + sizeof sh;
    c->end = s + MT_SEGMENT_SIZE;
    c->last_seq = sh.base_seq;
    c->prev_addr = 0;
    c->prev_stack = 0;
    return 1;
}

/* Decodes records of cursor c, delivering unordered ones at once, until it
 * holds the next ordered record (returns 1) or its thread is done (0).
 * Returns -1 on corruption, or on_event's non-zero value as -2 (in *stop). */
static int advance(struct mt_trace *t, struct cursor *c,
                   int (*on_event)(void *, const struct mt_event *), void *ctx, int *stop,
                   char *err, size_t errlen)
{
    for (;;) {
        if (c->seg < 0)
            return 0;
        if (c->pos >= c->end || *c->pos == MT_REC_NONE) {
            if (c->pos < c->end && !all_zero(c->pos, c->end))
                t->stats.torn_records++;
            if (!next_segment(t, c, 0))
                return 0;
            continue;
        }
        const unsigned char *at = c->pos;
        unsigned kind = *at;
        int next = 0; /* MT_REC_SEQ_NEXT, on event records only */
        if ((kind & MT_REC_SEQ_NEXT) && mt_rec_is_event(kind & ~MT_REC_SEQ_NEXT)) {
            kind &= ~MT_REC_SEQ_NEXT;
            next = 1;
        }
        struct decoder d = {at + 1, c->end, 0, t->header.version < 4, t->header.version >= 6};
        /* Each decoder sets the fields of its kind (trace.h: the others are
         * not to be read); seq is 0 for the unordered kinds. Not a memset:
         * it was a fifth of a load. */
        struct mt_event *ev = &c->next;
        ev->seq = 0;
        ev->thread = c->thread;
        int ordered = 1;
        if (kind >= MT_REC_ALLOC && kind < MT_REC_ALLOC + MT_FN_COUNT) {
            ev->kind = MT_EV_ALLOC;
            ev->fn = kind - MT_REC_ALLOC;
            decode_alloc(&d, c, ev, next);
        } else if (kind == MT_REC_FREE || kind == MT_REC_REALLOC_FREE ||
                   kind == MT_REC_REALLOC_UNDO) {
            ev->kind = kind == MT_REC_FREE           ? MT_EV_FREE
                       : kind == MT_REC_REALLOC_FREE ? MT_EV_REALLOC_FREE
                                                     : MT_EV_REALLOC_UNDO;
            decode_free(&d, c, ev, next);
        } else if (kind == MT_REC_SAMPLE) {
            ev->kind = MT_EV_SAMPLE;
            decode_sample(&d, c, ev);
        } else if (kind == MT_REC_MARKER) {
            ev->kind = MT_EV_MARKER;
            decode_marker(&d, c, ev);
        } else if (kind == MT_REC_STACK) {
            ev->kind = MT_EV_STACK;
            decode_stack(&d, ev);
            ordered = 0;
        } else if (kind == MT_REC_THREAD) {
            ev->kind = MT_EV_THREAD;
            decode_thread(&d, ev);
            ordered = 0;
        } else if (kind == MT_REC_PYFRAME) {
            ev->kind = MT_EV_PYFRAME;
            decode_pyframe(&d, ev);
            ordered = 0;
        } else if (kind == MT_REC_MODULE) {
            ev->kind = MT_EV_MODULE;
            decode_module(&d, ev);
            ordered = 0;
        } else if (kind == MT_REC_CHILD_EXIT) {
            ev->kind = MT_EV_CHILD_EXIT;
            decode_child_exit(&d, ev);
            ordered = 0;
        } else {
            snprintf(err, errlen, "corrupt trace: unknown record kind 0x%02x at offset %llu",
                     kind, (unsigned long long)(at - t->map));
            return -1;
        }
        if (d.bad) {
            snprintf(err, errlen, "corrupt trace: record at offset %llu runs past its segment",
                     (unsigned long long)(at - t->map));
            return -1;
        }
        c->pos = d.p;
        if (ordered)
            return 1;
        count(&t->stats.events);
        int rc = on_event(ctx, ev);
        if (rc) {
            *stop = rc;
            return -2;
        }
    }
}

/* A binary min-heap of cursors keyed by their pending sequence number. A
 * sample or marker may share its number with an event: it was taken after
 * that event (the sampler thread takes no number of its own), so it sorts
 * after it. */
static int is_point(const struct mt_event *ev)
{
    return ev->kind == MT_EV_SAMPLE || ev->kind == MT_EV_MARKER;
}

static int before(struct cursor *const *h, size_t a, size_t b)
{
    const struct mt_event *x = &h[a]->next, *y = &h[b]->next;
    if (x->seq != y->seq)
        return x->seq < y->seq;
    return is_point(x) < is_point(y);
}

static void heap_down(struct cursor **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && before(h, l, m))
            m = l;
        if (r < n && before(h, r, m))
            m = r;
        if (m == i)
            return;
        struct cursor *tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

int mt_trace_read(struct mt_trace *t, int (*on_event)(void *ctx, const struct mt_event *ev),
                  void *ctx, char *err, size_t errlen)
{
    struct cursor **heap = calloc(t->nthreads ? t->nthreads : 1, sizeof *heap);
    if (!heap)
        return mt_fail(err, errlen, ENOMEM, "out of memory");
    size_t n = 0;
    int stop = 0, rc = 0;
    for (uint32_t i = 0; i < t->nthreads; i++) {
        struct cursor *c = &t->cursors[i];
        if (!next_segment(t, c, 1))
            continue;
        int a = advance(t, c, on_event, ctx, &stop, err, errlen);
        if (a < 0) {
            rc = a == -2 ? stop : EINVAL;
            goto out;
        }
        if (a == 1)
            heap[n++] = c;
    }
    for (size_t i = n; i-- > 0;)
        heap_down(heap, n, i);
    while (n > 0) {
        struct cursor *c = heap[0];
        count(&t->stats.events);
        rc = on_event(ctx, &c->next);
        if (rc)
            goto out;
        int a = advance(t, c, on_event, ctx, &stop, err, errlen);
        if (a < 0) {
            rc = a == -2 ? stop : EINVAL;
            goto out;
        }
        if (a == 0)
            heap[0] = heap[--n];
        heap_down(heap, n, 0);
    }
out:
    drop_segments(t);
    free(heap);
    return rc;
}
