/* run_signals.c - the launcher's signals (run_signals.h).
 *
 * With a controlling terminal, CMD stays in the launcher's process group,
 * so that job control is the shell's as untraced: ^C, ^\ and ^Z reach CMD
 * and the launcher together, `fg` continues both, and CMD keeps the
 * terminal's foreground (a pipeline's `| less` still reads it). A signal the
 * kernel sent (the terminal's) or that a process of that group sent reached
 * CMD already and is not passed on; one sent from outside the group is
 * (kill PID of the launcher). Job control's own signals keep their default
 * action in the launcher: it stops and continues with CMD.
 *
 * With none (a pipe, a service, CI), CMD gets a process group of its own,
 * and every signal the launcher gets, alone or with its group (a `kill --
 * -PGID` or `timeout`), is passed on: there is no job control to keep.
 *
 * Never passed on: SIGKILL and SIGSTOP (they cannot be caught), SIGCHLD
 * (CMD ended), SIGCONT, SIGPIPE (a write of the launcher's to a closed
 * stderr; ignored, so that the launcher lives to report), and the faults
 * (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS), a bug of the
 * launcher's and no message for CMD.
 */
#define _GNU_SOURCE
#include "run_signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child_pid;
static int job_control; /* a controlling terminal: CMD in the launcher's group */
static sigset_t passed; /* the signals passed on */
static sigset_t old_mask;

static int is_passed(int sig)
{
    switch (sig) {
    case SIGKILL:
    case SIGSTOP:
    case SIGCHLD:
    case SIGCONT:
    case SIGPIPE:
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
    case SIGTRAP:
    case SIGSYS:
        return 0;
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
        return !job_control;
    default:
        return 1;
    }
}

/* With job control: did CMD get sig already? Yes if the kernel sent it (the
 * terminal, to the foreground group), or a process of the group did. */
static int reached_cmd(const siginfo_t *si)
{
    if (!job_control)
        return 0;
    if (si->si_code != SI_USER && si->si_code != SI_QUEUE && si->si_code != SI_TKILL)
        return 1;
    if (si->si_pid == 0)
        return 1;
    pid_t g = getpgid(si->si_pid);
    return g == getpgrp();
}

static void pass_on(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    int saved = errno;
    if (child_pid > 0 && !reached_cmd(si))
        kill(child_pid, sig);
    errno = saved;
}

void mt_run_signals_prepare(void)
{
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    job_control = tty >= 0;
    if (tty >= 0)
        close(tty);
    sigemptyset(&passed);
    for (int sig = 1; sig < NSIG; sig++)
        if (is_passed(sig))
            sigaddset(&passed, sig); /* fails, harmlessly, for glibc's own */
    sigprocmask(SIG_BLOCK, &passed, &old_mask);
}

void mt_run_signals_child(void)
{
    if (!job_control)
        setpgid(0, 0);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
}

void mt_run_signals_parent(pid_t child)
{
    child_pid = child;
    if (!job_control)
        setpgid(child, child); /* both sides do it: whichever runs first */
    struct sigaction on = {.sa_sigaction = pass_on, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigfillset(&on.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&passed, sig) == 1)
            sigaction(sig, &on, NULL);
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigaction(SIGPIPE, &ign, NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
}

int mt_run_wait(pid_t child, int *status)
{
    while (waitpid(child, status, 0) < 0)
        if (errno != EINTR)
            return errno;
    return 0;
}
