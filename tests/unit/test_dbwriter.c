/* test_dbwriter.c - the loader's second thread: every row queued lands in
 * its table, in the order queued (allocation ids follow it), NULL columns
 * and texts included; and a failed insert stops the writer with its
 * message without leaving the loader waiting. Each test runs threaded and
 * not (the loader's choice on one CPU). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dbwriter.h"
#include "schema.h"

/* More rows than the ring holds, and not a multiple of a block or a batch. */
#define ROWS 20011

static sqlite3 *fresh_db(void)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, mt_schema_tables, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, mt_schema_scratch, NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void every_row_in_order(void **state)
{
    const int *threaded = *state;
    sqlite3 *db = fresh_db();
    struct mt_dbwriter *w;
    char err[256] = "";
    assert_int_equal(mt_dbwriter_start(&w, db, *threaded, err, sizeof err), 0);
    static const char label[] = "phase two";
    for (int64_t i = 0; i < ROWS; i++) {
        int freed = i % 3 != 0;
        struct mt_row a = {.kind = MT_ROW_ALLOCATION,
                           .col = {0x1000 + 16 * i, i % 97, 1, i % 4, 1 + i % 5, 2 * i, 10 * i,
                                   2 * i + 1, 10 * i + 5},
                           .null_cols = freed ? 0 : 3u << 7};
        assert_int_equal(mt_dbwriter_put(w, &a), 0);
        if (i % 1000 == 0) {
            struct mt_row s = {.kind = MT_ROW_SAMPLE, .col = {2 * i, 10 * i, 4096 + i, i}};
            struct mt_row m = {.kind = MT_ROW_MARKER,
                               .col = {2 * i + 1, 10 * i, 0},
                               .text = label,
                               .text_len = sizeof label - 1};
            struct mt_row u = {.kind = MT_ROW_UNMATCHED, .col = {2 * i + 1, 10 * i, 0xdead, 2}};
            assert_int_equal(mt_dbwriter_put(w, &s), 0);
            assert_int_equal(mt_dbwriter_put(w, &m), 0);
            assert_int_equal(mt_dbwriter_put(w, &u), 0);
        }
    }
    struct mt_row t = {.kind = MT_ROW_THREAD, .col = {3, 4242}, .text = "worker", .text_len = 6};
    assert_int_equal(mt_dbwriter_put(w, &t), 0);
    assert_int_equal(mt_dbwriter_finish(w, err, sizeof err), 0);

    assert_int_equal(query_int(db, "SELECT count(*) FROM allocations"), ROWS);
    /* ids follow the order queued: id k holds row k-1 */
    assert_int_equal(query_int(db, "SELECT count(*) FROM allocations"
                                   " WHERE address != 0x1000 + 16 * (id - 1)"
                                   " OR alloc_seq != 2 * (id - 1) OR size != (id - 1) % 97"),
                     0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM allocations WHERE free_seq IS NULL"),
                     (ROWS + 2) / 3);
    assert_int_equal(query_int(db, "SELECT count(*) FROM allocations WHERE free_ns IS NULL"
                                   " AND (id - 1) % 3 != 0"),
                     0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM samples"), ROWS / 1000 + 1);
    assert_int_equal(query_int(db, "SELECT sum(rss_bytes - heap_bytes) FROM samples"),
                     4096 * (ROWS / 1000 + 1));
    assert_int_equal(query_int(db, "SELECT count(*) FROM markers WHERE label = 'phase two'"),
                     ROWS / 1000 + 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM unmatched_frees"), ROWS / 1000 + 1);
    assert_int_equal(query_int(db, "SELECT tid FROM threads WHERE name = 'worker' AND id = 3"),
                     4242);
    sqlite3_close(db);
}

static void failed_insert_stops_the_writer(void **state)
{
    const int *threaded = *state;
    sqlite3 *db = fresh_db();
    struct mt_dbwriter *w;
    char err[256] = "";
    assert_int_equal(mt_dbwriter_start(&w, db, *threaded, err, sizeof err), 0);
    /* address is NOT NULL: the first batch fails */
    struct mt_row bad = {.kind = MT_ROW_ALLOCATION, .col = {0, 8, 1, 0, 1, 1, 1}, .null_cols = 1};
    int stopped = 0;
    for (int i = 0; i < ROWS && !stopped; i++)
        stopped = mt_dbwriter_put(w, &bad) == EIO;
    assert_true(stopped); /* the loader learns it, instead of waiting for room */
    assert_int_equal(mt_dbwriter_finish(w, err, sizeof err), EIO);
    assert_non_null(strstr(err, "NOT NULL"));
    sqlite3_close(db);
}

int main(void)
{
    static int threaded = 1, inline_ = 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(every_row_in_order, &threaded),
        cmocka_unit_test_prestate(failed_insert_stops_the_writer, &threaded),
        cmocka_unit_test_prestate(every_row_in_order, &inline_),
        cmocka_unit_test_prestate(failed_insert_stops_the_writer, &inline_),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
