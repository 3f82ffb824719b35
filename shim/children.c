/* children.c - how the process's children ended: the wait family.
 *
 * A child cannot say that a signal killed it, nor (when it returns from
 * main, inside libc) with what status it exited; its parent learns both
 * when it reaps it. So each call that reaps a child (waitpid, wait, wait3,
 * wait4, waitid) records the child's pid and wait status in this
 * process's trace, after the real call, with errno as the call left it.
 * The loader gives each process of a run the status its parent recorded.
 *
 * Often called from a SIGCHLD handler: the record is a hook's record
 * (mt_enter: nothing when tracing is off or this thread is inside a hook).
 * The real functions are looked up at start-up (mt_children_init, under
 * the constructor's guard: dlsym allocates and frees, and a free of what
 * libc allocated before tracing would be an unmatched free in the
 * program's trace), or at the first call of each before that (two threads
 * racing store the same pointer).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mt_shim.h"

static pid_t (*real_waitpid)(pid_t, int *, int);
static pid_t (*real_wait)(int *);
static pid_t (*real_wait3)(int *, int, struct rusage *);
static pid_t (*real_wait4)(pid_t, int *, int, struct rusage *);
static int (*real_waitid)(idtype_t, id_t, siginfo_t *, int);

#define REAL(name, type)                                                                     \
    if (!__atomic_load_n(&real_##name, __ATOMIC_ACQUIRE))                                    \
    __atomic_store_n(&real_##name, (type)dlsym(RTLD_NEXT, #name), __ATOMIC_RELEASE)

void mt_children_init(void)
{
    REAL(waitpid, pid_t(*)(pid_t, int *, int));
    REAL(wait, pid_t(*)(int *));
    REAL(wait3, pid_t(*)(int *, int, struct rusage *));
    REAL(wait4, pid_t(*)(pid_t, int *, int, struct rusage *));
    REAL(waitid, int (*)(idtype_t, id_t, siginfo_t *, int));
}

static void note(pid_t pid, int status)
{
    if (pid <= 0 || !(WIFEXITED(status) || WIFSIGNALED(status)))
        return;
    struct mt_thread *t = mt_enter();
    if (!t)
        return;
    int saved = errno;
    mt_record_child_exit(t, (uint64_t)pid, (uint32_t)status);
    errno = saved;
    mt_leave(t);
}

__attribute__((visibility("default"))) pid_t waitpid(pid_t pid, int *status, int options)
{
    typedef pid_t (*fn)(pid_t, int *, int);
    REAL(waitpid, fn);
    int s = 0;
    pid_t r = real_waitpid ? real_waitpid(pid, &s, options)
                           : (pid_t)syscall(SYS_wait4, pid, &s, options, NULL);
    if (status)
        *status = s;
    note(r, s);
    return r;
}

__attribute__((visibility("default"))) pid_t wait(int *status)
{
    typedef pid_t (*fn)(int *);
    REAL(wait, fn);
    int s = 0;
    pid_t r = real_wait ? real_wait(&s) : (pid_t)syscall(SYS_wait4, -1, &s, 0, NULL);
    if (status)
        *status = s;
    note(r, s);
    return r;
}

__attribute__((visibility("default"))) pid_t wait3(int *status, int options, struct rusage *ru)
{
    typedef pid_t (*fn)(int *, int, struct rusage *);
    REAL(wait3, fn);
    int s = 0;
    pid_t r = real_wait3 ? real_wait3(&s, options, ru)
                         : (pid_t)syscall(SYS_wait4, -1, &s, options, ru);
    if (status)
        *status = s;
    note(r, s);
    return r;
}

__attribute__((visibility("default"))) pid_t wait4(pid_t pid, int *status, int options,
                                                   struct rusage *ru)
{
    typedef pid_t (*fn)(pid_t, int *, int, struct rusage *);
    REAL(wait4, fn);
    int s = 0;
    pid_t r = real_wait4 ? real_wait4(pid, &s, options, ru)
                         : (pid_t)syscall(SYS_wait4, pid, &s, options, ru);
    if (status)
        *status = s;
    note(r, s);
    return r;
}

/* waitid reports by siginfo: made back into a wait status. With WNOWAIT
 * the child is only looked at; its status is the same when it is reaped. */
__attribute__((visibility("default"))) int waitid(idtype_t idtype, id_t id, siginfo_t *info,
                                                  int options)
{
    typedef int (*fn)(idtype_t, id_t, siginfo_t *, int);
    REAL(waitid, fn);
    int r = real_waitid ? real_waitid(idtype, id, info, options)
                        : (int)syscall(SYS_waitid, idtype, id, info, options, NULL);
    if (r == 0 && info && info->si_pid > 0) {
        if (info->si_code == CLD_EXITED)
            note(info->si_pid, (info->si_status & 0xff) << 8);
        else if (info->si_code == CLD_KILLED || info->si_code == CLD_DUMPED)
            note(info->si_pid, info->si_status & 0x7f);
    }
    return r;
}
