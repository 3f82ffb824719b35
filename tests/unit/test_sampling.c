/* test_sampling.c - sampling by bytes: the shim's set of live recorded
 * blocks (shim/sampling.c, compiled in here with stand-ins for the shim's
 * mapping and message functions) against a plain model, under growth and
 * with a second thread changing the set while lookups run; the countdown's
 * chance of recording a block against 1 - exp(-n/R); and the reader's
 * weights (mt_trace_weighted_size), whose sum over the recorded blocks
 * estimates the bytes allocated. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "../../shim/sampling.c"
#include "trace.h"

__thread struct mt_thread mt_self;
struct mt_options mt_opt;

void *mt_map_aside(size_t size, int prot)
{
    return mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
}

void mt_say(const char *a, const char *b, const char *c)
{
    (void)a, (void)b, (void)c;
}

static void start(uint64_t rate, uint64_t seed)
{
    mt_opt.sample_rate = rate;
    mt_opt.sample_seed = seed;
    mt_sample_rate = 0;
    live_count = 0;
    mt_sampling_init();
    assert_int_equal(mt_sample_rate, rate);
}

/* Random inserts and removals, past several doublings, against an array
 * of what is in the set. */
static void test_set_against_model(void **state)
{
    (void)state;
    start(4096, 1);
    enum { N = 40000 };
    static uintptr_t keys[N];
    static char in[N];
    uint64_t x = 12345;
    for (int i = 0; i < N; i++)
        keys[i] = 0x100000 + (uintptr_t)i * 48; /* addresses a heap could give */
    for (int round = 0; round < 400000; round++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int i = (int)((x >> 33) % N);
        if (in[i]) {
            assert_true(mt_sample_has(keys[i]));
            mt_sample_remove(keys[i]);
            in[i] = 0;
        } else {
            assert_false(mt_sample_has(keys[i]));
            mt_sample_insert(keys[i]);
            in[i] = 1;
        }
    }
    uint64_t n = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(mt_sample_has(keys[i]), in[i]);
        n += (uint64_t)in[i];
    }
    assert_int_equal(live_count, n);
    assert_true((mt_sample_current->mask + 1) >= 2 * n);
}

/* One thread inserts and removes its own keys without end, the other its
 * own, and each checks that every key it holds is found and every key it
 * removed is not, while the table grows and shifts under it. */
struct worker {
    uintptr_t base;
    int bad;
};

static void *churn(void *arg)
{
    struct worker *w = arg;
    enum { K = 3000 };
    for (int round = 0; round < 60; round++) {
        for (int i = 0; i < K; i++)
            mt_sample_insert(w->base + (uintptr_t)i * 16);
        for (int i = 0; i < K; i++)
            if (!mt_sample_has(w->base + (uintptr_t)i * 16))
                w->bad++;
        for (int i = 0; i < K; i += 2)
            mt_sample_remove(w->base + (uintptr_t)i * 16);
        for (int i = 0; i < K; i++)
            if (mt_sample_has(w->base + (uintptr_t)i * 16) != (i % 2))
                w->bad++;
        for (int i = 1; i < K; i += 2)
            mt_sample_remove(w->base + (uintptr_t)i * 16);
    }
    return NULL;
}

static void test_set_two_threads(void **state)
{
    (void)state;
    start(4096, 1);
    struct worker a = {0x7f0000000000, 0}, b = {0x7f0000100008, 0};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, churn, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, churn, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.bad, 0);
    assert_int_equal(b.bad, 0);
    assert_int_equal(live_count, 0);
}

/* The countdown records a block of n bytes with chance 1 - exp(-n/R),
 * and every block of R or more. */
static void test_countdown_chance(void **state)
{
    (void)state;
    const uint64_t rate = 1000;
    start(rate, 7);
    const size_t sizes[] = {10, 100, 500, 999};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        struct mt_thread t = {0};
        int hits = 0, trials = 200000;
        for (int i = 0; i < trials; i++) {
            void *p = (void *)(uintptr_t)(0x1000 + 16 * (uintptr_t)(i + 1));
            if (mt_sample_alloc(&t, p, sizes[k])) {
                hits++;
                assert_int_equal(mt_sample_free(p), 1);
            } else {
                assert_int_equal(mt_sample_free(p), 0);
            }
        }
        double want = 1 - exp(-(double)sizes[k] / (double)rate);
        double got = (double)hits / trials;
        double sd = sqrt(want * (1 - want) / trials);
        assert_true(fabs(got - want) < 5 * sd + 1e-9);
    }
    struct mt_thread t = {0};
    for (int i = 0; i < 1000; i++) {
        void *p = (void *)(uintptr_t)(0x900000 + 64 * (uintptr_t)i);
        assert_int_equal(mt_sample_alloc(&t, p, rate + (size_t)i), 1);
        assert_int_equal(mt_sample_free(p), 1);
    }
}

/* Weighted sizes: n itself from R up; n / (1 - exp(-n/R)) below, which
 * is about R for tiny blocks. Summed over the recorded blocks of a stream
 * of mixed sizes, they estimate the stream's bytes. */
static void test_weights_estimate(void **state)
{
    (void)state;
    assert_int_equal(mt_trace_weighted_size(5000, 4096), 5000);
    assert_int_equal(mt_trace_weighted_size(4096, 4096), 4096);
    assert_int_equal(mt_trace_weighted_size(0, 4096), 0);
    assert_int_equal(mt_trace_weighted_size(77, 0), 77);
    assert_int_equal(mt_trace_weighted_size(1, 4096), 4097); /* 1 / (1 - e^(-1/4096)), rounded */
    uint64_t w = mt_trace_weighted_size(2048, 4096); /* 2048 / (1 - e^-0.5) = 5204.9 */
    assert_int_equal(w, 5205);

    const uint64_t rate = 512 * 1024;
    start(rate, 99);
    struct mt_thread t = {0};
    uint64_t x = 1, total = 0, estimate = 0;
    for (int i = 0; i < 3000000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = 16 + (size_t)((x >> 40) % 2000);
        if (i % 10000 == 0)
            n = 3 * 1024 * 1024; /* some big ones */
        total += n;
        void *p = (void *)(uintptr_t)(0x10000 + 16 * (uintptr_t)(i + 1));
        if (mt_sample_alloc(&t, p, n)) {
            estimate += mt_trace_weighted_size(n, rate);
            mt_sample_free(p);
        }
    }
    /* about 7 GB of small blocks: ~14,000 recorded, a 1.7% deviation; 5% is
     * three of them */
    double rel = fabs((double)estimate - (double)total) / (double)total;
    assert_true(rel < 0.05);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_against_model),
        cmocka_unit_test(test_set_two_threads),
        cmocka_unit_test(test_countdown_chance),
        cmocka_unit_test(test_weights_estimate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
