/* load_cmd.c - `memtap load TRACE [-o DB] [--force] [--quiet] [--all]`:
 * argument handling; the work is in load.c.
 *
 * A database that exists is replaced only with --force, except memtap's
 * own database of this very trace (current: its size and time match), as
 * `run` on a terminal or the first report leaves it: when it already is
 * what was asked (compact or --all), there is nothing to do; when it is
 * the other kind, it is loaded again as asked. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "db.h"
#include "load.h"
#include "util.h"

const char mt_usage_load[] =
    "usage: memtap load TRACE [-o|--output DB] [--force] [--quiet] [--all]\n"
    "  --all: a row in allocations for every allocation (default: compact,"
    " see docs/schema.md)\n";

int mt_cmd_load(int argc, char **argv)
{
    const char *out = NULL;
    int force = 0, quiet = 0, all = 0;
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {"all", no_argument, NULL, 'a'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:fqh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'f': force = 1; break;
        case 'q': quiet = 1; break;
        case 'a': all = 1; break;
        default: return mt_usage(mt_usage_load, c == 'h');
        }
    }
    if (optind != argc - 1)
        return mt_usage(mt_usage_load, 0);
    char db_path[4096];
    if (out)
        snprintf(db_path, sizeof db_path, "%s", out);
    else
        mt_db_path_for(argv[optind], db_path, sizeof db_path);
    int kind = !force && mt_path_exists(db_path) ? mt_db_is_current(db_path, argv[optind]) : 0;
    if (kind == (all ? MT_DB_ALL : MT_DB_COMPACT)) {
        if (!quiet)
            fprintf(stderr, "memtap: %s: already loaded from %s\n", db_path, argv[optind]);
        return MT_EXIT_OK;
    }
    if (kind) { /* the other kind: made again */
        if (!quiet)
            fprintf(stderr, "memtap: %s: loading %s again, %s\n", db_path, argv[optind],
                    all ? "with every allocation (--all)" : "compact");
        force = 1;
    }
    return mt_load(argv[optind], db_path, force, quiet, all);
}
