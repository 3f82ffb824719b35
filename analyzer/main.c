/* main.c - the `memtap` command line: dispatch to one command per file. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "load.h"
#include "util.h"

#define MT_VERSION "0.1.0"

/* The commands, each with what it does; their options are in their own
 * usage (commands.h), printed here as the commands print them. */
static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *usage;
    const char *does;
} commands[] = {
    {"run", mt_cmd_run, mt_usage_run, "trace every allocation of CMD into FILE"},
    {"load", mt_cmd_load, mt_usage_load, "turn a trace into a SQLite database"},
    {"summary", mt_cmd_summary, mt_usage_summary,
     "duration, counts, heap and RSS peaks, top sites"},
    {"peak", mt_cmd_peak, mt_usage_peak, "what was live at the heap peak (adds up to the peak)"},
    {"leaks", mt_cmd_leaks, mt_usage_leaks, "unfreed at exit, and sites that grew steadily"},
    {"diff", mt_cmd_diff, mt_usage_diff,
     "what changed between two points (markers, times, start, peak, end)"},
    {"check", mt_cmd_check, mt_usage_check,
     "exit 1 when a memory budget is broken (for CI)"},
    {"flamegraph", mt_cmd_flamegraph, mt_usage_flamegraph,
     "an interactive HTML flamegraph (or folded stacks)"},
    {"pack", mt_cmd_pack, mt_usage_pack, "compress traces written with run --no-pack"},
    {"top", mt_cmd_top, mt_usage_top, "a live view of a running program's memory"},
    {"stats", mt_cmd_stats, mt_usage_stats, "histograms of sizes and lifetimes; temporaries"},
    {"tests", mt_cmd_tests, mt_usage_tests, "per pytest test: heap peak, allocated, leaked"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fputs("usage: memtap COMMAND [ARGS]   (memtap COMMAND --help: that command alone)\n", out);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "\n%s: %s\n%s", commands[i].name, commands[i].does, commands[i].usage);
    fputs("\nhelp: this text; version: print the version\n"
          "\n"
          "Exit status: 0 ok, 1 error, 2 usage error. `run` exits as CMD did (128+N when a\n"
          "signal N killed it), 125 when memtap itself failed and CMD did not run, 126\n"
          "when CMD could not be executed, 127 when it was not found.\n"
          "The database schema is described in docs/schema.md.\n",
          out);
}

int main(int argc, char **argv)
{
    mt_argv0 = argv[0];
    if (argc < 2) {
        usage(stderr);
        return MT_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return MT_EXIT_OK;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        puts("memtap " MT_VERSION);
        return MT_EXIT_OK;
    }
    mt_error("unknown command '%s' (try: memtap help)", cmd);
    return MT_EXIT_USAGE;
}
