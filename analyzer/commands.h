/* commands.h - one entry point per `memtap` command. Each takes the
 * command's own argv (argv[0] is the command name) and returns the exit
 * status: 0 ok, 1 failure, 2 usage error. */
#ifndef MT_COMMANDS_H
#define MT_COMMANDS_H

int mt_cmd_run(int argc, char **argv);
int mt_cmd_load(int argc, char **argv);
int mt_cmd_summary(int argc, char **argv);
int mt_cmd_peak(int argc, char **argv);
int mt_cmd_leaks(int argc, char **argv);
int mt_cmd_diff(int argc, char **argv);
int mt_cmd_check(int argc, char **argv);
int mt_cmd_flamegraph(int argc, char **argv);
int mt_cmd_pack(int argc, char **argv);
int mt_cmd_top(int argc, char **argv);
int mt_cmd_tests(int argc, char **argv);
int mt_cmd_stats(int argc, char **argv);

/* `memtap top`'s view of the trace at path until its program ends and the
 * user quits (top.c); with done_fd >= 0 the program is gone once done_fd
 * reads end of file (run --live); note: a line shown under the title, or
 * NULL. Returns an exit status. */
int mt_top_follow(const char *path, int batch, double interval, int top_n, int done_fd,
                  const char *note);

/* Each command's usage, every option it takes: printed by the command for
 * --help or a usage mistake, and by `memtap help` (main.c). */
extern const char mt_usage_run[], mt_usage_load[], mt_usage_summary[], mt_usage_peak[],
    mt_usage_leaks[], mt_usage_diff[], mt_usage_check[], mt_usage_flamegraph[],
    mt_usage_pack[], mt_usage_top[], mt_usage_tests[], mt_usage_stats[];

#endif
