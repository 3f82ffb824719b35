/* prog_vfork.c - leaving by _exit, twice. A vfork child shares the parent's
 * memory until it execs or exits, and leaves by _exit (posix_spawn-style
 * code does on a failed exec): memtap's _exit hook must not close the
 * parent's trace from it. The parent then allocates 3 x 4000 bytes in
 * after_vfork, keeps them, and itself leaves by _exit(5): its trace is
 * closed there. Exits 1 if the child did not exit 7. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) static void *after_vfork(size_t n)
{
    return malloc(n);
}

int main(void)
{
    pid_t pid = vfork();
    if (pid == 0)
        _exit(7);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 7)
        return 1;
    void *volatile keep[3];
    for (int i = 0; i < 3; i++)
        keep[i] = after_vfork(4000);
    (void)keep;
    _exit(5);
}
