/* check.c - `memtap check TRACE|DB [--max-peak SIZE] [--max-leak SIZE]
 * [--max-rss SIZE] [--json]`: a memory budget for CI. Exits 0 when every
 * limit holds, 1 when one is broken (one line per broken limit, saying
 * which and by how much), 2 on a usage error. The leak figure is what was
 * unfreed at exit (`memtap leaks`); sizes take KB/MB/GB (powers of 1000)
 * or K/M/G, KiB/MiB/GiB (powers of 1024). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "db.h"
#include "report.h"
#include "tree.h"
#include "util.h"

struct limit {
    const char *option, *what;
    const char *given; /* as the user wrote it; NULL = not set */
    uint64_t max;
    int64_t value;
};

const char mt_usage_check[] =
    "usage: memtap check [--max-peak SIZE] [--max-leak SIZE]"
    " [--max-rss SIZE] [--json] [--pid PID] TRACE|DB (at least one limit)\n"
    "  a run of several processes: --max-peak checks each one's heap peak,\n"
    "  --max-leak what they left unfreed together, --max-rss their RSS summed\n"
    "  over time (--pid PID: one process alone)\n";

int mt_cmd_check(int argc, char **argv)
{
    int json = 0;
    struct limit lim[] = {{"--max-peak", "heap peak", NULL, 0, 0},
                          {"--max-leak", "unfreed at exit", NULL, 0, 0},
                          {"--max-rss", "peak RSS", NULL, 0, 0}};
    static const struct option opts[] = {
        {"max-peak", required_argument, NULL, 0}, {"max-leak", required_argument, NULL, 1},
        {"max-rss", required_argument, NULL, 2},  {"json", no_argument, NULL, 'j'},
        {"pid", required_argument, NULL, 'p'},    {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    long pid = 0;
    while ((c = getopt_long(argc, argv, "jp:h", opts, NULL)) != -1) {
        if (c >= 0 && c <= 2) {
            if (mt_parse_size(optarg, &lim[c].max) != 0) {
                mt_error("check: %s: '%s' is not a size (say 300MB, 1.5GiB, 4096)",
                         lim[c].option, optarg);
                return MT_EXIT_USAGE;
            }
            lim[c].given = optarg;
        } else if (c == 'j') {
            json = 1;
        } else if (c == 'p') {
            if ((pid = mt_parse_pid("check", optarg)) < 0)
                return MT_EXIT_USAGE;
        } else {
            return mt_usage(mt_usage_check, c == 'h');
        }
    }
    if (optind != argc - 1 || (!lim[0].given && !lim[1].given && !lim[2].given))
        return mt_usage(mt_usage_check, 0);
    sqlite3 *db;
    int rc = mt_db_open_process(argv[optind], pid, &db);
    if (rc)
        return rc;
    int64_t procs = pid ? 0 : mt_tree_count(db);
    if (procs > 1) {
        double at;
        lim[0].value = mt_query_int(db, "SELECT max(peak_bytes) FROM processes");
        lim[0].what = "the largest heap peak of the run's processes";
        lim[1].value = mt_query_int(db, "SELECT sum(live_at_end_bytes) FROM processes");
        lim[1].what = "unfreed at exit in the run's processes";
        lim[2].value = mt_tree_peak_rss(db, &at);
        lim[2].what = "peak RSS of the run's processes together";
    } else {
        lim[0].value = mt_db_meta_int(db, "peak_bytes", 0);
        lim[1].value = mt_db_meta_int(db, "live_at_exit_bytes", 0);
        lim[2].value = mt_peak_rss(db);
    }
    sqlite3_close(db);

    int broken = 0;
    if (json)
        printf("{\"checks\": [");
    int first = 1;
    for (int i = 0; i < 3; i++) {
        if (!lim[i].given)
            continue;
        int over = (uint64_t)lim[i].value > lim[i].max;
        broken |= over;
        char v[32], d[32];
        mt_human_bytes((uint64_t)lim[i].value, v, sizeof v);
        if (json) {
            printf("%s{\"limit\": \"%s\", \"value_bytes\": %lld, \"max_bytes\": %llu,"
                   " \"ok\": %s}",
                   first ? "" : ", ", lim[i].option + 2, (long long)lim[i].value,
                   (unsigned long long)lim[i].max, over ? "false" : "true");
            first = 0;
        } else if (over) {
            mt_human_bytes((uint64_t)lim[i].value - lim[i].max, d, sizeof d);
            fprintf(stderr, "memtap: check failed: %s %s (%lld bytes) is over %s %s by %s\n",
                    lim[i].what, v, (long long)lim[i].value, lim[i].option, lim[i].given, d);
        } else {
            printf("ok: %s %s is within %s %s\n", lim[i].what, v, lim[i].option, lim[i].given);
        }
    }
    if (json)
        printf("], \"ok\": %s}\n", broken ? "false" : "true");
    return broken ? MT_EXIT_FAIL : MT_EXIT_OK;
}
