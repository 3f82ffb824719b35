/* run_follow.c - `memtap run --load`: a process of the launcher's loads the
 * trace into its database while CMD writes it (load.h, mt_load_follow), so
 * that the first answer after CMD ends does not wait for a whole load.
 *
 * The follower runs at a lower priority (nice 10): CMD's own work comes
 * first, and the follower takes what the machine has left. It learns that
 * CMD is gone from a pipe the launcher closes once it has reaped CMD and
 * written its exit status into the trace; then it reads the rest and
 * writes the database. When CMD exec's a program that writes the trace
 * afresh, the follower starts over on the new trace (a read of a page the
 * truncation took away ends the try with SIGBUS: each try runs in a
 * process of its own, and the follower starts over the same way), and
 * once more after CMD ends if the exec came late.
 * Whatever goes wrong, the launcher goes on without the database: the
 * first report loads the trace as without --load.
 */
#define _GNU_SOURCE
#include "run_follow.h"

#include <errno.h>
#include <fcntl.h>
#include <ncurses.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "load.h"
#include "util.h"

#define FOLLOW_NICE 10

static int still_running(void *ctx)
{
    struct pollfd p = {*(int *)ctx, POLLIN, 0};
    return poll(&p, 1, 0) == 0;
}

static void on_bus(int sig)
{
    (void)sig;
    _exit(MT_EXIT_CANCELED);
}

/* One try at the load, in a process of its own, so that a SIGBUS (a page
 * an exec's truncation took away) ends only the try. A try that did not
 * finish leaves no database, nor its temporary file (load.c names it
 * DB.tmp.PID). Returns the load's exit status, or MT_EXIT_CANCELED. */
static int load_try(const char *trace, const char *db, int done_fd)
{
    pid_t pid = fork();
    if (pid < 0)
        return MT_EXIT_FAIL;
    if (pid == 0)
        _exit(mt_load_follow(trace, db, still_running, &done_fd));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return MT_EXIT_FAIL;
    if (WIFEXITED(status) && WEXITSTATUS(status) != MT_EXIT_CANCELED)
        return WEXITSTATUS(status);
    char tmp[4096 + 32];
    if (mt_fmt(tmp, sizeof tmp, "%s.tmp.%ld", db, (long)pid) == 0)
        unlink(tmp);
    return MT_EXIT_CANCELED;
}

static void follower_main(const char *trace, const char *db, int done_fd)
{
    /* the launcher's handlers pass signals on to CMD: not this process's */
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    signal(SIGINT, SIG_IGN); /* ^C ends CMD; the follower then finishes */
    signal(SIGQUIT, SIG_IGN);
    signal(SIGBUS, on_bus);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (setpriority(PRIO_PROCESS, 0, FOLLOW_NICE) != 0)
        errno = 0;
    /* A try begun while CMD ran may be cut short by an exec (the trace is
     * written afresh); the try after it then reads the new trace, or, once
     * CMD is gone, the whole trace at rest. Only a try begun after CMD
     * ended is the last. */
    for (;;) {
        int cmd_ran = still_running(&done_fd);
        int rc = load_try(trace, db, done_fd);
        if (rc != MT_EXIT_CANCELED || !cmd_ran)
            _exit(rc);
        struct timespec nap = {0, 2000000};
        nanosleep(&nap, NULL);
    }
}

static void on_bus_viewing(int sig)
{
    (void)sig;
    endwin(); /* the terminal back as it was: this process ends here */
    _exit(MT_EXIT_CANCELED);
}

static void viewer_main(const char *trace, const char *note, int done_fd)
{
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    signal(SIGINT, SIG_IGN); /* ^C is CMD's; the view then shows its end */
    signal(SIGQUIT, SIG_IGN);
    signal(SIGBUS, on_bus_viewing);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    _exit(mt_top_follow(trace, 0, 1.0, 0, done_fd, note));
}

static pid_t start(const char *trace, const char *db, const char *note, int *done_fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        if (note)
            viewer_main(trace, note, fds[0]);
        follower_main(trace, db, fds[0]);
    }
    close(fds[0]);
    if (pid < 0) {
        close(fds[1]);
        return -1;
    }
    *done_fd = fds[1];
    return pid;
}

int mt_follow_start(struct mt_follower *f, const char *trace, const char *db)
{
    f->trace = trace;
    f->db = db;
    f->pid = start(trace, db, NULL, &f->done_fd);
    return f->pid > 0 ? 0 : errno;
}

int mt_view_start(struct mt_follower *f, const char *trace, const char *note)
{
    f->trace = trace;
    f->db = NULL;
    f->pid = start(trace, NULL, note, &f->done_fd);
    return f->pid > 0 ? 0 : errno;
}

void mt_follow_stop(struct mt_follower *f)
{
    if (f->pid > 0 && f->done_fd >= 0)
        close(f->done_fd);
    f->done_fd = -1;
}

int mt_follow_finish(struct mt_follower *f)
{
    if (f->pid <= 0)
        return 0;
    mt_follow_stop(f);
    int status = 0;
    while (waitpid(f->pid, &status, 0) < 0)
        if (errno != EINTR)
            return 0;
    f->pid = 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == MT_EXIT_OK;
}
