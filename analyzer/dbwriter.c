/* dbwriter.c - the loader's row inserts on a second thread (see
 * dbwriter.h).
 *
 * The loader fills blocks of rows; a ring of BLOCKS blocks passes them to
 * the writer thread under one mutex, so the lock is taken once a block, not
 * once a row. Allocation rows, nearly all of them, are inserted BATCH at a
 * time with one multi-row INSERT: per-statement overhead dominated the
 * load otherwise. Not threaded, block 0 is filled and inserted in turn.
 */
#define _GNU_SOURCE
#include "dbwriter.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#define BLOCK_ROWS 1024
#define BLOCKS 8
#define BATCH 64
#define KINDS (MT_ROW_CHILD_EXIT + 1)

struct block {
    struct mt_row rows[BLOCK_ROWS];
    uint32_t n;
};

#define INSERT_ALLOCATIONS                                                                 \
    "INSERT INTO allocations(address, size, allocator, thread_id, stack_id, alloc_seq,"   \
    " alloc_ns, free_seq, free_ns) VALUES "
#define ALLOCATION_VALUES "(?,?,?,?,?,?,?,?,?)"

static const struct {
    int ints;     /* integer columns */
    int has_text; /* then one text column */
    const char *sql;
} kinds[KINDS] = {
    [MT_ROW_ALLOCATION] = {9, 0, INSERT_ALLOCATIONS ALLOCATION_VALUES},
    [MT_ROW_SAMPLE] = {8, 0,
                       "INSERT INTO samples(seq, ns, rss_bytes, heap_bytes, rss_anon_bytes,"
                       " rss_file_bytes, rss_shmem_bytes, memtap_rss_bytes)"
                       " VALUES (?,?,?,?,?,?,?,?)"},
    [MT_ROW_MARKER] = {7, 1,
                       "INSERT OR REPLACE INTO markers(seq, ns, thread_id, heap_bytes,"
                       " peak_bytes_since, allocated_bytes_since, allocated_count_since, label)"
                       " VALUES (?,?,?,?,?,?,?,?)"},
    [MT_ROW_THREAD] = {2, 1, "INSERT OR REPLACE INTO threads(id, tid, name) VALUES (?,?,?)"},
    [MT_ROW_UNMATCHED] = {4, 0,
                          "INSERT OR REPLACE INTO unmatched_frees(seq, ns, address, thread_id)"
                          " VALUES (?,?,?,?)"},
    [MT_ROW_CLOCK] = {2, 0, "INSERT INTO clock(ns, seq) VALUES (?,?)"},
    [MT_ROW_SPAN] = {6, 0,
                     "INSERT INTO live_spans(stack_id, thread_id, from_seq, to_seq, bytes, count)"
                     " VALUES (?,?,?,?,?,?)"},
    [MT_ROW_SLICE] = {7, 0,
                      "INSERT INTO temp.slice_rows(stack_id, thread_id, slice, width, epoch,"
                      " delta_bytes, delta_count) VALUES (?,?,?,?,?,?,?)"},
    [MT_ROW_POINT] = {1, 0, "INSERT INTO points(seq) VALUES (?)"},
    [MT_ROW_CHILD_EXIT] = {2, 0, "INSERT INTO child_exits(pid, status) VALUES (?,?)"},
};

struct mt_dbwriter {
    sqlite3 *db;
    sqlite3_stmt *insert[KINDS];
    sqlite3_stmt *insert_batch; /* BATCH allocation rows */
    struct mt_row batch[BATCH]; /* writer side: allocation rows not yet inserted */
    int nbatch;
    int threaded; /* 0: blocks are inserted by the loader's own thread */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t filled, emptied;
    /* Blocks tail..head-1 (mod BLOCKS) are the writer's; block head is the
     * loader's while head - tail < BLOCKS. */
    unsigned head, tail;
    int done;   /* the loader has handed its last block */
    int failed; /* the writer stopped on an error (message in err) */
    char err[512];
    struct block blocks[BLOCKS];
};

static void fail(struct mt_dbwriter *w, const char *what)
{
    snprintf(w->err, sizeof w->err, "database: %s: %s", what, sqlite3_errmsg(w->db));
}

/* Binds row r's columns from position first (1-based). */
static void bind_row(sqlite3_stmt *st, int first, const struct mt_row *r)
{
    int n = kinds[r->kind].ints;
    for (int i = 0; i < n; i++) {
        if (r->null_cols & (1u << i))
            sqlite3_bind_null(st, first + i);
        else
            sqlite3_bind_int64(st, first + i, r->col[i]);
    }
    if (kinds[r->kind].has_text)
        sqlite3_bind_text(st, first + n, r->text, (int)r->text_len, SQLITE_STATIC);
}

static int step(struct mt_dbwriter *w, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return 0;
    fail(w, "insert");
    return EIO;
}

/* The pending allocation rows: the batch statement when there are BATCH,
 * row by row otherwise (only at the end). */
static int flush_batch(struct mt_dbwriter *w)
{
    int rc = 0;
    if (w->nbatch == BATCH) {
        for (int i = 0; i < BATCH; i++)
            bind_row(w->insert_batch, 1 + i * kinds[MT_ROW_ALLOCATION].ints, &w->batch[i]);
        rc = step(w, w->insert_batch);
    } else {
        for (int i = 0; i < w->nbatch && !rc; i++) {
            bind_row(w->insert[MT_ROW_ALLOCATION], 1, &w->batch[i]);
            rc = step(w, w->insert[MT_ROW_ALLOCATION]);
        }
    }
    w->nbatch = 0;
    return rc;
}

static int insert_block(struct mt_dbwriter *w, const struct block *b)
{
    for (uint32_t i = 0; i < b->n; i++) {
        const struct mt_row *r = &b->rows[i];
        if (r->kind == MT_ROW_ALLOCATION) {
            w->batch[w->nbatch++] = *r;
            if (w->nbatch == BATCH && flush_batch(w))
                return EIO;
            continue;
        }
        bind_row(w->insert[r->kind], 1, r);
        if (step(w, w->insert[r->kind]))
            return EIO;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    struct mt_dbwriter *w = arg;
    int rc = 0;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->tail == w->head && !w->done)
            pthread_cond_wait(&w->filled, &w->lock);
        if (w->tail == w->head)
            break; /* done, and every block inserted */
        const struct block *b = &w->blocks[w->tail % BLOCKS];
        pthread_mutex_unlock(&w->lock);
        rc = insert_block(w, b);
        pthread_mutex_lock(&w->lock);
        if (rc)
            break;
        w->tail++;
        pthread_cond_signal(&w->emptied);
    }
    pthread_mutex_unlock(&w->lock);
    if (!rc)
        rc = flush_batch(w);
    if (rc) {
        pthread_mutex_lock(&w->lock);
        w->failed = 1;
        pthread_cond_signal(&w->emptied);
        pthread_mutex_unlock(&w->lock);
    }
    return NULL;
}

static void finalize_all(struct mt_dbwriter *w)
{
    for (int k = 0; k < KINDS; k++)
        sqlite3_finalize(w->insert[k]);
    sqlite3_finalize(w->insert_batch);
}

int mt_dbwriter_worth_a_thread(void)
{
    cpu_set_t cpus;
    if (sched_getaffinity(0, sizeof cpus, &cpus) != 0)
        return 1;
    return CPU_COUNT(&cpus) > 1;
}

int mt_dbwriter_start(struct mt_dbwriter **out, sqlite3 *db, int threaded, char *err,
                      size_t cap)
{
    struct mt_dbwriter *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, cap, "out of memory");
        return ENOMEM;
    }
    w->db = db;
    int rc = 0;
    for (int k = 0; k < KINDS && !rc; k++)
        if (sqlite3_prepare_v2(db, kinds[k].sql, -1, &w->insert[k], NULL) != SQLITE_OK)
            rc = EIO;
    char sql[sizeof INSERT_ALLOCATIONS + BATCH * sizeof ALLOCATION_VALUES];
    size_t n = (size_t)snprintf(sql, sizeof sql, "%s", INSERT_ALLOCATIONS);
    for (int i = 0; i < BATCH; i++)
        n += (size_t)snprintf(sql + n, sizeof sql - n, "%s%s", i ? "," : "", ALLOCATION_VALUES);
    if (!rc && sqlite3_prepare_v2(db, sql, -1, &w->insert_batch, NULL) != SQLITE_OK)
        rc = EIO;
    if (rc) {
        snprintf(err, cap, "database: prepare: %s", sqlite3_errmsg(db));
        finalize_all(w);
        free(w);
        return rc;
    }
    w->threaded = threaded;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->filled, NULL);
    pthread_cond_init(&w->emptied, NULL);
    /* No thread to be had (limits, memory): the same rows, inserted inline. */
    if (threaded && pthread_create(&w->thread, NULL, writer_main, w) != 0)
        w->threaded = 0;
    *out = w;
    return 0;
}

/* Hands the loader's block to the writer and waits for the next one to be
 * free. Returns 0, or EIO if the writer has failed. */
static int hand_over(struct mt_dbwriter *w)
{
    if (!w->threaded) {
        struct block *b = &w->blocks[0];
        if (!w->failed && insert_block(w, b))
            w->failed = 1;
        b->n = 0;
        return w->failed ? EIO : 0;
    }
    pthread_mutex_lock(&w->lock);
    w->head++;
    pthread_cond_signal(&w->filled);
    while (w->head - w->tail == BLOCKS && !w->failed)
        pthread_cond_wait(&w->emptied, &w->lock);
    int failed = w->failed;
    pthread_mutex_unlock(&w->lock);
    w->blocks[w->head % BLOCKS].n = 0;
    return failed ? EIO : 0;
}

int mt_dbwriter_put(struct mt_dbwriter *w, const struct mt_row *row)
{
    struct block *b = &w->blocks[w->head % BLOCKS];
    b->rows[b->n++] = *row;
    return b->n == BLOCK_ROWS ? hand_over(w) : 0;
}

int mt_dbwriter_finish(struct mt_dbwriter *w, char *err, size_t cap)
{
    if (!w->threaded) {
        if (!hand_over(w) && flush_batch(w))
            w->failed = 1;
    } else {
        pthread_mutex_lock(&w->lock);
        if (w->blocks[w->head % BLOCKS].n && !w->failed)
            w->head++; /* the writer takes it; nothing is put after this */
        w->done = 1;
        pthread_cond_signal(&w->filled);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
    }
    int rc = w->failed ? EIO : 0;
    if (rc)
        snprintf(err, cap, "%s", w->err);
    finalize_all(w);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->filled);
    pthread_cond_destroy(&w->emptied);
    free(w);
    return rc;
}
