/* test_trace.c - the trace reader on hand-built traces: threads merged in
 * sequence order, unordered records delivered, a torn record dropped and
 * counted, and every kind of bad input rejected with a reason. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "trace.h"

/* ---- a tiny trace builder ------------------------------------------------ */

struct builder {
    unsigned char *buf;
    size_t size;
    unsigned char *pos;
    uint64_t last_seq, prev_addr;
    uint32_t prev_stack;
    int explicit_seq; /* as version 2 wrote them: every seq_delta stored */
    int leb_addr;     /* as versions 1-3 wrote them: addresses as zig-zag LEB128 */
};

static void b_init(struct builder *b, int segments)
{
    memset(b, 0, sizeof *b);
    b->size = MT_HEADER_SIZE + (size_t)segments * MT_SEGMENT_SIZE;
    b->buf = calloc(1, b->size);
    struct mt_file_header *h = (struct mt_file_header *)b->buf;
    memcpy(h->magic, MT_MAGIC, 8);
    h->version = MT_FORMAT_VERSION;
    h->header_size = MT_HEADER_SIZE;
    h->segment_size = MT_SEGMENT_SIZE;
    h->pid = 42;
    h->flags = MT_HDR_CLOSED;
    strcpy(h->exe, "/bin/test");
}

static void b_segment(struct builder *b, int k, uint32_t thread, uint64_t base_seq)
{
    unsigned char *s = b->buf + MT_HEADER_SIZE + (size_t)k * MT_SEGMENT_SIZE;
    struct mt_segment_header sh = {MT_SEGMENT_MAGIC, thread, base_seq};
    memcpy(s, &sh, sizeof sh);
    b->pos = s + sizeof sh;
    b->last_seq = base_seq;
    b->prev_addr = 0;
    b->prev_stack = 0;
}

/* An event record's kind and number, as the shim writes them: a delta of 1
 * only flagged in the kind (unless explicit_seq); then its address. */
static unsigned char *b_event(struct builder *b, unsigned kind, uint64_t seq, uint64_t addr)
{
    unsigned char *p = b->pos;
    int next = seq - b->last_seq == 1 && !b->explicit_seq;
    *p++ = (unsigned char)(kind | (next ? MT_REC_SEQ_NEXT : 0));
    if (!next)
        p = mt_put_varint(p, seq - b->last_seq);
    if (b->leb_addr)
        p = mt_put_varint(p, mt_zigzag((int64_t)(addr - b->prev_addr)));
    else
        p = mt_put_addr_delta(p, (int64_t)(addr - b->prev_addr));
    b->last_seq = seq;
    b->prev_addr = addr;
    return p;
}

static void b_alloc(struct builder *b, uint64_t seq, uint64_t addr, uint64_t size, uint32_t stack)
{
    unsigned char *p = b_event(b, MT_REC_ALLOC + MT_FN_MALLOC, seq, addr);
    p = mt_put_varint(p, size);
    p = mt_put_varint(p, mt_zigzag((int64_t)stack - (int64_t)b->prev_stack));
    b->prev_stack = stack;
    b->pos = p;
}

static void b_free(struct builder *b, uint64_t seq, uint64_t addr)
{
    b->pos = b_event(b, MT_REC_FREE, seq, addr);
}

static void b_stack(struct builder *b, uint32_t id, uint32_t parent, uint64_t frame)
{
    unsigned char *p = b->pos;
    *p++ = MT_REC_STACK;
    p = mt_put_varint(p, id);
    p = mt_put_varint(p, parent);
    p = mt_put_varint(p, frame);
    b->pos = p;
}

static char *b_write(struct builder *b, size_t size)
{
    char *path = strdup("/tmp/memtap-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_true(write(fd, b->buf, size) == (ssize_t)size);
    close(fd);
    free(b->buf);
    return path;
}

/* ---- what the reader delivers ------------------------------------------- */

struct seen {
    int n;
    struct mt_event ev[64];
};

static int collect(void *ctx, const struct mt_event *ev)
{
    struct seen *s = ctx;
    if (s->n < 64)
        s->ev[s->n] = *ev;
    s->n++;
    return 0;
}

static int read_all(const char *path, struct seen *s, struct mt_trace_stats *stats, char *err)
{
    struct mt_trace *t;
    memset(s, 0, sizeof *s);
    int rc = mt_trace_open(path, &t, err, 256);
    if (rc)
        return rc;
    rc = mt_trace_read(t, collect, s, err, 256);
    if (stats)
        *stats = *mt_trace_stats(t);
    mt_trace_close(t);
    return rc;
}

static void merges_threads_by_sequence(void **state)
{
    (void)state;
    struct builder b;
    b_init(&b, 3);
    /* thread 0: segments 0 and 2; thread 1: segment 1 */
    b_segment(&b, 0, 0, 0);
    b_stack(&b, 1, 0, 0x401000);
    b_alloc(&b, 1, 0x1000, 10, 1);
    b_alloc(&b, 4, 0x2000, 20, 1);
    b_segment(&b, 1, 1, 0);
    b_alloc(&b, 2, 0x3000, 30, 0);
    b_free(&b, 3, 0x1000); /* thread 1 frees thread 0's block */
    b_alloc(&b, 6, 0x1000, 40, 0); /* ... and the address is reused */
    b_segment(&b, 2, 0, 4);
    b_free(&b, 5, 0x2000);
    char *path = b_write(&b, b.size);
    struct seen s;
    char err[256];
    struct mt_trace_stats st;
    assert_int_equal(read_all(path, &s, &st, err), 0);
    assert_int_equal(s.n, 7);
    assert_int_equal(s.ev[0].kind, MT_EV_STACK);
    assert_int_equal(s.ev[0].frame, 0x401000);
    uint64_t want_seq[] = {1, 2, 3, 4, 5, 6};
    for (int i = 0; i < 6; i++)
        assert_int_equal(s.ev[i + 1].seq, want_seq[i]);
    assert_int_equal(s.ev[3].kind, MT_EV_FREE);
    assert_int_equal(s.ev[3].addr, 0x1000);
    assert_int_equal(s.ev[3].thread, 1);
    assert_int_equal(s.ev[6].addr, 0x1000);
    assert_int_equal(s.ev[6].size, 40);
    assert_int_equal(s.ev[1].stack, 1);
    assert_int_equal(st.threads, 2);
    assert_int_equal(st.torn_records, 0);
    unlink(path);
    free(path);
}

static void torn_record_is_dropped_and_counted(void **state)
{
    (void)state;
    struct builder b;
    b_init(&b, 1);
    b_segment(&b, 0, 0, 0);
    b_alloc(&b, 1, 0x1000, 10, 0);
    b_alloc(&b, 2, 0x2000, 20, 0);
    /* the writer died after the body of the third record, before its kind */
    unsigned char *third = b.pos;
    b_alloc(&b, 3, 0x3000, 30, 0);
    *third = MT_REC_NONE;
    char *path = b_write(&b, b.size);
    struct seen s;
    struct mt_trace_stats st;
    char err[256];
    assert_int_equal(read_all(path, &s, &st, err), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.ev[1].addr, 0x2000);
    assert_int_equal(st.torn_records, 1);
    unlink(path);
    free(path);
}

/* Version 2 stored every seq_delta, 1 included, and version 3 flagged a
 * delta of 1 in the kind; both wrote addresses as LEB128 (an unaligned one
 * here too). They read the same. */
static void reads_older_versions(unsigned version)
{
    struct builder b;
    b_init(&b, 1);
    ((struct mt_file_header *)b.buf)->version = version;
    b.explicit_seq = version == 2;
    b.leb_addr = 1;
    b_segment(&b, 0, 0, 0);
    b_alloc(&b, 1, 0x1000, 10, 0);
    b_alloc(&b, 2, 0x2008, 20, 0);
    b_free(&b, 3, 0x1000);
    b_free(&b, 7, 0x2008);
    char *path = b_write(&b, b.size);
    struct seen s;
    struct mt_trace_stats st;
    char err[256];
    assert_int_equal(read_all(path, &s, &st, err), 0);
    assert_int_equal(s.n, 4);
    uint64_t want_seq[] = {1, 2, 3, 7};
    for (int i = 0; i < 4; i++)
        assert_int_equal(s.ev[i].seq, want_seq[i]);
    assert_int_equal(s.ev[2].kind, MT_EV_FREE);
    assert_int_equal(s.ev[1].addr, 0x2008);
    assert_int_equal(s.ev[3].addr, 0x2008);
    unlink(path);
    free(path);
}

static void reads_version_2(void **state)
{
    (void)state;
    reads_older_versions(2);
}

static void reads_version_3(void **state)
{
    (void)state;
    reads_older_versions(3);
}

static void expect_error(struct builder *b, size_t size, const char *needle)
{
    char *path = b_write(b, size);
    struct seen s;
    char err[256] = "";
    assert_int_not_equal(read_all(path, &s, NULL, err), 0);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
    unlink(path);
    free(path);
}

/* MT_REC_SEQ_NEXT means something on event records only. */
static void rejects_seq_flag_on_other_kinds(void **state)
{
    (void)state;
    struct builder b;
    b_init(&b, 1);
    b_segment(&b, 0, 0, 0);
    b_alloc(&b, 1, 0x1000, 10, 0);
    unsigned char *rec = b.pos;
    b_stack(&b, 1, 0, 0x401000);
    *rec = MT_REC_STACK | MT_REC_SEQ_NEXT;
    expect_error(&b, b.size, "unknown record kind 0xb0");
}

static void rejects_unknown_record_kind(void **state)
{
    (void)state;
    struct builder b;
    b_init(&b, 1);
    b_segment(&b, 0, 0, 0);
    b_alloc(&b, 1, 0x1000, 10, 0);
    *b.pos = 0xee;
    b.pos[1] = 1;
    expect_error(&b, b.size, "unknown record kind 0xee");
}

static void rejects_record_past_segment_end(void **state)
{
    (void)state;
    struct builder b;
    b_init(&b, 1);
    b_segment(&b, 0, 0, 0);
    unsigned char *end = b.buf + MT_HEADER_SIZE + MT_SEGMENT_SIZE;
    b.pos[0] = MT_REC_FREE;
    memset(b.pos + 1, 0x80, (size_t)(end - b.pos - 1)); /* a varint that never ends */
    expect_error(&b, b.size, "runs past its segment");
}

static void rejects_newer_version(void **state)
{
    (void)state;
    struct builder b;
    b_init(&b, 1);
    ((struct mt_file_header *)b.buf)->version = MT_FORMAT_VERSION + 1;
    expect_error(&b, b.size, "is newer than this memtap reads");
}

static void rejects_bad_magic_empty_and_truncation(void **state)
{
    (void)state;
    struct builder b;
    b_init(&b, 1);
    b.buf[0] = 'X';
    expect_error(&b, b.size, "bad magic");
    b_init(&b, 1);
    expect_error(&b, 0, "empty file");
    b_init(&b, 2);
    expect_error(&b, MT_HEADER_SIZE + MT_SEGMENT_SIZE + 100, "truncated trace");
    b_init(&b, 1);
    expect_error(&b, 100, "bad magic");
}

static void rejects_garbage_segment_header(void **state)
{
    (void)state;
    struct builder b;
    b_init(&b, 2);
    memset(b.buf + MT_HEADER_SIZE + MT_SEGMENT_SIZE, 0xab, 32);
    expect_error(&b, b.size, "corrupt segment header");
}

static void missing_file_is_an_error(void **state)
{
    (void)state;
    struct mt_trace *t;
    char err[256];
    assert_int_not_equal(mt_trace_open("/nonexistent/trace.memtap", &t, err, sizeof err), 0);
    assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merges_threads_by_sequence),
        cmocka_unit_test(torn_record_is_dropped_and_counted),
        cmocka_unit_test(reads_version_2),
        cmocka_unit_test(reads_version_3),
        cmocka_unit_test(rejects_unknown_record_kind),
        cmocka_unit_test(rejects_seq_flag_on_other_kinds),
        cmocka_unit_test(rejects_record_past_segment_end),
        cmocka_unit_test(rejects_newer_version),
        cmocka_unit_test(rejects_bad_magic_empty_and_truncation),
        cmocka_unit_test(rejects_garbage_segment_header),
        cmocka_unit_test(missing_file_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
