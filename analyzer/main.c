/* main.c - the `memtap` command line: dispatch to one command per file. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "load.h"
#include "util.h"

#define MT_VERSION "0.1.0"

static void usage(FILE *out)
{
    fputs("usage: memtap COMMAND [ARGS]\n"
          "\n"
          "  run [-o FILE] [--native|--no-native] [--] CMD [ARGS...]\n"
          "                       trace every allocation of CMD into FILE\n"
          "  load TRACE [-o DB] [--force]\n"
          "                       turn a trace into a SQLite database\n"
          "  summary TRACE|DB [--json] [--top N]\n"
          "                       duration, counts, heap and RSS peaks, top sites\n"
          "  peak TRACE|DB [--by line|function|file|stack] [--top N] [--native] [--json]\n"
          "                       what was live at the heap peak (adds up to the peak)\n"
          "  leaks TRACE|DB [--top N] [--native] [--json]\n"
          "                       unfreed at exit, and sites that grew steadily\n"
          "  diff TRACE|DB --from A --to B [--top N] [--native] [--json]\n"
          "                       what changed between two points (markers, times,\n"
          "                       start, peak, end)\n"
          "  check TRACE|DB [--max-peak SIZE] [--max-leak SIZE] [--max-rss SIZE]\n"
          "                       exit 1 when a memory budget is broken (for CI)\n"
          "  flamegraph TRACE|DB [-o FILE] [--view peak|leaks|diff|total] [--from A --to B]\n"
          "             [--hide-native] [--format html|folded]\n"
          "                       an interactive HTML flamegraph (or folded stacks)\n"
          "  help                 this text\n"
          "  version              print the version\n"
          "\n"
          "Exit status: 0 ok, 1 error, 2 usage error; `run` exits as CMD did.\n"
          "The database schema is described in docs/schema.md.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return MT_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } commands[] = {{"run", mt_cmd_run},     {"load", mt_cmd_load}, {"summary", mt_cmd_summary},
                    {"peak", mt_cmd_peak},   {"leaks", mt_cmd_leaks}, {"diff", mt_cmd_diff},
                    {"check", mt_cmd_check}, {"flamegraph", mt_cmd_flamegraph}};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
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
