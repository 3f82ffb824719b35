/* prog_tree - a process tree with known heaps (process_tree.sh).
 *
 * The parent keeps 100 blocks of 1000 bytes (parent_keep) and forks a
 * child. The child allocates 6 blocks of 10000 (child_own), then frees
 * half of what it inherited (the parent's blocks 0, 2, 4, ...), forks a
 * grandchild and leaves by exit(3). The grandchild inherits the rest and
 * leaks 5 blocks of 1000 (grand_leak) before _exit(0). The parent waits
 * for the child and returns 0. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *kept[100];
static void *own[6];

__attribute__((noinline)) static void parent_keep(void)
{
    for (int i = 0; i < 100; i++)
        kept[i] = malloc(1000);
}

__attribute__((noinline)) static void child_own(void)
{
    for (int i = 0; i < 6; i++)
        own[i] = malloc(10000);
}

__attribute__((noinline)) static void grand_leak(void)
{
    for (int i = 0; i < 5; i++)
        own[i] = malloc(1000);
}

int main(void)
{
    parent_keep();
    pid_t child = fork();
    if (child == 0) {
        child_own();
        for (int i = 0; i < 100; i += 2)
            free(kept[i]);
        pid_t grand = fork();
        if (grand == 0) {
            grand_leak();
            _exit(0);
        }
        waitpid(grand, NULL, 0);
        exit(3);
    }
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 3 ? 0 : 1;
}
