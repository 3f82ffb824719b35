/* test_format.c - the varint and zig-zag coding shared by writer and
 * reader (include/mt_trace_format.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mt_trace_format.h"

static void varint_round_trip(void **state)
{
    (void)state;
    const uint64_t values[] = {0, 1, 127, 128, 255, 300, 16383, 16384, (1ull << 32) - 1,
                               1ull << 32, (1ull << 63) - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        unsigned char buf[16];
        unsigned char *end = mt_put_varint(buf, values[i]);
        assert_true(end - buf <= 10);
        const unsigned char *p = buf;
        uint64_t v = 0;
        assert_int_equal(mt_get_varint(&p, end, &v), 0);
        assert_true(v == values[i]);
        assert_ptr_equal(p, end);
    }
}

static void varint_sizes(void **state)
{
    (void)state;
    unsigned char buf[16];
    assert_int_equal(mt_put_varint(buf, 127) - buf, 1);
    assert_int_equal(mt_put_varint(buf, 128) - buf, 2);
    assert_int_equal(mt_put_varint(buf, UINT64_MAX) - buf, 10);
}

static void varint_truncated_is_rejected(void **state)
{
    (void)state;
    unsigned char buf[16];
    unsigned char *end = mt_put_varint(buf, 1ull << 40);
    for (unsigned char *cut = buf; cut < end; cut++) {
        const unsigned char *p = buf;
        uint64_t v;
        assert_int_equal(mt_get_varint(&p, cut, &v), -1);
        assert_ptr_equal(p, buf); /* not advanced on failure */
    }
}

static void varint_too_long_is_rejected(void **state)
{
    (void)state;
    unsigned char buf[12];
    for (int i = 0; i < 12; i++)
        buf[i] = 0x80;
    const unsigned char *p = buf;
    uint64_t v;
    assert_int_equal(mt_get_varint(&p, buf + 12, &v), -1);
}

static void zigzag_round_trip(void **state)
{
    (void)state;
    const int64_t values[] = {0, 1, -1, 2, -2, 1000000, -1000000, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        assert_true(mt_unzigzag(mt_zigzag(values[i])) == values[i]);
    assert_true(mt_zigzag(-1) == 1);
    assert_true(mt_zigzag(1) == 2);
}

/* Address deltas: every delta comes back, aligned or not, near or far; a
 * value takes at most 9 bytes, the 8-byte store leaves zeros after it (the
 * next record's kind byte must read 0 until it is committed), and the
 * common deltas are short. */
static void addr_delta_round_trip(void **state)
{
    (void)state;
    const int64_t fixed[] = {0, 16, -16, 32, 240, -240, 256, 4096, -4096, 1, -1, 8, 15,
                             0x7f0000001230, -0x7f0000001230, (int64_t)1 << 56,
                             ((int64_t)1 << 57) - 16, INT64_MAX, INT64_MIN, INT64_MIN + 16};
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 200000; i++) {
        int64_t d;
        if (i < (int)(sizeof fixed / sizeof fixed[0])) {
            d = fixed[i];
        } else {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            int shift = (int)(seed >> 58); /* 0..63: every length */
            d = (int64_t)(seed >> shift) * ((seed >> 20) & 1 ? 1 : -1);
            if ((seed >> 21) & 3)
                d &= ~(int64_t)15; /* mostly aligned, as blocks are */
        }
        unsigned char buf[32];
        memset(buf, 0xAA, sizeof buf);
        unsigned char *end = mt_put_addr_delta(buf, d);
        assert_true(end - buf >= 1 && end - buf <= 9);
        for (unsigned char *z = end; z < buf + 8; z++)
            assert_int_equal(*z, 0);
        const unsigned char *p = buf;
        int64_t back = 0;
        assert_int_equal(mt_get_addr_delta(&p, end, &back), 0);
        assert_true(back == d);
        assert_ptr_equal(p, end);
        p = buf; /* one byte short: rejected, not misread */
        assert_int_equal(mt_get_addr_delta(&p, end - 1, &back), -1);
        assert_ptr_equal(p, buf);
    }
    unsigned char buf[16];
    assert_int_equal(mt_put_addr_delta(buf, 0) - buf, 1);
    assert_int_equal(mt_put_addr_delta(buf, 240) - buf, 1);   /* 15 blocks of 16 */
    assert_int_equal(mt_put_addr_delta(buf, -256) - buf, 1);
    assert_int_equal(mt_put_addr_delta(buf, 65520) - buf, 2); /* 13 bits */
    assert_int_equal(mt_put_addr_delta(buf, 8) - buf, 9);     /* not aligned: the escape */
}

/* The codings' bytes, written down from the format's description
 * (mt_trace_format.h) rather than from the code: a change to either that
 * round-trips but writes other bytes breaks every trace already written. */
struct vector {
    int64_t value;
    unsigned char bytes[10];
    size_t len;
};

static void varint_bytes(void **state)
{
    (void)state;
    static const struct vector v[] = {
        {0, {0x00}, 1},
        {1, {0x01}, 1},
        {127, {0x7f}, 1},
        {128, {0x80, 0x01}, 2},
        {300, {0xac, 0x02}, 2},
        {16384, {0x80, 0x80, 0x01}, 3},
        {INT64_MIN, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 10},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        unsigned char buf[16];
        size_t n = (size_t)(mt_put_varint(buf, (uint64_t)v[i].value) - buf);
        assert_int_equal(n, v[i].len);
        assert_memory_equal(buf, v[i].bytes, n);
    }
}

static void addr_delta_bytes(void **state)
{
    (void)state;
    /* aligned: zig-zag(delta / 16) shifted left 3, its byte count - 1 in
     * the low 3 bits, little-endian; unaligned: 7, then 8 bytes of delta */
    static const struct vector v[] = {
        {0, {0x00}, 1},
        {16, {0x10}, 1},
        {-16, {0x08}, 1},
        {256, {0x01, 0x01}, 2},
        {0x7f0000, {0x02, 0x00, 0x7f}, 3},
        {8, {0x07, 0x08, 0, 0, 0, 0, 0, 0, 0}, 9},
        {-1, {0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        unsigned char buf[16] = {0};
        size_t n = (size_t)(mt_put_addr_delta(buf, v[i].value) - buf);
        assert_int_equal(n, v[i].len);
        assert_memory_equal(buf, v[i].bytes, n);
        const unsigned char *p = v[i].bytes;
        int64_t back = 0;
        assert_int_equal(mt_get_addr_delta(&p, v[i].bytes + v[i].len, &back), 0);
        assert_int_equal(back, v[i].value);
    }
}

static void alloc_fn_names(void **state)
{
    (void)state;
    assert_string_equal(mt_alloc_fn_name(MT_FN_MALLOC), "malloc");
    assert_string_equal(mt_alloc_fn_name(MT_FN_PVALLOC), "pvalloc");
    assert_string_equal(mt_alloc_fn_name(MT_FN_PYOBJECT_REALLOC), "PyObject_Realloc");
    assert_string_equal(mt_alloc_fn_name(MT_FN_PYMALLOC_ARENA), "pymalloc_arena");
    assert_true(mt_rec_is_event(MT_REC_ALLOC + MT_FN_PYMALLOC_ARENA));
    assert_string_equal(mt_alloc_fn_name(MT_FN_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(varint_round_trip),
        cmocka_unit_test(varint_sizes),
        cmocka_unit_test(varint_truncated_is_rejected),
        cmocka_unit_test(varint_too_long_is_rejected),
        cmocka_unit_test(zigzag_round_trip),
        cmocka_unit_test(addr_delta_round_trip),
        cmocka_unit_test(varint_bytes),
        cmocka_unit_test(addr_delta_bytes),
        cmocka_unit_test(alloc_fn_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
