/* prog_forkfail.c - the program's own fork or pthread_create fails, as the
 * kernel makes it fail (forkfail.sh). The program installs a seccomp
 * filter on itself: in mode "fork", clone without CLONE_THREAD, fork and
 * vfork fail with EAGAIN; in mode "thread", clone with CLONE_THREAD does;
 * clone3 gives ENOSYS in both, so that glibc falls back to clone, whose
 * flags a filter can read. Then:
 *   100 x 1000 bytes (site before_failure), the failing call (its error
 *   printed), marker "after-failure", 300 ms with no allocation,
 *   100 x 2000 bytes (site after_failure), everything freed, exit 7.
 * Exits 77 where no seccomp filter can be installed (not x86-64, or
 * seccomp refused). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "memtap.h"

static void *blocks[200];

__attribute__((noinline)) static void before_failure(void)
{
    for (int i = 0; i < 100; i++)
        blocks[i] = malloc(1000);
}

__attribute__((noinline)) static void after_failure(void)
{
    for (int i = 100; i < 200; i++)
        blocks[i] = malloc(2000);
}

static void *thread_main(void *arg)
{
    return arg;
}

/* clone(2)'s flags are its first argument on x86-64. */
static int deny_clones(int threads)
{
#if defined(__x86_64__)
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fork, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_vfork, 0, 2),
        BPF_STMT(BPF_RET | BPF_K, threads ? SECCOMP_RET_ALLOW : SECCOMP_RET_ERRNO | EAGAIN),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), /* not reached */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        /* CLONE_THREAD set: a thread */
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, threads ? 0 : 1, threads ? 1 : 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAGAIN),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return -1;
    return 0;
#else
    (void)threads;
    return -1;
#endif
}

int main(int argc, char **argv)
{
    int threads = argc > 1 && strcmp(argv[1], "thread") == 0;
    if (deny_clones(threads) != 0) {
        printf("no seccomp filter: %s\n", strerror(errno));
        return 77;
    }
    before_failure();
    if (threads) {
        pthread_t t;
        int rc = pthread_create(&t, NULL, thread_main, NULL);
        printf("pthread_create: %s\n", rc ? strerror(rc) : "started");
        if (!rc)
            pthread_join(t, NULL);
    } else {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        printf("fork: %s\n", pid < 0 ? strerror(errno) : "started");
    }
    fflush(stdout);
    mt_marker_if_traced("after-failure");
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    after_failure();
    for (int i = 0; i < 200; i++)
        free(blocks[i]);
    printf("done\n");
    return 7;
}
