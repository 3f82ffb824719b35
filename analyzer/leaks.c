/* leaks.c - `memtap leaks TRACE|DB [--top N] [--native] [--json]`: two lists.
 *
 * Unfreed at exit: blocks still live when the program ended (for Python,
 * when the interpreter began to shut down), grouped by stack.
 *
 * Growing: call sites whose live bytes kept growing through the run. The
 * events up to exit are cut into 33 to 64 slices of 2^w events each
 * (view site_slices: program progress rather than wall time, because event
 * times are only as fine as the RSS samples, too coarse for short runs); a
 * site grows when it ends with live bytes and grew in at least 3 slices;
 * its steadiness is the share of slices, from its first allocation to
 * exit, in which it grew. Sites are ranked by growth x steadiness, so
 * start-up allocations (one step, then flat) and churn (grows and shrinks)
 * rank below a leak that grows all the time (view growth_sites; computed
 * by site_scan.c, which gives the view's rows in one pass). */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "db.h"
#include "report.h"
#include "tree.h"
#include "site_scan.h"
#include "util.h"

/* grew / active slices to 3 decimals, halves away from zero as the view's
 * round() does (printf's %.3f would make 1/16 0.062, the view 0.063). */
static double steadiness(const struct mt_site *s)
{
    return floor(1000.0 * (double)s->extra[0] / (double)s->extra[1] + 0.5) / 1000.0;
}

/* The members of one process's object (no braces). */
static void print_json(sqlite3 *db, const struct mt_sites *unfreed, const struct mt_sites *grow,
                       int top, int native, double exit_s)
{
    printf("\"exit_time_s\": %.6f, \"unfreed_bytes\": %lld, \"unfreed_count\": %lld,"
           " \"unfreed\": [",
           exit_s, (long long)unfreed->bytes, (long long)unfreed->count);
    for (int i = 0; i < unfreed->n && i < top; i++) {
        fputs(i ? ", " : "", stdout);
        mt_site_json_open(stdout, &unfreed->v[i]);
        printf(", \"stack_id\": %lld, \"frames\": ", (long long)unfreed->v[i].extra[0]);
        mt_print_stack(stdout, db, unfreed->v[i].extra[0], native, 1, 0);
        putchar('}');
    }
    printf("], \"growing\": [");
    for (int i = 0; i < grow->n && i < top; i++) {
        const struct mt_site *s = &grow->v[i];
        fputs(i ? ", " : "", stdout);
        mt_site_json_open(stdout, s);
        printf(", \"growth_bytes\": %lld, \"steadiness\": %.3f, \"grew_slices\": %lld,"
               " \"active_slices\": %lld, \"first_slice\": %lld, \"slices\": %lld}",
               (long long)s->bytes, steadiness(s),
               (long long)s->extra[0], (long long)s->extra[1], (long long)s->extra[2],
               (long long)s->extra[3]);
    }
    printf("]");
}

static void print_text(sqlite3 *db, const struct mt_sites *unfreed, const struct mt_sites *grow,
                       int top, int native, double exit_s)
{
    char b1[32];
    mt_sample_note(stdout, db);
    printf("unfreed at exit (%.3f s): %s in %lld blocks, by stack\n", exit_s,
           mt_human_bytes((uint64_t)unfreed->bytes, b1, sizeof b1), (long long)unfreed->count);
    printf("  %12s %10s  %s\n", "bytes", "blocks", "allocated at");
    for (int i = 0; i < unfreed->n && i < top; i++) {
        const struct mt_site *s = &unfreed->v[i];
        printf("  %12s %10lld  ", mt_human_bytes((uint64_t)s->bytes, b1, sizeof b1),
               (long long)s->count);
        mt_site_print_name(stdout, s);
        printf("  [stack %lld]\n", (long long)s->extra[0]);
        if (i < 3)
            mt_print_stack(stdout, db, s->extra[0], native, 0, 6);
    }
    if (unfreed->n > top)
        printf("  ... %d more stacks (--top)\n", unfreed->n - top);

    printf("\ngrowing: sites whose live bytes grew steadily over the run\n"
           "  (the events up to exit are cut into %lld slices; 'grew in' counts the\n"
           "   slices in which the site's live bytes went up, out of those since its first\n"
           "   allocation; 'grew by' is what the site still held at exit)\n",
           (long long)(grow->n ? grow->v[0].extra[3] : 64));
    if (!grow->n)
        printf("  none\n");
    else
        printf("  %12s %10s %9s %10s  %s\n", "grew by", "blocks", "grew in", "steadiness",
               "site");
    for (int i = 0; i < grow->n && i < top; i++) {
        const struct mt_site *s = &grow->v[i];
        char in[24];
        snprintf(in, sizeof in, "%lld/%lld", (long long)s->extra[0], (long long)s->extra[1]);
        printf("  %12s %10lld %9s %10.2f  ", mt_human_bytes((uint64_t)s->bytes, b1, sizeof b1),
               (long long)s->count, in, (double)s->extra[0] / (double)s->extra[1]);
        mt_site_print_name(stdout, s);
        printf("  (from %lld%% of the run)\n", (long long)(100 * s->extra[2] / s->extra[3]));
    }
    if (grow->n > top)
        printf("  ... %d more sites (--top)\n", grow->n - top);
}

/* One process's two lists (JSON: its object's members). */
static int leaks_of(sqlite3 *db, void *ctx)
{
    const struct mt_report_args *ra = ctx;
    struct mt_sites unfreed = {0}, grow = {0};
    int rc = mt_sites_query(
        db, "SELECT function, file, line, bytes, count, stack_id FROM unfreed_at_exit", 1,
        &unfreed);
    if (!rc) /* view growth_sites, in one pass (site_scan.h says why) */
        rc = mt_scan_growth(db, &grow);
    if (!rc) {
        double exit_s = (double)mt_db_meta_int(db, "exit_ns", 0) / 1e9;
        if (ra->json)
            print_json(db, &unfreed, &grow, ra->top, ra->native, exit_s);
        else
            print_text(db, &unfreed, &grow, ra->top, ra->native, exit_s);
    }
    mt_sites_free(&unfreed);
    mt_sites_free(&grow);
    return rc;
}

const char mt_usage_leaks[] =
    "usage: memtap leaks [--top N] [--native] [--json] [--pid PID] TRACE|DB\n"
    "  a run of several processes: each one's leaks (--pid PID: one alone)\n";

int mt_cmd_leaks(int argc, char **argv)
{
    struct mt_report_args ra = {.top = 10};
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"pid", required_argument, NULL, 'p'}, {"top", required_argument, NULL, 'n'},
        {"native", no_argument, NULL, 'N'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c, taken;
    while ((c = getopt_long(argc, argv, "jn:p:h", opts, NULL)) != -1)
        if ((taken = mt_report_arg("leaks", c, optarg, &ra)) <= 0)
            return taken < 0 ? MT_EXIT_USAGE : mt_usage(mt_usage_leaks, c == 'h');
    if (optind != argc - 1)
        return mt_usage(mt_usage_leaks, 0);
    sqlite3 *db;
    int rc = mt_db_open_process(argv[optind], ra.pid, &db);
    if (rc)
        return rc;
    int64_t procs = ra.pid ? 0 : mt_tree_count(db);
    if (ra.json)
        putchar('{');
    rc = leaks_of(db, &ra);
    /* a run of several processes: each one's lists, and what they left */
    if (!rc && procs > 1)
        rc = mt_tree_each(db, ra.json, leaks_of, &ra);
    if (!rc && procs > 1 && ra.json)
        printf(", \"tree_unfreed_bytes\": %lld",
               (long long)mt_query_int(db, "SELECT sum(live_at_end_bytes) FROM processes"));
    if (ra.json)
        printf("}\n");
    sqlite3_close(db);
    return rc;
}
