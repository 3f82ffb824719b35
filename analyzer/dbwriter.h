/* dbwriter.h - the loader's row inserts, done by a second thread.
 *
 * SQLite takes about two thirds of a load; decoding the trace and tracking
 * live blocks the rest. The loader hands its rows here and goes on
 * decoding while this thread inserts them, in the order given, into the
 * database the loader opened (the rows of each table keep the loader's
 * order, so allocation ids are what a one-thread load gives). The loader
 * must not use the connection between mt_dbwriter_start and
 * mt_dbwriter_finish.
 *
 * Memory: a fixed number of row blocks in flight; a loader that runs ahead
 * waits for the writer. The same rows can be inserted without the thread,
 * in the same order, with the same results.
 */
#ifndef MT_DBWRITER_H
#define MT_DBWRITER_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

enum mt_row_kind {
    MT_ROW_ALLOCATION, /* address, size, allocator, thread, stack, alloc_seq,
                          alloc_ns, free_seq, free_ns */
    MT_ROW_SAMPLE,     /* seq, ns, rss_bytes, heap_bytes */
    MT_ROW_MARKER,     /* seq, ns, thread_id, heap_bytes, peak_bytes_since,
                        * allocated_bytes_since, allocated_count_since, label (text) */
    MT_ROW_THREAD,     /* id, tid, name (text) */
    MT_ROW_UNMATCHED,  /* seq, ns, address, thread_id */
    MT_ROW_CLOCK,      /* ns, seq */
    MT_ROW_SPAN,       /* stack_id, thread_id, from_seq, to_seq, bytes, count */
    MT_ROW_SLICE,      /* stack_id, thread_id, slice, width, epoch, delta_bytes,
                        * delta_count (temp.slice_rows, load.c) */
    MT_ROW_POINT,      /* seq */
    MT_ROW_CHILD_EXIT, /* pid, status */
};

#define MT_ROW_COLS 9

struct mt_row {
    int64_t col[MT_ROW_COLS]; /* the kind's integer columns, in the order above */
    const char *text;         /* the text column: must stay valid until finish */
    uint32_t text_len;
    uint16_t null_cols;       /* bit i: col[i] is NULL */
    uint8_t kind;
};

struct mt_dbwriter;

/* Prepares the inserts on db (whose tables exist) and, if threaded, starts
 * the thread. Not threaded, each full block is inserted by the put that
 * fills it: with one CPU to run on, the hand-over only costs (see
 * mt_dbwriter_worth_a_thread); so is a threaded writer whose thread cannot
 * be started. Returns 0, or an errno with a message in err. */
int mt_dbwriter_start(struct mt_dbwriter **out, sqlite3 *db, int threaded, char *err,
                      size_t cap);

/* Whether this process may run on more than one CPU. */
int mt_dbwriter_worth_a_thread(void);

/* Queues one row (copied). Returns 0, or EIO once the writer has failed
 * (its message comes from mt_dbwriter_finish). */
int mt_dbwriter_put(struct mt_dbwriter *w, const struct mt_row *row);

/* Inserts what is queued, stops the thread, frees w. Returns 0, or an
 * errno with a message in err. The connection is the caller's again. */
int mt_dbwriter_finish(struct mt_dbwriter *w, char *err, size_t cap);

#endif
