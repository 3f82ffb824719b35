/* run.c - `memtap run`: the launcher. Starts CMD with libmemtap.so
 * preloaded and the options in its environment, waits, and exits the way
 * CMD did (a signal death as 128+N, like a shell), adding one line on
 * stderr that says where the trace is. The child's stdin, stdout and stderr
 * are its own: the launcher never reads or writes them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "mt_trace_format.h"
#include "pack.h"
#include "db.h"
#include "load.h"
#include "run_files.h"
#include "run_follow.h"
#include "run_signals.h"
#include "report.h"
#include "util.h"

static pid_t child_pid;

/* The shim beside the binary (build tree) or in ../lib/memtap (installed). */
static int find_shim(char *out, size_t cap)
{
    char dir[PATH_MAX];
    if (mt_self_dir(dir, sizeof dir) != 0)
        return ENOENT;
    const char *env = getenv("MEMTAP_SHIM");
    if (env && *env) {
        if (env[0] != '/' || access(env, R_OK) != 0)
            return ENOENT;
        snprintf(out, cap, "%s", env);
        return 0;
    }
    if (mt_fmt(out, cap, "%s/libmemtap.so", dir) == 0 && access(out, R_OK) == 0)
        return 0;
    if (mt_fmt(out, cap, "%s/../lib/memtap/libmemtap.so", dir) != 0 || access(out, R_OK) != 0)
        return ENOENT;
    char real[PATH_MAX];
    if (realpath(out, real))
        snprintf(out, cap, "%s", real);
    return 0;
}

static int default_output(const char *cmd, pid_t pid, char *out, size_t cap)
{
    const char *base = strrchr(cmd, '/');
    base = base ? base + 1 : cmd;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, ".");
    return mt_fmt(out, cap, "%s/%s.%ld.memtap", cwd, *base ? base : "trace", (long)pid);
}

static int absolute(const char *path, char *out, size_t cap)
{
    if (path[0] == '/') {
        snprintf(out, cap, "%s", path);
        return 0;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return errno;
    return mt_fmt(out, cap, "%s/%s", cwd, path);
}

struct run_options {
    const char *output;
    int native; /* -1 default */
    int pymalloc_arenas;
    int depth, sample_ms;
    int snapshot_signal; /* 0: none */
    int no_pack;         /* leave the trace as written */
    int no_children;     /* trace the first process alone */
    int load;            /* load the trace while CMD runs (run_follow.c); -1 default */
    int live;            /* memtap top's view while CMD runs; CMD's output to a file */
    uint64_t sample_rate; /* bytes: sampling by bytes; 0 records every allocation */
    const char *sample_seed; /* decimal, as given */
    int paused;           /* recording windows: start with recording off */
    int window_signal;    /* the signal that switches recording (0: none) */
    long start_after_ms, stop_after_ms; /* 0: none */
};

/* "30s", "5m", "1h", "250ms", "1.5s" or seconds as a number -> ms; -1
 * when malformed, not above 0, or over a year. */
static long parse_duration_ms(const char *s)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !(v > 0))
        return -1;
    double unit = 1000;
    if (strcmp(end, "ms") == 0)
        unit = 1;
    else if (strcmp(end, "s") == 0 || !*end)
        unit = 1000;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        unit = 60000;
    else if (strcmp(end, "h") == 0)
        unit = 3600000;
    else
        return -1;
    double ms = v * unit;
    if (ms < 1 || ms > 366.0 * 86400000.0)
        return -1;
    return (long)ms;
}

/* "USR2", "SIGUSR2" or "12" -> 12; 0 when not a signal a program can catch. */
static int parse_signal(const char *s)
{
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    char *end;
    long n = strtol(s, &end, 10);
    if (*s && !*end)
        return n > 0 && n < NSIG && n != SIGKILL && n != SIGSTOP ? (int)n : 0;
    for (int i = 1; i < NSIG; i++) {
        const char *name = sigabbrev_np(i);
        if (name && strcasecmp(name, s) == 0)
            return i == SIGKILL || i == SIGSTOP ? 0 : i;
    }
    return 0;
}

/* An option's signal into *sig; 0, or -1 with the error printed. */
static int signal_option(const char *option, const char *s, int *sig)
{
    *sig = parse_signal(s);
    if (*sig)
        return 0;
    mt_error("run: --%s: '%s' is not a signal a program can catch", option, s);
    return -1;
}

/* name=value, or name=value<sep><old value> when it is set. */
static void prepend_env(const char *name, const char *value, char sep)
{
    char buf[PATH_MAX * 2];
    const char *old = getenv(name);
    if (old && *old)
        snprintf(buf, sizeof buf, "%s%c%s", value, sep, old);
    else
        snprintf(buf, sizeof buf, "%s", value);
    setenv(name, buf, 1);
}

static void setenv_long(const char *name, long value)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%ld", value);
    setenv(name, buf, 1);
}

/* The Python helper module (`import memtap; memtap.marker("x")`) lives in
 * python/ beside the shim; it is put on PYTHONPATH for the child. */
static void add_python_path(const char *shim)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", shim);
    char *slash = strrchr(dir, '/');
    if (!slash || mt_fmt(slash, sizeof dir - (size_t)(slash - dir), "/python") != 0)
        return;
    if (access(dir, R_OK) != 0)
        return;
    setenv("MEMTAP_PYTHON_DIR", dir, 1);
    prepend_env("PYTHONPATH", dir, ':');
}

/* run --live, in CMD's process before exec: its output to OUT.out (made
 * 0600, never over a file or through a symlink), its input from
 * /dev/null (the terminal's keys are the view's). 0, or -1 (said). */
static int live_output(const char *out)
{
    char path[PATH_MAX];
    if (mt_fmt(path, sizeof path, "%s.out", out) != 0)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || in < 0) {
        fprintf(stderr, "memtap: run: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0 || dup2(in, STDIN_FILENO) < 0)
        return -1;
    return 0;
}

static void set_child_env(const char *shim, const char *output, uint64_t session,
                          const struct run_options *o)
{
    char buf[32];
    prepend_env("LD_PRELOAD", shim, ' ');
    setenv("MEMTAP_OUTPUT", output, 1);
    snprintf(buf, sizeof buf, "%llx", (unsigned long long)session);
    setenv("MEMTAP_SESSION", buf, 1);
    setenv_long("MEMTAP_ROOT_PID", getpid());
    if (!o->no_children)
        setenv_long("MEMTAP_CHILDREN", 1);
    if (o->native >= 0)
        setenv_long("MEMTAP_NATIVE", o->native);
    if (o->pymalloc_arenas)
        setenv_long("MEMTAP_PYMALLOC_ARENAS", 1);
    if (o->depth > 0)
        setenv_long("MEMTAP_DEPTH", o->depth);
    if (o->sample_ms >= 0)
        setenv_long("MEMTAP_SAMPLE_MS", o->sample_ms);
    if (o->snapshot_signal)
        setenv_long("MEMTAP_SNAPSHOT_SIGNAL", o->snapshot_signal);
    if (o->sample_rate) {
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)o->sample_rate);
        setenv("MEMTAP_SAMPLE_RATE", buf, 1);
    }
    if (o->sample_seed)
        setenv("MEMTAP_SAMPLE_SEED", o->sample_seed, 1);
    if (o->paused)
        setenv_long("MEMTAP_PAUSED", 1);
    if (o->window_signal)
        setenv_long("MEMTAP_WINDOW_SIGNAL", o->window_signal);
    if (o->start_after_ms)
        setenv_long("MEMTAP_START_AFTER_MS", o->start_after_ms);
    if (o->stop_after_ms)
        setenv_long("MEMTAP_STOP_AFTER_MS", o->stop_after_ms);
    add_python_path(shim);
}

/* How the first process ended, as wait said, into its trace's header
 * (before packing): the shim cannot see a return from main or a signal. */
/* The command line, NUL-separated and ending "\0\0", into a header that
 * has none (the shim reads /proc/self/cmdline: a process without /proc).
 * For the first process only: CMD as run. */
static void record_cmdline(int fd, const struct mt_file_header *h, char **cmd)
{
    if (h->cmdline[0] || !cmd || !cmd[0])
        return;
    char line[MT_CMDLINE_MAX];
    size_t n = 0;
    for (int i = 0; cmd[i]; i++) {
        size_t len = strlen(cmd[i]);
        if (n + len + 2 > sizeof line)
            break;
        memcpy(line + n, cmd[i], len + 1);
        n += len + 1;
    }
    line[n++] = 0;
    if (pwrite(fd, line, n, offsetof(struct mt_file_header, cmdline)) != (ssize_t)n)
        mt_error("run: cannot record the command line: %s", strerror(errno));
}

static void record_end(const char *output, int status, char **cmd)
{
    int fd = open(output, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    struct mt_file_header h;
    if (fd < 0)
        return;
    if (pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h && memcmp(h.magic, MT_MAGIC, 8) == 0 &&
        h.version >= 7 && !(h.flags & MT_HDR_PACKED)) {
        uint32_t flags = h.flags | MT_HDR_EXIT_STATUS;
        uint32_t code = WIFSIGNALED(status) ? (uint32_t)WTERMSIG(status)
                                            : (uint32_t)WEXITSTATUS(status);
        if (WIFSIGNALED(status))
            flags |= MT_HDR_SIGNALED;
        record_cmdline(fd, &h, cmd);
        if (pwrite(fd, &code, sizeof code, offsetof(struct mt_file_header, exit_status)) !=
                (ssize_t)sizeof code ||
            pwrite(fd, &flags, sizeof flags, offsetof(struct mt_file_header, flags)) !=
                (ssize_t)sizeof flags)
            mt_error("run: %s: cannot record how the program ended: %s", output, strerror(errno));
    }
    close(fd);
}

static void report(const char *output, int status)
{
    int fd = open(output, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct mt_file_header h;
    if (fd < 0)
        return; /* CMD never started, or it was not traced: nothing to say */
    ssize_t n = pread(fd, &h, sizeof h, 0);
    close(fd);
    if (n != (ssize_t)sizeof h || memcmp(h.magic, MT_MAGIC, 8) != 0) {
        fprintf(stderr, "memtap: %s: no trace was written\n", output);
        return;
    }
    if ((h.flags & MT_HDR_CLOSED) && (h.flags & MT_HDR_STOPPED))
        fprintf(stderr,
                "memtap: trace %s is partial: tracing stopped %.3f s after the start (%s); "
                "what was recorded loads: memtap summary %s\n",
                output, (double)h.stop_ns / 1e9,
                h.stop_errno ? strerror((int)h.stop_errno) : "writer failure", output);
    else if (h.flags & MT_HDR_CLOSED)
        fprintf(stderr, "memtap: trace %s: %llu allocations; next: memtap summary %s\n", output,
                (unsigned long long)h.n_allocs, output);
    else if (WIFSIGNALED(status))
        fprintf(stderr,
                "memtap: trace %s was cut short by signal %d; what was recorded loads: "
                "memtap summary %s\n",
                output, WTERMSIG(status), output);
    else
        fprintf(stderr, "memtap: trace %s was not closed; what was recorded loads: "
                        "memtap summary %s\n",
                output, output);
}

/* The other processes' traces (RUN.d): packed when closed (one still
 * running, that outlived the first process, stays as written), counted
 * on stderr; the directory removed when no process wrote one. */
static void finish_children(const char *output, int no_pack)
{
    char dir[PATH_MAX];
    char **paths;
    size_t n;
    if (mt_fmt(dir, sizeof dir, "%s" MT_RUN_DIR_SUFFIX, output) != 0 ||
        mt_run_list(output, &paths, &n) != 0)
        return;
    unsigned traced = 0, open_still = 0;
    for (size_t i = 1; i < n; i++) { /* paths[0]: the first process's, packed already */
        struct mt_file_header h;
        if (mt_run_read_header(paths[i], &h) != 0)
            continue;
        traced++;
        if (!(h.flags & MT_HDR_CLOSED)) {
            open_still++;
            continue;
        }
        char why[512];
        if (!no_pack && !(h.flags & MT_HDR_PACKED) &&
            mt_trace_pack(paths[i], NULL, NULL, why, sizeof why) != 0)
            mt_error("run: %s stays as written, not compressed: %s", paths[i], why);
    }
    mt_run_list_free(paths, n);
    if (!traced) {
        rmdir(dir);
        return;
    }
    fprintf(stderr, "memtap: and %u other process%s of the run in %s", traced,
            traced == 1 ? "" : "es", dir);
    if (open_still)
        fprintf(stderr, " (%u not closed: killed, or still running)", open_still);
    fputc('\n', stderr);
}

const char mt_usage_run[] =
    "usage: memtap run [-o FILE] [--native|--no-native] [--pymalloc blocks|arenas]\n"
    "                  [--depth N] [--sample-ms N] [--snapshot-signal SIG] [--no-pack]\n"
    "                  [--no-children] [--load|--no-load] [--sample-rate SIZE [--sample-seed N]]\n"
    "                  [--paused] [--window-signal SIG] [--start-after T] [--stop-after T]\n"
    "                  [--live]\n"
    "                  [--] CMD [ARGS...]\n"
    "  -o, --output FILE    trace file (default: CMD.PID.memtap; never overwritten);\n"
    "                       every other process of the run writes FILE.d/PID.memtap\n"
    "  --no-children        trace CMD's process alone, not the processes it starts\n"
    "  --load               load the trace into its database while CMD runs (at a\n"
    "                       lower priority): the first report does not wait for it;\n"
    "                       the default when stderr is a terminal (--no-load: not)\n"
    "  --native             native frames too (mixed stacks for Python)\n"
    "  --no-native          no native frames\n"
    "  --pymalloc MODE      Python's small blocks: 'blocks' records each one (default);\n"
    "                       'arenas' records pymalloc's arenas instead, as malloc-level\n"
    "                       tools see them: far fewer events, less overhead\n"
    "  --depth N            frames per stack (default 128)\n"
    "  --sample-rate SIZE   sample by bytes: about one allocation recorded per SIZE\n"
    "                       allocated (e.g. 512KiB), every block of SIZE or more;\n"
    "                       reports give byte figures as unbiased estimates\n"
    "  --sample-seed N      the sampler's seed (repeatable runs; default: the clock)\n"
    "  --live               memtap top's view of CMD on this terminal while it runs\n"
    "                       (CMD's output goes to FILE.out, its input is /dev/null)\n"
    "  --paused             record no allocation until recording is switched on: by\n"
    "                       memtap.start() (Python), mt_window_start() (memtap.h),\n"
    "                       --window-signal or --start-after\n"
    "  --window-signal SIG  each SIG sent to CMD switches recording off or on\n"
    "  --start-after T      switch recording on T after the start (30s, 5m, 250ms)\n"
    "  --stop-after T       switch it off T after the start\n"
    "  --sample-ms N        RSS sample interval in ms (default 10, 0 = off)\n"
    "  --snapshot-signal SIG  a marker snapshot-N each time CMD gets SIG (e.g. USR2)\n"
    "  --no-pack            leave the trace as written (default: compressed once CMD\n"
    "                       is done, 1.2-17x smaller; every command reads both)\n";

int mt_cmd_run(int argc, char **argv)
{
    struct run_options o = {.native = -1, .sample_ms = -1, .load = -1};
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"native", no_argument, NULL, 'N'},
        {"no-native", no_argument, NULL, 'n'},    {"depth", required_argument, NULL, 'd'},
        {"sample-ms", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
        {"snapshot-signal", required_argument, NULL, 'S'},
        {"pymalloc", required_argument, NULL, 'P'},
        {"no-pack", no_argument, NULL, 'K'},
        {"no-children", no_argument, NULL, 'C'},
        {"load", no_argument, NULL, 'L'},
        {"no-load", no_argument, NULL, 'l'},
        {"sample-rate", required_argument, NULL, 'R'},
        {"sample-seed", required_argument, NULL, 'E'},
        {"paused", no_argument, NULL, 'Z'},
        {"live", no_argument, NULL, 'V'},
        {"window-signal", required_argument, NULL, 'W'},
        {"start-after", required_argument, NULL, 'A'},
        {"stop-after", required_argument, NULL, 'B'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o.output = optarg; break;
        case 'N': o.native = 1; break;
        case 'K': o.no_pack = 1; break;
        case 'C': o.no_children = 1; break;
        case 'L': o.load = 1; break;
        case 'l': o.load = 0; break;
        case 'n': o.native = 0; break;
        case 'P':
            if (strcmp(optarg, "blocks") != 0 && strcmp(optarg, "arenas") != 0) {
                mt_error("run: --pymalloc wants 'blocks' or 'arenas', not '%s'", optarg);
                return MT_EXIT_RUN;
            }
            o.pymalloc_arenas = strcmp(optarg, "arenas") == 0;
            break;
        case 'd':
            o.depth = atoi(optarg);
            if (o.depth < 1 || o.depth > 1024) {
                mt_error("run: --depth wants a number from 1 to 1024");
                return MT_EXIT_RUN;
            }
            break;
        case 's':
            o.sample_ms = atoi(optarg);
            if (o.sample_ms < 0 || o.sample_ms > 60000) {
                mt_error("run: --sample-ms wants a number from 0 to 60000");
                return MT_EXIT_RUN;
            }
            break;
        case 'R':
            if (mt_parse_size(optarg, &o.sample_rate) != 0 || o.sample_rate == 0) {
                mt_error("run: --sample-rate wants a size above 0 (e.g. 512KiB), not '%s'",
                         optarg);
                return MT_EXIT_RUN;
            }
            break;
        case 'E': {
            char *end = NULL;
            errno = 0;
            (void)strtoull(optarg, &end, 10);
            if (!*optarg || *end || errno || *optarg == '-') {
                mt_error("run: --sample-seed wants a whole number, not '%s'", optarg);
                return MT_EXIT_RUN;
            }
            o.sample_seed = optarg;
            break;
        }
        case 'Z': o.paused = 1; break;
        case 'V': o.live = 1; break;
        case 'W':
            if (signal_option("window-signal", optarg, &o.window_signal) != 0)
                return MT_EXIT_RUN;
            break;
        case 'A':
        case 'B': {
            long ms = parse_duration_ms(optarg);
            if (ms < 0) {
                mt_error("run: --%s wants a duration such as 30s, 5m or 250ms, not '%s'",
                         c == 'A' ? "start-after" : "stop-after", optarg);
                return MT_EXIT_RUN;
            }
            *(c == 'A' ? &o.start_after_ms : &o.stop_after_ms) = ms;
            break;
        }
        case 'S':
            if (signal_option("snapshot-signal", optarg, &o.snapshot_signal) != 0)
                return MT_EXIT_RUN;
            break;
        default: return mt_usage(mt_usage_run, c == 'h') ? MT_EXIT_RUN : MT_EXIT_OK;
        }
    }
    if (o.live && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
        mt_error("run: --live needs a terminal (memtap top --batch TRACE prints the view as text)");
        return MT_EXIT_RUN;
    }
    if (o.window_signal && o.window_signal == o.snapshot_signal) {
        mt_error("run: --window-signal and --snapshot-signal want two different signals");
        return MT_EXIT_RUN;
    }
    if (optind >= argc)
        return mt_usage(mt_usage_run, 0) ? MT_EXIT_RUN : MT_EXIT_OK;
    /* Someone at a terminal reads a report next: load while CMD runs. */
    if (o.load < 0)
        o.load = isatty(STDERR_FILENO);
    char **cmd = argv + optind;
    char shim[PATH_MAX];
    if (find_shim(shim, sizeof shim) != 0) {
        mt_error("run: cannot find libmemtap.so (looked beside memtap and in ../lib/memtap)");
        return MT_EXIT_RUN;
    }
    char output[PATH_MAX] = "";
    if (o.output) {
        if (absolute(o.output, output, sizeof output) != 0) {
            mt_error("run: %s: cannot resolve path", o.output);
            return MT_EXIT_RUN;
        }
        if (mt_path_exists(output)) {
            mt_error("run: %s: already exists; memtap never overwrites a trace", o.output);
            return MT_EXIT_RUN;
        }
        char dir[PATH_MAX];
        if (!o.no_children && mt_fmt(dir, sizeof dir, "%s" MT_RUN_DIR_SUFFIX, output) == 0 &&
            mt_path_exists(dir)) {
            mt_error("run: %s: already exists; memtap never overwrites a trace", dir);
            return MT_EXIT_RUN;
        }
    }
    uint64_t session = 0;
    if (getrandom(&session, sizeof session, 0) != (ssize_t)sizeof session || session == 0)
        session = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL);

    fflush(NULL);
    mt_run_signals_prepare();
    child_pid = fork();
    if (child_pid < 0) {
        mt_error("run: fork: %s", strerror(errno));
        return MT_EXIT_RUN;
    }
    if (child_pid == 0) {
        mt_run_signals_child();
        char mine[PATH_MAX];
        if (!o.output && default_output(cmd[0], getpid(), mine, sizeof mine) != 0) {
            fprintf(stderr, "memtap: run: the current directory's path is too long\n");
            _exit(126);
        }
        const char *out = o.output ? output : mine;
        char dir[PATH_MAX];
        int traced = 1;
        if (!o.no_children && (mt_fmt(dir, sizeof dir, "%s" MT_RUN_DIR_SUFFIX, out) != 0 ||
                               mkdir(dir, 0700) != 0)) {
            /* CMD runs all the same, as it would without memtap */
            fprintf(stderr, "memtap: not tracing: cannot create %s" MT_RUN_DIR_SUFFIX ": %s\n",
                    out, strerror(errno));
            traced = 0;
        }
        if (o.live && live_output(out) != 0)
            _exit(MT_EXIT_RUN);
        if (traced)
            set_child_env(shim, out, session, &o);
        execvp(cmd[0], cmd);
        int e = errno;
        if (e == ENOENT)
            fprintf(stderr, "memtap: %s: command not found\n", cmd[0]);
        else
            fprintf(stderr, "memtap: %s: %s\n", cmd[0], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    if (!o.output)
        (void)default_output(cmd[0], child_pid, output, sizeof output); /* checked in child */

    mt_run_signals_parent(child_pid);
    struct mt_follower follower = {0};
    char db_path[PATH_MAX + 8];
    mt_db_path_for(output, db_path, sizeof db_path);
    if (o.load && mt_follow_start(&follower, output, db_path) != 0)
        mt_warn("run: no process to load the trace with while CMD runs; the first report loads it");
    struct mt_follower viewer = {0};
    char note[PATH_MAX + 64];
    if (o.live && (mt_fmt(note, sizeof note, "the program's output: %s.out", output) != 0 ||
                   mt_view_start(&viewer, output, note) != 0))
        mt_warn("run: --live: no view (its output goes to %s.out)", output);
    int status = 0;
    int rc = mt_run_wait(child_pid, &status);
    if (rc) {
        mt_error("run: waitpid: %s", strerror(rc));
        mt_follow_finish(&follower);
        mt_follow_finish(&viewer);
        return MT_EXIT_RUN;
    }
    int exec_failed = WIFEXITED(status) && (WEXITSTATUS(status) == 127 || WEXITSTATUS(status) == 126)
                      && !mt_path_exists(output);
    if (!exec_failed)
        record_end(output, status, cmd);
    mt_follow_stop(&follower); /* it finishes while the trace is packed */
    mt_follow_stop(&viewer);   /* it shows the end until the user quits */
    if (!exec_failed && !o.no_pack && mt_path_exists(output)) {
        char why[512];
        if (mt_trace_pack(output, NULL, NULL, why, sizeof why) != 0)
            mt_error("run: the trace stays as written, not compressed: %s", why);
    }
    int loaded = mt_follow_finish(&follower);
    mt_follow_finish(&viewer);
    if (!exec_failed)
        report(output, status);
    if (!o.no_children)
        finish_children(output, o.no_pack);
    /* the database of --load: the packed trace's, and the run's tree in it */
    if (loaded && mt_load_mark_current(db_path, output) == MT_EXIT_OK)
        (void)mt_load_tree(output, db_path, 1, 0);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
