/* mt_trace_format.h - the memtap trace file format: the one definition that
 * both the writer (shim/) and the reader (analyzer/) compile against.
 *
 * A trace is a memory-mapped file written while the program runs. It must be
 * readable after the writer is killed at any instant, so every rule below is
 * about what a reader can trust when the writer stopped mid-way.
 *
 * File layout
 * -----------
 *   offset 0            struct mt_file_header, padded to MT_HEADER_SIZE (4096)
 *   MT_HEADER_SIZE      segment 0
 *   + k*MT_SEGMENT_SIZE segment k
 *
 * The file grows in chunks of whole segments and is zero-filled when it grows
 * (fallocate), so an unwritten byte always reads as 0.
 *
 * Packed (at rest): once the program is done, `memtap run` compresses the
 * trace (analyzer/pack.c): the header as written, with MT_HDR_PACKED set,
 * then everything after it (the whole segments) as one zstd frame whose
 * content size is given. A reader unpacks it to the layout above (into a
 * file of its own) and reads that. Until then, and if the launcher is
 * killed, the trace stays as written, SIGKILL-safe as above.
 *
 * Header (struct mt_file_header, little endian, fixed offsets):
 *   off size field
 *     0    8 magic            "MEMTAPv\0"
 *     8    4 version          MT_FORMAT_VERSION; a reader rejects a newer one
 *    12    4 header_size      MT_HEADER_SIZE
 *    16    4 segment_size     MT_SEGMENT_SIZE
 *    20    4 flags            MT_HDR_CLOSED once the writer finished cleanly;
 *                                MT_HDR_PYMALLOC_ARENAS: CPython's small blocks
 *                                were recorded as pymalloc's arenas, not one by one
 *                                (set when memtap's hooks for that installed);
 *                                MT_HDR_PACKED: the rest is compressed (above);
 *                                MT_HDR_FORKED, MT_HDR_EXIT_STATUS, MT_HDR_SIGNALED,
 *                                MT_HDR_EXECED (below); MT_HDR_CHILDREN: the
 *                                run traces every process; MT_HDR_SAMPLED
 *                                (sample_rate, below); MT_HDR_WINDOWS: only
 *                                allocations inside recording windows were
 *                                recorded, every free was (so frees of blocks
 *                                allocated outside them are expected)
 *    24    8 pid, 32 8 ppid
 *    40    8 start_realtime_ns   wall clock at start (CLOCK_REALTIME)
 *    48    8 start_monotonic_ns  CLOCK_MONOTONIC at start; event times are
 *                                relative to it
 *    56    8 session          nonce from the launcher (identifies one run)
 *    64    8 end_seq          last sequence number handed out (when closed)
 *    72    8 end_monotonic_ns (when closed)
 *    80    8 n_allocs, 88 8 n_frees  writer's own counts (when closed)
 *    96    4 native_stacks    1 if native stacks were recorded
 *   100    4 max_depth
 *   104 1024 exe              NUL-terminated executable path
 *  1128 2048 cmdline          arguments separated by NUL, ends with "\0\0"
 *  3176    8 exit_seq         a hint for readers: the seq of the last
 *                                MT_MARKER_PYTHON_EXIT marker, 0 after a
 *                                MT_MARKER_PYTHON_FINALIZED one (and
 *                                without any): the exit is then the end.
 *                                Traces before it have 0. A reader may plan
 *                                with it and must check it against the
 *                                markers it reads.
 *  3184    8 fork_seq         (version 7+) a forked child's: the sequence
 *                                number at the fork. The child's blocks at
 *                                its start are its parent's live blocks up to
 *                                it (MT_HDR_FORKED). 0 otherwise.
 *  3192    4 fork_last_stack  the last stack node id and the last Python
 *  3196    4 fork_last_pyframe  frame id the parent had handed out at the
 *                                fork: ids up to them are defined in the
 *                                parent's trace, the child's own are above
 *  3200    8 start_ticks      this process's start time (field 22 of
 *                                /proc/PID/stat): a pid with its start time
 *                                names one process, across exec
 *  3208    8 parent_start_ticks  the parent's, for a forked child: with ppid
 *                                it names the parent's trace
 *  3216    4 exit_status      what the process passed to exit or _exit
 *                                (MT_HDR_EXIT_STATUS says it is set); the
 *                                launcher sets it for the first process from
 *                                what wait gave it, a signal's number with
 *                                MT_HDR_SIGNALED
 *  3220  512 exec_path        (MT_HDR_EXECED) the program the process
 *                                exec'd into, when that program wrote no
 *                                trace of its own (a static or setuid one)
 *  3736    8 live_segments    (version 8+) segments claimed when
 *                                live_watermark was published: every record
 *                                of seq <= it is in segments below this
 *  3744    8 live_watermark   (version 8+) every ordered record of seq <= it
 *                                is committed, and every later one will have
 *                                a greater seq (an observer's record: at least
 *                                it); published by the sampler thread about
 *                                every tick while the process runs (0: none),
 *                                so that a reader can follow the trace as it
 *                                is written (memtap run --load). Written
 *                                segments first, watermark second (release):
 *                                read the watermark first (acquire).
 *  3752    8 sample_rate      (version 9+, MT_HDR_SAMPLED) allocations were
 *                                sampled by bytes with this mean distance R
 *                                (memtap run --sample-rate): a block of n < R
 *                                bytes was recorded with probability
 *                                p = 1 - exp(-n/R), one of R or more always
 *                                (p = 1); frees are recorded for recorded
 *                                blocks only. A reader weights each recorded
 *                                block by 1/p: sums of bytes are then
 *                                unbiased estimates. Without the flag every
 *                                allocation was recorded.
 *  3760    4 stop_reason      (version 9+, MT_HDR_STOPPED) tracing stopped
 *  3764    4 stop_errno          before the process ended (enum
 *  3768    8 stop_ns             mt_stop_reason, the errno, when): nothing the
 *                                program did after is in the trace; the
 *                                header is still closed at its exit
 *
 * Process trees: `memtap run` traces every descendant (unless told not
 * to): the first process writes the run's trace, RUN; each other process
 * its own, in the directory RUN.d, named PID.memtap (PID.N.memtap when a
 * pid came back during the run). An exec keeps its process's trace file
 * and starts it afresh (the old program's heap is gone); a fork starts the
 * child's file with fork_seq and the id watermarks set.
 *
 * Segments
 * --------
 * A segment belongs to exactly one writer thread. It starts with
 * struct mt_segment_header {magic, thread index, base_seq} followed by
 * records packed back to back. A record never crosses a segment end; the
 * unused tail of a segment is zero. Segments are claimed in order with an
 * atomic counter, so a thread's segments appear in the file in its own order.
 *
 * Records
 * -------
 * A record is one kind byte followed by LEB128 varints (unsigned) or
 * zig-zag varints (signed deltas), but for addresses (mt_put_addr_delta). The writer stores the body first and the
 * kind byte last, after a compiler barrier: a record whose kind byte is 0 was
 * never completed. A 0 kind byte followed only by zeros is the end of the
 * segment's data; a 0 kind byte followed by non-zero bytes is a torn record
 * (the writer died while writing it): the reader drops it with a warning.
 *
 * Ordered records carry a sequence number: a global counter, taken by the
 * writer at the moment the event happened (a free before the memory is
 * released, an allocation after it is obtained), so merging all threads by
 * sequence gives an order in which an address is never live twice. It is
 * stored as a delta from the previous ordered record of the same thread (the
 * first one in a segment: from the segment's base_seq).
 *
 * Per-thread delta state (reset to 0 at each segment start, so a segment
 * decodes on its own): prev_addr, prev_stack.
 *
 *   kind                      body
 *   MT_REC_ALLOC + fn         seq_delta, addr (delta vs prev_addr),
 *     (fn: enum mt_alloc_fn)  size, stack (zz delta vs prev_stack)
 *   MT_REC_FREE               seq_delta, addr (delta)
 *   MT_REC_REALLOC_FREE       seq_delta, addr (delta): realloc released
 *                             this block (recorded before the call)
 *   MT_REC_REALLOC_UNDO       seq_delta, addr (delta): that realloc failed,
 *                             the block is live again
 *   MT_REC_STACK              id, parent id, frame      (not ordered)
 *   MT_REC_THREAD             index, tid, name_len, name bytes (not ordered)
 *   MT_REC_MODULE             base, path_len, path, id_len, build-id bytes
 *                             (not ordered)
 *   MT_REC_PYFRAME            id, line, file_len, file, func_len, function
 *                             (not ordered)
 *   MT_REC_CHILD_EXIT         pid, wait status (version 7+): the process
 *                             reaped a child that ended (exit status or
 *                             signal, as wait encodes them) (not ordered)
 *   MT_REC_SAMPLE             seq_delta, ns since start, rss bytes, then
 *                             (version 6+) its file-backed and shared-memory
 *                             parts, and memtap's own anonymous, file-backed
 *                             and shared-memory bytes within them
 *   MT_REC_MARKER             seq_delta, label_len, label bytes
 *
 * Since version 4 an event's address delta is written by mt_put_addr_delta
 * (a prefix varint of delta / 16, one store, no loop: fewer bytes and no
 * data-dependent branch). Versions 1-3 wrote it as a zig-zag LEB128 varint.
 *
 * Since version 3 an ALLOC, FREE, REALLOC_FREE or REALLOC_UNDO record whose
 * seq_delta is 1 (the common case: a thread that owns the sequence, or
 * holds the GIL) has MT_REC_SEQ_NEXT set in its kind and no seq_delta in
 * its body. Version 2 traces never set it and read the same way.
 *
 * Since version 2 a SAMPLE or MARKER written by the sampler thread takes no
 * number of its own: its seq is that of the last event before it (its delta
 * may be 0), and a reader orders it after every event with that number.
 * Version 1 traces, where every ordered record has its own number, read the
 * same way.
 *
 * Stacks are a trie: a stack id names a node (id, parent, frame); the stack
 * is the path from that node to the root (id 0, the empty stack). Node ids
 * are unique; the same (parent, frame) may appear under two ids (harmless).
 * A frame is a native return address, or a Python frame id with bit 63
 * set (MT_FRAME_PYTHON) whose PYFRAME record gives its file, function and
 * line. Each node and Python frame is written once, by the thread that
 * created it, before any record can use its id.
 */
#ifndef MT_TRACE_FORMAT_H
#define MT_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define MT_MAGIC "MEMTAPv"
#define MT_FORMAT_VERSION 9u /* 9: sample_rate; 8: live_segments, live_watermark */
#define MT_HEADER_SIZE 4096u
#define MT_SEGMENT_SIZE (64u * 1024u)
#define MT_SEGMENT_MAGIC 0x4753544du /* "MTSG" */
#define MT_HDR_CLOSED 1u
#define MT_HDR_PYMALLOC_ARENAS 2u
#define MT_HDR_PACKED 4u
#define MT_HDR_FORKED 8u      /* a forked child: fork_seq and the watermarks are set */
#define MT_HDR_EXIT_STATUS 16u /* exit_status is set */
#define MT_HDR_SIGNALED 32u    /* with it: exit_status is the signal that killed it */
#define MT_HDR_EXECED 64u      /* it exec'd exec_path, which did not take the trace over */
#define MT_HDR_CHILDREN 128u   /* the run traces every process (not --no-children) */
#define MT_HDR_SAMPLED 256u    /* allocations were sampled by bytes: sample_rate */
#define MT_HDR_STOPPED 1024u   /* tracing stopped before the end: stop_* say when, why */
#define MT_HDR_WINDOWS 512u    /* recording windows: allocations made between them are
                                * not recorded, frees are (markers MT_MARKER_WINDOW_*) */
#define MT_EXEC_PATH_MAX 512
#define MT_RUN_DIR_SUFFIX ".d" /* RUN.d: the other processes' traces */
#define MT_FRAME_PYTHON (1ull << 63)
/* Marker the shim writes when a Python program ends, before the interpreter
 * tears down: the loader's "exit" point. */
#define MT_MARKER_PYTHON_EXIT "memtap:python-exit"
/* Marker the shim writes when a program that embeds CPython returns from
 * Py_Finalize(Ex) (shim/finalize.c): the process goes on, and its exit is
 * the end of the trace, not the python-exit marker before it. */
#define MT_MARKER_PYTHON_FINALIZED "memtap:python-finalized"
/* Markers of the recording windows (memtap run --paused, --window-signal,
 * --start-after, --stop-after; mt_window_start/stop of memtap.h): from the
 * first to the second, allocations are recorded, and not from the second
 * to the next first. */
#define MT_MARKER_WINDOW_START "memtap:window-start"
#define MT_MARKER_WINDOW_STOP "memtap:window-stop"
#define MT_PYNAME_MAX 512 /* Python file names and function names */

#define MT_EXE_MAX 1024
#define MT_CMDLINE_MAX 2048
#define MT_NAME_MAX 64    /* thread names */
#define MT_LABEL_MAX 256  /* marker labels */
#define MT_PATH_MAX 1024  /* module paths */
#define MT_BUILD_ID_MAX 64

struct mt_file_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint32_t segment_size;
    uint32_t flags;
    uint64_t pid;
    uint64_t ppid;
    uint64_t start_realtime_ns;
    uint64_t start_monotonic_ns;
    uint64_t session;
    uint64_t end_seq;
    uint64_t end_monotonic_ns;
    uint64_t n_allocs;
    uint64_t n_frees;
    uint32_t native_stacks;
    uint32_t max_depth;
    char exe[MT_EXE_MAX];
    char cmdline[MT_CMDLINE_MAX];
    uint64_t exit_seq;
    uint64_t fork_seq;
    uint32_t fork_last_stack;
    uint32_t fork_last_pyframe;
    uint64_t start_ticks;
    uint64_t parent_start_ticks;
    uint32_t exit_status;
    char exec_path[MT_EXEC_PATH_MAX];
    uint32_t pad0;
    uint64_t live_segments;
    uint64_t live_watermark;
    uint64_t sample_rate;
    uint32_t stop_reason; /* enum mt_stop_reason */
    uint32_t stop_errno;
    uint64_t stop_ns;     /* since start_monotonic_ns */
};

/* Why tracing stopped before the process ended (MT_HDR_STOPPED). */
enum mt_stop_reason {
    MT_STOP_NONE = 0,
    MT_STOP_GROW = 1, /* the trace file could not grow (a full disk: ENOSPC; EFBIG) */
};
_Static_assert(offsetof(struct mt_file_header, exe) == 104, "header layout");
_Static_assert(offsetof(struct mt_file_header, cmdline) == 1128, "header layout");
_Static_assert(offsetof(struct mt_file_header, exit_seq) == 3176, "header layout");
_Static_assert(offsetof(struct mt_file_header, fork_seq) == 3184, "header layout");
_Static_assert(offsetof(struct mt_file_header, exit_status) == 3216, "header layout");
_Static_assert(offsetof(struct mt_file_header, exec_path) == 3220, "header layout");
_Static_assert(offsetof(struct mt_file_header, live_segments) == 3736, "header layout");
_Static_assert(offsetof(struct mt_file_header, live_watermark) == 3744, "header layout");
_Static_assert(offsetof(struct mt_file_header, sample_rate) == 3752, "header layout");
_Static_assert(offsetof(struct mt_file_header, stop_ns) == 3768, "header layout");
_Static_assert(sizeof(struct mt_file_header) <= MT_HEADER_SIZE, "header fits");

struct mt_segment_header {
    uint32_t magic;
    uint32_t thread;
    uint64_t base_seq;
};
_Static_assert(sizeof(struct mt_segment_header) == 16, "segment header layout");

/* Which function made an allocation; stored in the kind byte. Keep the
 * order: it is part of the format (names in mt_alloc_fn_name). */
enum mt_alloc_fn {
    MT_FN_MALLOC = 0,
    MT_FN_CALLOC,
    MT_FN_REALLOC,
    MT_FN_REALLOCARRAY,
    MT_FN_POSIX_MEMALIGN,
    MT_FN_ALIGNED_ALLOC,
    MT_FN_MEMALIGN,
    MT_FN_VALLOC,
    MT_FN_PVALLOC,
    MT_FN_PYMEM_MALLOC,    /* CPython's PYMEM_DOMAIN_MEM */
    MT_FN_PYMEM_CALLOC,
    MT_FN_PYMEM_REALLOC,
    MT_FN_PYOBJECT_MALLOC, /* CPython's PYMEM_DOMAIN_OBJ */
    MT_FN_PYOBJECT_CALLOC,
    MT_FN_PYOBJECT_REALLOC,
    MT_FN_PYMALLOC_ARENA,  /* an arena of CPython's pymalloc (--pymalloc=arenas) */
    MT_FN_COUNT
};
_Static_assert(MT_FN_COUNT <= 16, "allocator functions fit the kind byte");

enum mt_record_kind {
    MT_REC_NONE = 0x00, /* never a record: uncommitted or end of data */
    MT_REC_ALLOC = 0x10, /* 0x10 + enum mt_alloc_fn, up to 0x1f */
    MT_REC_FREE = 0x20,
    MT_REC_REALLOC_FREE = 0x21,
    MT_REC_REALLOC_UNDO = 0x22,
    MT_REC_STACK = 0x30,
    MT_REC_THREAD = 0x31,
    MT_REC_MODULE = 0x32,
    MT_REC_PYFRAME = 0x33,
    MT_REC_CHILD_EXIT = 0x34,
    MT_REC_SAMPLE = 0x40,
    MT_REC_MARKER = 0x41,
    MT_REC_SEQ_NEXT = 0x80, /* flag on ALLOC/FREE-family kinds: seq_delta 1, omitted */
};

/* Whether kind (without MT_REC_SEQ_NEXT) is an ALLOC or FREE-family
 * record: the kinds that may carry MT_REC_SEQ_NEXT. */
static inline int mt_rec_is_event(unsigned kind)
{
    return (kind >= MT_REC_ALLOC && kind < MT_REC_ALLOC + MT_FN_COUNT) ||
           (kind >= MT_REC_FREE && kind <= MT_REC_REALLOC_UNDO);
}

/* Largest encoded record: MODULE with a full path and build-id. */
#define MT_RECORD_MAX (1 + 10 + 5 + MT_PATH_MAX + 5 + MT_BUILD_ID_MAX)
_Static_assert(1 + 5 + 5 + 2 * (5 + MT_PYNAME_MAX) <= MT_RECORD_MAX, "PYFRAME fits");
_Static_assert(MT_RECORD_MAX + sizeof(struct mt_segment_header) < MT_SEGMENT_SIZE,
               "a record always fits in an empty segment");

static inline const char *mt_alloc_fn_name(unsigned fn)
{
    static const char *const names[MT_FN_COUNT] = {
        "malloc", "calloc", "realloc", "reallocarray", "posix_memalign",
        "aligned_alloc", "memalign", "valloc", "pvalloc", "PyMem_Malloc", "PyMem_Calloc",
        "PyMem_Realloc", "PyObject_Malloc", "PyObject_Calloc", "PyObject_Realloc",
        "pymalloc_arena",
    };
    return fn < MT_FN_COUNT ? names[fn] : "unknown";
}

/* ---- varint coding, shared by writer and reader ------------------------ */

static inline uint64_t mt_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t mt_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Writes v as LEB128 at p (at most 10 bytes); returns the byte after it. */
static inline unsigned char *mt_put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

/* An address delta (since version 4). Blocks are 16-byte aligned, so a
 * delta between two of them is too: it is stored as delta / 16, zig-zag, in
 * a prefix varint. The low 3 bits of the first byte give the length: n < 7
 * is n + 1 bytes, little-endian, holding v << 3 | n (v < 2^53, else 7);
 * 7 is the escape, for any other delta: the byte is the prefix alone and
 * the delta follows in 8 bytes, little-endian, as it is. Written with one
 * 8-byte store and no loop: p needs 9 bytes of room, and the bytes after
 * the value that the store covers are written as zeros (a segment's
 * unused part is zero anyway). */
static inline unsigned char *mt_put_addr_delta(unsigned char *p, int64_t delta)
{
    uint64_t v = mt_zigzag(delta >> 4);
    if (__builtin_expect((((uint64_t)delta & 15) | (v >> 53)) == 0, 1)) {
        unsigned top = 63 - (unsigned)__builtin_clzll(v | 1); /* v's highest bit */
        unsigned n = (top + 3) >> 3; /* bytes after the first: v and 3 bits of n in n + 1 */
        uint64_t w = v << 3 | n;
        __builtin_memcpy(p, &w, 8);
        return p + n + 1;
    }
    *p = 7;
    __builtin_memcpy(p + 1, &delta, 8);
    return p + 9;
}

/* Reads what mt_put_addr_delta wrote from [*pp, end). Returns 0 and
 * advances *pp, or -1 (and leaves *pp) if it is truncated. */
static inline int mt_get_addr_delta(const unsigned char **pp, const unsigned char *end,
                                    int64_t *out)
{
    const unsigned char *p = *pp;
    if (p >= end)
        return -1;
    unsigned n = *p & 7;
    size_t len = n == 7 ? 9 : n + 1;
    if ((size_t)(end - p) < len)
        return -1;
    if (n < 7 && end - p >= 8) { /* one load: the bytes past the value are masked off */
        uint64_t w;
        __builtin_memcpy(&w, p, 8); /* little endian, as the writer stored it */
        w &= ~0ull >> (8 * (7 - n));
        *out = (int64_t)((uint64_t)mt_unzigzag(w >> 3) << 4);
        *pp = p + len;
        return 0;
    }
    uint64_t w = 0;
    for (size_t i = len; i-- > (n == 7 ? 1u : 0u);)
        w = w << 8 | p[i];
    *out = n == 7 ? (int64_t)w : (int64_t)((uint64_t)mt_unzigzag(w >> 3) << 4);
    *pp = p + len;
    return 0;
}

/* Reads a LEB128 value from [*pp, end). Returns 0 and advances *pp, or
 * returns -1 (and leaves *pp) if the value is truncated or too long. */
static inline int mt_get_varint(const unsigned char **pp, const unsigned char *end,
                                uint64_t *out)
{
    const unsigned char *p = *pp;
    if (p < end && *p < 0x80) { /* one byte: most values */
        *out = *p;
        *pp = p + 1;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return -1;
        unsigned char b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            *pp = p;
            return 0;
        }
    }
    return -1;
}

#endif
