/* pack_cmd.c - `memtap pack TRACE...`: compresses traces at rest, as
 * `memtap run` does once its program is done (pack.h): for a trace written
 * with `run --no-pack`, or by the shim preloaded by hand. */
#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "pack.h"
#include "util.h"

const char mt_usage_pack[] = "usage: memtap pack TRACE...\n"
                             "  compresses each trace in place (already packed: left alone)\n";

int mt_cmd_pack(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
        return mt_usage(mt_usage_pack, c == 'h');
    if (optind >= argc)
        return mt_usage(mt_usage_pack, 0);
    int rc = MT_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        char why[512];
        uint64_t before, after;
        if (mt_trace_pack(argv[i], &before, &after, why, sizeof why) != 0) {
            mt_error("pack: %s", why);
            rc = MT_EXIT_FAIL;
            continue;
        }
        printf("%s: %llu -> %llu bytes\n", argv[i], (unsigned long long)before,
               (unsigned long long)after);
    }
    return rc;
}
