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
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pack.h"
#include "util.h"

enum cursor_state { NOT_STARTED, IN_HEAP, STARVED, DONE };

struct cursor {
    uint32_t thread;
    int state;              /* enum cursor_state, in mt_trace_read */
    int64_t seg;            /* current segment index, -1 when done */
    const unsigned char *pos, *end;
    uint64_t last_seq, prev_addr;
    uint32_t prev_stack;
    struct mt_event next;   /* the pending ordered record */
};

struct mt_trace {
    unsigned char *map;     /* read-only mapping (PROT_READ) */
    size_t size;            /* bytes of the file mapped at map */
    struct mt_file_header header;
    uint64_t nseg;          /* segments in the file (followed: mapped) */
    uint64_t indexed;       /* segments indexed: [0, indexed) */
    int64_t *seg_next;      /* next segment of the same thread, -1 at end */
    size_t seg_cap;
    struct cursor *cursors; /* one per thread index */
    int64_t *last_seg;      /* per thread index: its last segment indexed, -1 */
    uint32_t nthreads, cursor_cap;
    uint64_t drop_lo, drop_hi; /* segments read and still mapped in: [lo, hi) */
    struct mt_trace_stats stats;
    /* following a trace while it is written (mt_trace_follow) */
    int live;               /* the writer may still write */
    int fd;                 /* kept open to map what the file grows by */
    size_t reserved;        /* address space reserved at map */
    uint64_t watermark;     /* records of seq <= it may be delivered */
    int (*running)(void *ctx);
    void *running_ctx;
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

/* Room for thread index `thread` in the cursors and last_seg arrays. */
static int hold_thread(struct mt_trace *t, uint32_t thread)
{
    if (thread < t->cursor_cap)
        return 0;
    uint32_t ncap = t->cursor_cap ? t->cursor_cap : 64;
    while (ncap <= thread)
        ncap *= 2;
    struct cursor *c = realloc(t->cursors, ncap * sizeof *c);
    if (!c)
        return ENOMEM;
    t->cursors = c;
    int64_t *l = realloc(t->last_seg, ncap * sizeof *l);
    if (!l)
        return ENOMEM;
    t->last_seg = l;
    for (uint32_t i = t->cursor_cap; i < ncap; i++) {
        memset(&c[i], 0, sizeof c[i]);
        c[i].thread = i;
        c[i].seg = -1;
        l[i] = -1;
    }
    t->cursor_cap = ncap;
    return 0;
}

/* Indexes segments [t->indexed, upto): per thread, its segments in file
 * (= claim) order. Followed (t->live), a segment whose magic is not there
 * yet stops it (its writer is claiming it: the next look finds it): returns
 * EAGAIN with t->indexed there. */
static int index_more(struct mt_trace *t, uint64_t upto, char *err, size_t errlen)
{
    if (upto + 1 > t->seg_cap) {
        size_t cap = t->seg_cap ? t->seg_cap : 1024;
        while (cap < upto + 1)
            cap *= 2;
        int64_t *n = realloc(t->seg_next, cap * sizeof *n);
        if (!n)
            return mt_fail(err, errlen, ENOMEM, "out of memory");
        t->seg_next = n;
        t->seg_cap = cap;
    }
    for (uint64_t k = t->indexed; k < upto; k++) {
        /* Reading a header maps the pages around it (and a never-claimed
         * segment is read whole): give back every 256 segments' worth
         * (16 MiB), so that opening a trace does not make the file resident. */
        if (!t->live && k && k % 256 == 0)
            madvise(t->map + MT_HEADER_SIZE + (k - 256) * MT_SEGMENT_SIZE, 256 * MT_SEGMENT_SIZE,
                    MADV_DONTNEED);
        const unsigned char *s = seg_start(t, k);
        struct mt_segment_header sh;
        sh.magic = __atomic_load_n((const uint32_t *)(const void *)s, __ATOMIC_ACQUIRE);
        memcpy((char *)&sh + sizeof sh.magic, s + sizeof sh.magic, sizeof sh - sizeof sh.magic);
        t->seg_next[k] = -1;
        if (sh.magic != MT_SEGMENT_MAGIC) {
            if (t->live && sh.magic == 0) {
                t->indexed = k;
                return EAGAIN;
            }
            /* Never claimed, or claimed and the writer died before the
             * magic: no record can follow either way. */
            if (sh.magic != 0 || !all_zero(s + sizeof sh, s + MT_SEGMENT_SIZE))
                return mt_fail(err, errlen, EINVAL, "corrupt segment header at offset %llu",
                               (unsigned long long)(s - t->map));
            continue;
        }
        /* Thread indexes are handed out in order, and each thread that has
         * one claimed a segment: an index of the file's segment count or
         * more is corruption (and would size the cursors by it). */
        if (sh.thread >= (1u << 24) || sh.thread >= t->nseg)
            return mt_fail(err, errlen, EINVAL, "corrupt segment header at offset %llu",
                           (unsigned long long)(s - t->map));
        if (hold_thread(t, sh.thread))
            return mt_fail(err, errlen, ENOMEM, "out of memory");
        if (sh.thread >= t->nthreads)
            t->nthreads = sh.thread + 1;
        if (t->last_seg[sh.thread] < 0)
            t->cursors[sh.thread].seg = (int64_t)k;
        else
            t->seg_next[t->last_seg[sh.thread]] = (int64_t)k;
        t->last_seg[sh.thread] = (int64_t)k;
        t->stats.segments++;
    }
    t->indexed = upto;
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
    t->fd = -1;
    t->watermark = UINT64_MAX;
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
    if (!rc) {
        t->nseg = (t->size - MT_HEADER_SIZE) / MT_SEGMENT_SIZE;
        rc = index_more(t, t->nseg, why, sizeof why);
    }
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
        munmap(t->map, t->reserved ? t->reserved : t->size);
    if (t->fd >= 0)
        close(t->fd);
    free(t->seg_next);
    free(t->cursors);
    free(t->last_seg);
    free(t);
}

/* ---- record decoding -------------------------------------------------- */

uint64_t mt_trace_weighted_size(uint64_t n, uint64_t rate)
{
    if (!rate || n >= rate || n == 0)
        return n;
    double x = (double)n / (double)rate;
    return (uint64_t)llround((double)n / -expm1(-x));
}

uint64_t mt_trace_sample_rate(const struct mt_trace *t)
{
    if (t->header.version < 9 || !(t->header.flags & MT_HDR_SAMPLED))
        return 0;
    return t->header.sample_rate;
}

/* No block is this large: more than any address space (x86-64 with 5-level
 * paging has 2^56 bytes for a process); the loader's live map holds sizes
 * in 56 bits. A larger size is corruption. */
#define MAX_BLOCK (1ull << 56)

struct decoder {
    const unsigned char *p, *end;
    int bad;
    int oversize; /* an allocation of MAX_BLOCK or more */
    int leb_addr; /* format versions 1-3: addresses as zig-zag LEB128 */
    int rss_parts; /* format 6+: a SAMPLE's RSS parts and memtap's own */
    uint64_t sample_rate; /* MT_HDR_SAMPLED: an ALLOC's size is weighted */
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
    if (ev->size >= MAX_BLOCK)
        d->oversize = 1;
    if (d->sample_rate)
        ev->size = mt_trace_weighted_size(ev->size, d->sample_rate);
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
 * holds the next ordered record (returns 1) or its thread is done (0); 2
 * when followed and the thread has written nothing more yet. Returns -1 on
 * corruption, or on_event's non-zero value as -2 (in *stop). */
static int advance(struct mt_trace *t, struct cursor *c,
                   int (*on_event)(void *, const struct mt_event *), void *ctx, int *stop,
                   char *err, size_t errlen)
{
    for (;;) {
        if (c->seg < 0)
            return 0;
        /* the kind byte first: the writer stores it last (record.h) */
        if (c->pos >= c->end || __atomic_load_n(c->pos, __ATOMIC_ACQUIRE) == MT_REC_NONE) {
            /* followed: the thread's segment being written, more to come */
            if (t->live && t->seg_next[c->seg] < 0)
                return 2;
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
        struct decoder d = {.p = at + 1,
                            .end = c->end,
                            .leb_addr = t->header.version < 4,
                            .rss_parts = t->header.version >= 6,
                            .sample_rate = mt_trace_sample_rate(t)};
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
        if (d.oversize) {
            snprintf(err, errlen, "corrupt trace: an allocation of %llu bytes (no block is 2^56"
                     " bytes or more) at offset %llu", (unsigned long long)ev->size,
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

/* A binary min-heap of cursors (their thread indexes) keyed by their
 * pending sequence number. A sample or marker may share its number with
 * an event: it was taken after that event (the sampler thread takes no
 * number of its own), so it sorts after it. */
static int is_point(const struct mt_event *ev)
{
    return ev->kind == MT_EV_SAMPLE || ev->kind == MT_EV_MARKER;
}

static int before(const struct mt_trace *t, const uint32_t *h, size_t a, size_t b)
{
    const struct mt_event *x = &t->cursors[h[a]].next, *y = &t->cursors[h[b]].next;
    if (x->seq != y->seq)
        return x->seq < y->seq;
    return is_point(x) < is_point(y);
}

static void heap_down(const struct mt_trace *t, uint32_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && before(t, h, l, m))
            m = l;
        if (r < n && before(t, h, r, m))
            m = r;
        if (m == i)
            return;
        uint32_t tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

static void heap_up(const struct mt_trace *t, uint32_t *h, size_t i)
{
    while (i > 0 && before(t, h, i, (i - 1) / 2)) {
        uint32_t tmp = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
}

struct merge {
    struct mt_trace *t;
    int (*on_event)(void *, const struct mt_event *);
    void *ctx;
    uint32_t *heap;  /* cursors IN_HEAP */
    size_t n, cap;   /* cap: of heap, = the threads it was sized for */
};

/* Moves cursor i on and files it by what advance said. */
static int step(struct merge *m, uint32_t i, int *stop, char *err, size_t errlen)
{
    struct cursor *c = &m->t->cursors[i];
    int a = advance(m->t, c, m->on_event, m->ctx, stop, err, errlen);
    if (a < 0)
        return a == -2 ? *stop : EINVAL;
    c->state = a == 1 ? IN_HEAP : a == 2 ? STARVED : DONE;
    if (a == 1) {
        m->heap[m->n] = i;
        heap_up(m->t, m->heap, m->n++);
    }
    return 0;
}

/* Starts the cursors of threads indexed since, and moves on the starved
 * ones (followed: their threads may have written more). */
static int wake(struct merge *m, char *err, size_t errlen)
{
    struct mt_trace *t = m->t;
    if (t->nthreads > m->cap) {
        uint32_t *h = realloc(m->heap, t->nthreads * sizeof *h);
        if (!h)
            return mt_fail(err, errlen, ENOMEM, "out of memory");
        m->heap = h;
        m->cap = t->nthreads;
    }
    int stop = 0;
    for (uint32_t i = 0; i < t->nthreads; i++) {
        struct cursor *c = &t->cursors[i];
        if (c->state == NOT_STARTED && c->seg >= 0) {
            if (!next_segment(t, c, 1)) {
                c->state = DONE;
                continue;
            }
        } else if (c->state != STARVED) {
            continue;
        }
        int rc = step(m, i, &stop, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

static int any_starved(const struct mt_trace *t)
{
    for (uint32_t i = 0; i < t->nthreads; i++)
        if (t->cursors[i].state == STARVED || (t->cursors[i].state == NOT_STARTED &&
                                                t->cursors[i].seg >= 0))
            return 1;
    return 0;
}

static int follow(struct mt_trace *t, char *err, size_t errlen);

int mt_trace_read(struct mt_trace *t, int (*on_event)(void *ctx, const struct mt_event *ev),
                  void *ctx, char *err, size_t errlen)
{
    struct merge m = {t, on_event, ctx, NULL, 0, 0};
    int rc = 0, stop = 0;
    if (t->live)
        rc = follow(t, err, errlen);
    if (!rc)
        rc = wake(&m, err, errlen);
    while (!rc) {
        /* everything up to the watermark (all of it once not followed) */
        uint64_t delivered = 0;
        while (!rc && m.n > 0 && t->cursors[m.heap[0]].next.seq <= t->watermark) {
            uint32_t i = m.heap[0];
            count(&t->stats.events);
            rc = on_event(ctx, &t->cursors[i].next);
            if (rc)
                break;
            delivered++;
            m.heap[0] = m.heap[--m.n];
            heap_down(t, m.heap, m.n, 0);
            rc = step(&m, i, &stop, err, errlen);
        }
        if (rc || (!t->live && m.n == 0 && !any_starved(t)))
            break;
        if (t->live && !delivered) {
            struct timespec nap = {0, 1000000}; /* 1 ms: the sampler's tick is 10 */
            nanosleep(&nap, NULL);
        }
        if (t->live)
            rc = follow(t, err, errlen);
        if (!rc)
            rc = wake(&m, err, errlen);
    }
    drop_segments(t);
    free(m.heap);
    return rc;
}

/* ---- following a trace as it is written ----------------------------------- */

#define FOLLOW_RESERVE (64ull << 30) /* as the writer's largest trace */

/* Maps what the file has grown by since (within the reservation). */
static int map_more(struct mt_trace *t, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(t->fd, &st) != 0)
        return mt_fail(err, errlen, errno, "cannot stat the trace: %s", strerror(errno));
    size_t size = (size_t)st.st_size;
    if (size > t->reserved)
        size = t->reserved;
    size -= size < MT_HEADER_SIZE ? 0 : (size - MT_HEADER_SIZE) % MT_SEGMENT_SIZE;
    if (size <= t->size)
        return 0;
    if (mmap(t->map + t->size, size - t->size, PROT_READ, MAP_SHARED | MAP_FIXED, t->fd,
             (off_t)t->size) == MAP_FAILED)
        return mt_fail(err, errlen, errno, "cannot map the trace: %s", strerror(errno));
    t->size = size;
    t->nseg = (size - MT_HEADER_SIZE) / MT_SEGMENT_SIZE;
    return 0;
}

/* One look at the trace being written: what the writer published, the
 * segments it needs indexed, and whether it is done (the caller says the
 * process is gone): then all of it, read as a trace at rest. */
static int follow(struct mt_trace *t, char *err, size_t errlen)
{
    const struct mt_file_header *h = (const struct mt_file_header *)(const void *)t->map;
    uint64_t w = __atomic_load_n(&h->live_watermark, __ATOMIC_ACQUIRE);
    uint64_t segs = __atomic_load_n(&h->live_segments, __ATOMIC_ACQUIRE);
    uint32_t flags = __atomic_load_n(&h->flags, __ATOMIC_ACQUIRE);
    if (flags & MT_HDR_EXECED)
        return mt_fail(err, errlen, ECANCELED,
                       "the traced process exec'd another program, whose trace replaces this one");
    /* Closed is not done: the launcher writes how the process ended into
     * the header after it reaped it, and then says it is gone. */
    int done = !t->running(t->running_ctx);
    int rc = map_more(t, err, errlen);
    if (rc)
        return rc;
    if (done) {
        t->live = 0;
        t->watermark = UINT64_MAX;
        memcpy(&t->header, h, sizeof t->header);
        return index_more(t, t->nseg, err, errlen);
    }
    if (segs > t->nseg)
        return 0; /* the file has not grown yet as far as this reader sees */
    rc = index_more(t, segs, err, errlen);
    if (rc == EAGAIN)
        return 0; /* a segment below it is being claimed: its records are later */
    if (!rc && w > t->watermark)
        t->watermark = w;
    return rc;
}

int mt_trace_follow(const char *path, int (*running)(void *ctx), void *ctx,
                    struct mt_trace **out, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mt_fail(err, errlen, errno, "%s: %s", path, strerror(errno));
    struct mt_trace *t = calloc(1, sizeof *t);
    if (!t) {
        close(fd);
        return mt_fail(err, errlen, ENOMEM, "out of memory");
    }
    t->fd = fd;
    t->live = 1;
    t->running = running;
    t->running_ctx = ctx;
    t->reserved = FOLLOW_RESERVE;
    t->map = mmap(NULL, t->reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    int rc = t->map == MAP_FAILED ? mt_fail(err, errlen, errno, "cannot reserve address space")
                                  : map_more(t, err, errlen);
    char why[256];
    static const char none[8];
    if (!rc && (t->size < MT_HEADER_SIZE || memcmp(t->map, none, sizeof none) == 0))
        rc = mt_fail(err, errlen, EAGAIN, "%s: no header yet", path);
    if (!rc && (rc = check_header(t, why, sizeof why)) != 0)
        mt_fail(err, errlen, rc, "%s: %s", path, why);
    if (rc) {
        if (t->map == MAP_FAILED)
            t->map = NULL;
        mt_trace_close(t);
        return rc;
    }
    *out = t;
    return 0;
}
