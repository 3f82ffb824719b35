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
          "                       duration, counts, heap peak and its top sites\n"
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
    if (strcmp(cmd, "run") == 0)
        return mt_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "load") == 0)
        return mt_cmd_load(argc - 1, argv + 1);
    if (strcmp(cmd, "summary") == 0)
        return mt_cmd_summary(argc - 1, argv + 1);
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
