/* prog_fork - allocates, forks a child that allocates a lot (in
 * child_work), then allocates again in the parent (parent_after). The
 * parent's trace must hold parent_before and parent_after and nothing of
 * the child. Exits with the child's status + 10 to check it is passed on. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) static void parent_before(void)
{
    for (int i = 0; i < 100; i++)
        free(malloc(100));
}

__attribute__((noinline)) static void child_work(void)
{
    for (int i = 0; i < 100000; i++)
        free(malloc(50));
}

__attribute__((noinline)) static void parent_after(void)
{
    for (int i = 0; i < 200; i++)
        free(malloc(200));
}

int main(void)
{
    parent_before();
    pid_t pid = fork();
    if (pid == 0) {
        child_work();
        _exit(5);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    parent_after();
    return WIFEXITED(status) ? WEXITSTATUS(status) + 10 : 1;
}
