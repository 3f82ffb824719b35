/* test_livemap.c - the loader's live-allocation map, checked against a
 * plain array model under a long random sequence of puts and takes
 * (exercises growth and backward-shift deletion). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "livemap.h"

#define UNIVERSE 5000

static void put_take_replace(void **state)
{
    (void)state;
    struct mt_livemap m = {0};
    struct mt_live a = {.addr = 0x1000, .size = 10, .seq = 1}, old, got;
    assert_int_equal(mt_livemap_put(&m, &a, &old), 0);
    a.size = 20;
    assert_int_equal(mt_livemap_put(&m, &a, &old), 1);
    assert_int_equal(old.size, 10);
    assert_int_equal(m.count, 1);
    assert_int_equal(mt_livemap_take(&m, 0x1000, &got), 1);
    assert_int_equal(got.size, 20);
    assert_int_equal(mt_livemap_take(&m, 0x1000, &got), 0);
    assert_int_equal(m.count, 0);
    mt_livemap_free(&m);
}

static void random_against_model(void **state)
{
    (void)state;
    static uint64_t model[UNIVERSE]; /* size+1 when live, 0 when not */
    memset(model, 0, sizeof model);
    struct mt_livemap m = {0};
    unsigned seed = 12345;
    size_t live = 0;
    for (int step = 0; step < 400000; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned k = (seed >> 8) % UNIVERSE;
        /* addresses that collide in the low bits, as heap addresses do */
        uint64_t addr = 0x7f0000000000ull + (uint64_t)k * 16;
        struct mt_live got;
        if ((seed >> 4) & 1) {
            struct mt_live e = {.addr = addr, .size = step, .seq = (uint64_t)step};
            int r = mt_livemap_put(&m, &e, &got);
            assert_int_equal(r, model[k] ? 1 : 0);
            if (!model[k])
                live++;
            model[k] = (uint64_t)step + 1;
        } else {
            int r = mt_livemap_take(&m, addr, &got);
            assert_int_equal(r, model[k] ? 1 : 0);
            if (r) {
                assert_true(got.size == model[k] - 1);
                model[k] = 0;
                live--;
            }
        }
        assert_int_equal(m.count, live);
    }
    for (unsigned k = 0; k < UNIVERSE; k++) {
        struct mt_live got;
        uint64_t addr = 0x7f0000000000ull + (uint64_t)k * 16;
        assert_int_equal(mt_livemap_take(&m, addr, &got), model[k] ? 1 : 0);
    }
    assert_int_equal(m.count, 0);
    mt_livemap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_take_replace),
        cmocka_unit_test(random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
