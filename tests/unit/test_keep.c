/* test_keep.c - the compact database's rule and aggregates (keep.c),
 * checked against a brute-force model: a random run of allocations, frees,
 * samples and markers, after which the live spans must give, at every
 * checkpoint, exactly the bytes per stack that the model had live there;
 * the slices, merged to the final width, must sum to each stack's net
 * change per slice up to the exit marker, whatever width each was cut at;
 * the peak's
 * figures must be what was live at the peak; and the rows kept must be
 * exactly the blocks never freed or live at a marker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "keep.h"

#define EVENTS 20000
#define STACKS 7

struct block {
    uint64_t alloc_seq, free_seq, size; /* free_seq 0: never freed */
    uint32_t stack;
    int kept;
};

static struct block blocks[EVENTS];
static size_t nblocks;
static struct mt_span spans[EVENTS * 4];
static size_t nspans;
struct slice_row {
    uint32_t stack;
    uint64_t slice;
    unsigned width, epoch;
    int64_t bytes;
};
static struct slice_row slice_rows[EVENTS * 2];
static size_t nslice_rows;
static uint64_t points_seen[EVENTS * 2];
static size_t npoints_seen;

static int on_span(void *ctx, const struct mt_span *s)
{
    (void)ctx;
    assert_true(nspans < sizeof spans / sizeof spans[0]);
    spans[nspans++] = *s;
    return 0;
}

static int on_slice(void *ctx, const struct mt_stack_total *t, uint64_t slice, unsigned width,
                    unsigned epoch)
{
    (void)ctx;
    assert_true(slice < MT_SLICES);
    assert_true(nslice_rows < sizeof slice_rows / sizeof slice_rows[0]);
    slice_rows[nslice_rows++] = (struct slice_row){t->stack, slice, width, epoch, t->slice_bytes};
    return 0;
}

static int on_point(void *ctx, uint64_t seq)
{
    (void)ctx;
    points_seen[npoints_seen++] = seq;
    return 0;
}

static int live_at(const struct block *b, uint64_t seq)
{
    return b->alloc_seq <= seq && (!b->free_seq || b->free_seq > seq);
}

static void random_run_against_model(void **state)
{
    (void)state;
    nblocks = nspans = npoints_seen = nslice_rows = 0;
    const uint64_t exit_after = 9000;  /* a Python exit marker after this event */
    uint64_t exit_seq = 0;
    struct mt_keep k;
    const struct mt_keep_sink sink = {NULL, on_span, on_slice, on_point};
    mt_keep_init(&k, 0, &sink);
    struct mt_livemap live = {0};
    uint64_t markers[64];
    size_t nmarkers = 0;
    uint64_t heap = 0, peak = 0, peak_seq = 0, seq = 0;
    unsigned r = 7;
    for (int i = 0; i < EVENTS; i++) {
        r = r * 1103515245u + 12345u;
        unsigned what = (r >> 16) % 100;
        if (!exit_seq && seq >= exit_after) {
            exit_seq = seq;
            assert_int_equal(mt_keep_exit_epoch(&k, 1), 0);
        }
        if (what < 3) { /* a sample or a marker: a checkpoint after the last event */
            int marker = what == 0 && nmarkers < 64;
            if (marker)
                markers[nmarkers++] = seq;
            assert_int_equal(mt_keep_checkpoint(&k, seq, marker), 0);
        } else if (what < 55 || live.count == 0) {
            struct block *b = &blocks[nblocks];
            b->alloc_seq = ++seq;
            b->size = 1 + (r >> 8) % 1000;
            b->stack = (r >> 4) % STACKS;
            struct mt_live a = {.addr = 16 * (nblocks + 1), .seq = b->alloc_seq,
                                .size = b->size, .stack = b->stack};
            struct mt_live old;
            assert_int_equal(mt_livemap_put(&live, &a, &old), 0);
            assert_int_equal(mt_keep_on_alloc(&k, &a), 0);
            nblocks++;
            heap += b->size;
            if (heap > peak) {
                peak = heap;
                peak_seq = seq;
                mt_keep_new_peak(&k, seq);
            }
        } else { /* free a random live block */
            size_t j;
            do {
                j = (size_t)((r >> 3) % nblocks);
                r = r * 1103515245u + 12345u;
            } while (blocks[j].free_seq || blocks[j].alloc_seq == 0);
            struct mt_live a;
            assert_int_equal(mt_livemap_take(&live, 16 * (j + 1), &a), 1);
            blocks[j].free_seq = ++seq;
            heap -= blocks[j].size;
            assert_int_equal(mt_keep_on_free(&k, &a, seq, 0, &blocks[j].kept), 0);
        }
    }
    assert_true(exit_seq && seq > 2 * exit_seq); /* the run goes on well past its exit */
    assert_int_equal(mt_keep_finish(&k, seq, &live), 0);

    /* rows: exactly those never freed or live at a marker */
    for (size_t j = 0; j < nblocks; j++) {
        const struct block *b = &blocks[j];
        int want = 0;
        for (size_t m = 0; m < nmarkers; m++)
            want |= live_at(b, markers[m]);
        if (b->free_seq)
            assert_int_equal(b->kept, want);
    }

    /* spans: at every checkpoint, per stack, what the model had live */
    assert_true(npoints_seen > 100);
    for (size_t p = 0; p < npoints_seen; p++) {
        uint64_t at = points_seen[p];
        int64_t want[STACKS] = {0}, got[STACKS] = {0};
        for (size_t j = 0; j < nblocks; j++)
            if (live_at(&blocks[j], at))
                want[blocks[j].stack] += (int64_t)blocks[j].size;
        for (size_t s = 0; s < nspans; s++)
            if (spans[s].from_seq <= at && spans[s].to_seq >= at)
                got[spans[s].stack] += spans[s].bytes;
        for (int s = 0; s < STACKS; s++)
            assert_int_equal(got[s], want[s]);
    }

    /* slices: per stack and slice, the net change of events up to the exit,
     * in 33 to 64 slices of 2^w events; the rows after the exit (epoch 1)
     * are the ones the loader drops */
    unsigned w = mt_keep_slice_width(exit_seq);
    assert_true((exit_seq >> w) + 1 <= MT_SLICES && (exit_seq >> w) + 1 > MT_SLICES / 2);
    int64_t want_slices[STACKS][MT_SLICES], got_slices[STACKS][MT_SLICES];
    memset(want_slices, 0, sizeof want_slices);
    memset(got_slices, 0, sizeof got_slices);
    for (size_t j = 0; j < nblocks; j++) {
        const struct block *b = &blocks[j];
        if (b->alloc_seq > exit_seq)
            continue;
        want_slices[b->stack][b->alloc_seq >> w] += (int64_t)b->size;
        if (b->free_seq && b->free_seq <= exit_seq)
            want_slices[b->stack][b->free_seq >> w] -= (int64_t)b->size;
    }
    int finer = 0;
    for (size_t i = 0; i < nslice_rows; i++) {
        const struct slice_row *sr = &slice_rows[i];
        if (sr->epoch == 1)
            continue;
        assert_int_equal(sr->epoch, 0);
        assert_true(sr->width <= w);
        finer |= sr->width < w;
        got_slices[sr->stack][sr->slice >> (w - sr->width)] += sr->bytes;
    }
    assert_true(finer); /* some were cut before the width doubled */
    assert_memory_equal(got_slices, want_slices, sizeof want_slices);

    /* the peak, per stack */
    uint64_t at_peak[STACKS] = {0}, sum = 0;
    for (size_t j = 0; j < nblocks; j++)
        if (live_at(&blocks[j], peak_seq))
            at_peak[blocks[j].stack] += blocks[j].size;
    for (size_t i = 0; i < k.n; i++) {
        const struct mt_stack_total *t = &k.v[i];
        uint64_t got = mt_keep_at_peak(&k, t) ? t->peak_bytes : 0;
        assert_int_equal(got, at_peak[t->stack]);
        sum += got;
    }
    assert_int_equal(sum, peak);
    mt_livemap_free(&live);
    mt_keep_free(&k);
}

static void all_keeps_every_row(void **state)
{
    (void)state;
    struct mt_keep k;
    const struct mt_keep_sink sink = {NULL, on_span, on_slice, on_point};
    nspans = npoints_seen = 0;
    mt_keep_init(&k, 1, &sink);
    struct mt_live a = {.addr = 16, .seq = 1, .size = 5, .stack = 1};
    assert_int_equal(mt_keep_on_alloc(&k, &a), 0);
    int row = -1;
    assert_int_equal(mt_keep_on_free(&k, &a, 2, 0, &row), 0);
    assert_int_equal(row, 1);
    mt_keep_free(&k);
    mt_keep_init(&k, 0, &sink); /* the same block, compact: folded */
    assert_int_equal(mt_keep_on_alloc(&k, &a), 0);
    assert_int_equal(mt_keep_on_free(&k, &a, 2, 0, &row), 0);
    assert_int_equal(row, 0);
    assert_int_equal(k.v[0].lifetime[0], 1); /* lifetime 1 event: bucket 0 */
    mt_keep_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_run_against_model),
        cmocka_unit_test(all_keeps_every_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
