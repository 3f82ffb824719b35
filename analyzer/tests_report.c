/* tests_report.c - `memtap tests RUN [--json] [--check] [--sort KEY]`: one
 * row per test of a pytest run traced by memtap, from the markers its
 * plugin wrote around each test function's call (shim/python/
 * memtap_pytest.py: pytest:start:N:ID, pytest:end:N:ID, pytest:limits:N:
 * memory=B;leaks=B). Per test, exact:
 *
 *   peak       the heap's highest point during the test above the heap at
 *              its start (markers.peak_bytes_since, over the markers in it)
 *   allocated  bytes and blocks allocated during it (allocated_*_since)
 *   leaked     bytes and blocks allocated during it and still live after
 *              its teardown (pytest:after:N; rows of allocations: the
 *              compact database keeps every block live at a marker)
 *
 * --check exits 1 naming each test over its limit_memory (peak) or
 * limit_leaks (leaked): the limits are checked here, after the load, and
 * not in the pytest run, because only the load knows the heap (the shim
 * records frees by address; it does not know a freed block's size without
 * a table of every live block, which is what the loader keeps). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "db.h"
#include "report.h"
#include "tree.h"
#include "util.h"

const char mt_usage_tests[] =
    "usage: memtap tests [--json] [--check] [--sort leaked|peak|allocated|order]\n"
    "                    [--pid PID] TRACE|DB\n"
    "  one row per test of a pytest run traced with memtap run (its plugin marks\n"
    "  each test): heap peak during the test above its start, bytes allocated,\n"
    "  bytes it left live after its teardown (leaked), most leaked first\n"
    "  --check   exit 1 naming each test over its @pytest.mark.limit_memory (peak)\n"
    "            or limit_leaks (leaked); 0 when all are within them\n";

struct test {
    long n;
    char *id;
    int64_t start_seq, end_seq, after_seq, heap_start; /* after_seq: -1 when none */
    int64_t peak, alloc_bytes, alloc_count, leak_bytes, leak_count;
    int64_t limit_memory, limit_leaks; /* -1: none */
};

struct tests {
    struct test *v;
    int n, cap;
};

static struct test *find(struct tests *ts, long n, int add)
{
    for (int i = ts->n - 1; i >= 0; i--)
        if (ts->v[i].n == n)
            return &ts->v[i];
    if (!add)
        return NULL;
    if (ts->n == ts->cap) {
        int cap = ts->cap ? ts->cap * 2 : 64;
        void *p = realloc(ts->v, (size_t)cap * sizeof *ts->v);
        if (!p)
            return NULL;
        ts->v = p;
        ts->cap = cap;
    }
    struct test *t = &ts->v[ts->n++];
    memset(t, 0, sizeof *t);
    t->n = n;
    t->limit_memory = t->limit_leaks = -1;
    t->start_seq = t->end_seq = t->after_seq = -1;
    return t;
}

/* "pytest:KIND:N:REST" or "pytest:KIND:N" -> kind, N, REST; 0 when not one. */
static int parse_label(const char *label, char *kind, size_t kcap, long *n, const char **rest)
{
    if (strncmp(label, "pytest:", 7) != 0)
        return 0;
    const char *k = label + 7, *colon = strchr(k, ':');
    if (!colon || (size_t)(colon - k) >= kcap)
        return 0;
    memcpy(kind, k, (size_t)(colon - k));
    kind[colon - k] = 0;
    char *end;
    *n = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || (*end != ':' && *end))
        return 0;
    *rest = *end ? end + 1 : end;
    return 1;
}

static void parse_limits(struct test *t, const char *s)
{
    const char *m = strstr(s, "memory="), *l = strstr(s, "leaks=");
    if (m)
        t->limit_memory = strtoll(m + 7, NULL, 10);
    if (l)
        t->limit_leaks = strtoll(l + 6, NULL, 10);
}

/* The test whose interval (start, end] holds seq; tests are in order. */
static struct test *holding(struct tests *ts, int64_t seq, int end_inclusive)
{
    int lo = 0, hi = ts->n - 1, at = -1;
    while (lo <= hi) { /* the last test starting before seq */
        int mid = (lo + hi) / 2;
        if (ts->v[mid].start_seq < seq) {
            at = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    if (at < 0)
        return NULL;
    struct test *t = &ts->v[at];
    return seq < t->end_seq || (end_inclusive && seq == t->end_seq) ? t : NULL;
}

static int by_start(const void *a, const void *b)
{
    const struct test *x = a, *y = b;
    return x->start_seq < y->start_seq ? -1 : x->start_seq > y->start_seq;
}

static int sort_key;
static int by_key(const void *a, const void *b)
{
    const struct test *x = a, *y = b;
    int64_t kx, ky;
    switch (sort_key) {
    case 1: kx = x->peak, ky = y->peak; break;
    case 2: kx = x->alloc_bytes, ky = y->alloc_bytes; break;
    case 3: kx = -x->start_seq, ky = -y->start_seq; break;
    default:
        kx = x->leak_bytes, ky = y->leak_bytes;
        if (kx == ky)
            kx = x->peak, ky = y->peak;
    }
    return kx < ky ? 1 : kx > ky ? -1 : 0;
}

static int collect(sqlite3 *db, struct tests *ts)
{
    sqlite3_stmt *st;
    if (mt_prepare(db,
                   "SELECT seq, label, heap_bytes FROM markers WHERE label LIKE 'pytest:%'"
                   " ORDER BY seq",
                   &st) != 0)
        return MT_EXIT_FAIL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *label = (const char *)sqlite3_column_text(st, 1), *rest;
        char kind[16];
        long n;
        if (!label || !parse_label(label, kind, sizeof kind, &n, &rest))
            continue;
        struct test *t = find(ts, n, 1);
        if (!t) {
            sqlite3_finalize(st);
            mt_error("tests: out of memory");
            return MT_EXIT_FAIL;
        }
        if (strcmp(kind, "start") == 0) {
            t->start_seq = sqlite3_column_int64(st, 0);
            t->heap_start = sqlite3_column_int64(st, 2);
            free(t->id);
            t->id = strdup(rest);
        } else if (strcmp(kind, "end") == 0) {
            t->end_seq = sqlite3_column_int64(st, 0);
        } else if (strcmp(kind, "after") == 0) {
            t->after_seq = sqlite3_column_int64(st, 0);
        } else if (strcmp(kind, "limits") == 0) {
            parse_limits(t, rest);
        }
    }
    sqlite3_finalize(st);
    int k = 0; /* tests that did not both start and end (a crash) are left out */
    for (int i = 0; i < ts->n; i++) {
        if (ts->v[i].start_seq >= 0 && ts->v[i].end_seq > ts->v[i].start_seq && ts->v[i].id)
            ts->v[k++] = ts->v[i];
        else
            free(ts->v[i].id);
    }
    ts->n = k;
    qsort(ts->v, (size_t)ts->n, sizeof *ts->v, by_start);
    for (int i = 0; i < ts->n; i++)
        ts->v[i].peak = ts->v[i].heap_start;

    /* peak and allocated: the markers after a test's start, up to its end */
    if (mt_prepare(db,
                   "SELECT seq, peak_bytes_since, allocated_bytes_since, allocated_count_since"
                   " FROM markers ORDER BY seq",
                   &st) != 0)
        return MT_EXIT_FAIL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct test *t = holding(ts, sqlite3_column_int64(st, 0), 1);
        if (!t)
            continue;
        int64_t peak = sqlite3_column_int64(st, 1);
        if (peak > t->peak)
            t->peak = peak;
        t->alloc_bytes += sqlite3_column_int64(st, 2);
        t->alloc_count += sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    for (int i = 0; i < ts->n; i++)
        ts->v[i].peak -= ts->v[i].heap_start;

    /* leaked: allocated in the test, live after its teardown (at its end
     * when there is no after marker) */
    if (mt_prepare(db, "SELECT alloc_seq, size, free_seq FROM allocations", &st) != 0)
        return MT_EXIT_FAIL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct test *t = holding(ts, sqlite3_column_int64(st, 0), 0);
        if (!t)
            continue;
        int64_t upto = t->after_seq > t->end_seq ? t->after_seq : t->end_seq;
        if (sqlite3_column_type(st, 2) == SQLITE_NULL || sqlite3_column_int64(st, 2) > upto) {
            t->leak_bytes += sqlite3_column_int64(st, 1);
            t->leak_count++;
        }
    }
    sqlite3_finalize(st);
    return MT_EXIT_OK;
}

static void print_json(const struct tests *ts)
{
    printf("{\"tests\": [");
    for (int i = 0; i < ts->n; i++) {
        const struct test *t = &ts->v[i];
        printf("%s{\"n\": %ld, \"id\": ", i ? ", " : "", t->n);
        mt_json_string(stdout, t->id);
        printf(", \"peak_bytes\": %lld, \"allocated_bytes\": %lld, \"allocated_count\": %lld,"
               " \"leaked_bytes\": %lld, \"leaked_count\": %lld",
               (long long)t->peak, (long long)t->alloc_bytes, (long long)t->alloc_count,
               (long long)t->leak_bytes, (long long)t->leak_count);
        if (t->limit_memory >= 0)
            printf(", \"limit_memory\": %lld, \"over_limit_memory\": %s", (long long)t->limit_memory,
                   t->peak > t->limit_memory ? "true" : "false");
        if (t->limit_leaks >= 0)
            printf(", \"limit_leaks\": %lld, \"over_limit_leaks\": %s", (long long)t->limit_leaks,
                   t->leak_bytes > t->limit_leaks ? "true" : "false");
        putchar('}');
    }
    printf("]}\n");
}

static void print_text(const struct tests *ts)
{
    char b1[32], b2[32], b3[32];
    printf("%d tests; heap peak above each test's start, bytes it allocated and left live:\n",
           ts->n);
    printf("  %12s %12s %12s %8s  %s\n", "peak", "allocated", "leaked", "blocks", "test");
    for (int i = 0; i < ts->n; i++) {
        const struct test *t = &ts->v[i];
        printf("  %12s %12s %12s %8lld  %s", mt_human_bytes((uint64_t)t->peak, b1, sizeof b1),
               mt_human_bytes((uint64_t)t->alloc_bytes, b2, sizeof b2),
               mt_human_bytes((uint64_t)t->leak_bytes, b3, sizeof b3), (long long)t->leak_count,
               t->id);
        if (t->limit_memory >= 0 && t->peak > t->limit_memory)
            printf("  [over limit_memory %s]",
                   mt_human_bytes((uint64_t)t->limit_memory, b1, sizeof b1));
        if (t->limit_leaks >= 0 && t->leak_bytes > t->limit_leaks)
            printf("  [over limit_leaks %s]", mt_human_bytes((uint64_t)t->limit_leaks, b1, sizeof b1));
        putchar('\n');
    }
}

static int check(const struct tests *ts)
{
    char b1[32], b2[32];
    int over = 0;
    for (int i = 0; i < ts->n; i++) {
        const struct test *t = &ts->v[i];
        if (t->limit_memory >= 0 && t->peak > t->limit_memory) {
            printf("FAIL %s: heap peak %s (%lld bytes) over its limit_memory %s\n", t->id,
                   mt_human_bytes((uint64_t)t->peak, b1, sizeof b1), (long long)t->peak,
                   mt_human_bytes((uint64_t)t->limit_memory, b2, sizeof b2));
            over++;
        }
        if (t->limit_leaks >= 0 && t->leak_bytes > t->limit_leaks) {
            printf("FAIL %s: leaked %s (%lld bytes in %lld blocks) over its limit_leaks %s\n",
                   t->id, mt_human_bytes((uint64_t)t->leak_bytes, b1, sizeof b1),
                   (long long)t->leak_bytes, (long long)t->leak_count,
                   mt_human_bytes((uint64_t)t->limit_leaks, b2, sizeof b2));
            over++;
        }
    }
    if (!over)
        printf("ok   %d tests, all within their limits\n", ts->n);
    return over ? MT_EXIT_FAIL : MT_EXIT_OK;
}

int mt_cmd_tests(int argc, char **argv)
{
    struct mt_report_args ra = {0};
    int want_check = 0;
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},   {"check", no_argument, NULL, 'c'},
        {"sort", required_argument, NULL, 's'}, {"pid", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},   {NULL, 0, NULL, 0}};
    static const char *const keys[] = {"leaked", "peak", "allocated", "order"};
    sort_key = 0;
    int c, taken;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        if (c == 'c') {
            want_check = 1;
        } else if (c == 's') {
            if ((sort_key = mt_parse_choice("tests", "sort", optarg, keys, 4)) < 0)
                return MT_EXIT_USAGE;
        } else if ((taken = mt_report_arg("tests", c, optarg, &ra)) <= 0) {
            return taken < 0 ? MT_EXIT_USAGE : mt_usage(mt_usage_tests, c == 'h');
        }
    }
    if (optind != argc - 1)
        return mt_usage(mt_usage_tests, 0);
    sqlite3 *db;
    int rc = mt_db_open_process(argv[optind], ra.pid, &db);
    if (rc)
        return rc;
    struct tests ts = {0};
    rc = collect(db, &ts);
    sqlite3_close(db);
    if (rc == MT_EXIT_OK && ts.n == 0) {
        mt_error("tests: %s has no pytest tests (memtap run -m pytest ... marks them)",
                 argv[optind]);
        rc = MT_EXIT_FAIL;
    }
    if (rc == MT_EXIT_OK) {
        qsort(ts.v, (size_t)ts.n, sizeof *ts.v, by_key);
        if (want_check)
            rc = check(&ts);
        else if (ra.json)
            print_json(&ts);
        else
            print_text(&ts);
    }
    for (int i = 0; i < ts.n; i++)
        free(ts.v[i].id);
    free(ts.v);
    return rc;
}
