/* prog_manystacks.c - 2^depth distinct native stacks (default depth 19:
 * 524,288), one allocation each: every path of `depth` calls, each through
 * left() or right(), ends in leaf(), which allocates 16 bytes and frees
 * them. The stacks' trie has over two million nodes and the leaf table
 * half a million entries, more than memtap's first table generations
 * hold (stacks.c), so the tables must grow for every stack to be whole.
 *
 * prog_manystacks DEPTH THREADS: the paths shared among THREADS threads
 * (path p by thread p % THREADS), all at once, so the tables grow while
 * other threads add to them. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

static volatile unsigned calls;

static void step(int depth, unsigned path);

__attribute__((noinline)) static void leaf(void)
{
    void *volatile block = malloc(16); /* volatile: the pair stays */
    free(block);
}

/* The calls after step() keep it from being a tail call: each frame stays. */
__attribute__((noinline)) static void left(int depth, unsigned path)
{
    step(depth, path);
    calls++;
}

__attribute__((noinline)) static void right(int depth, unsigned path)
{
    step(depth, path);
    calls++;
}

__attribute__((noinline)) static void step(int depth, unsigned path)
{
    if (depth == 0)
        leaf();
    else if (path & 1)
        left(depth - 1, path >> 1);
    else
        right(depth - 1, path >> 1);
}

static int depth = 19, threads = 1;

static void *walk_paths(void *first)
{
    for (unsigned path = (unsigned)(uintptr_t)first; path < 1u << depth; path += threads)
        step(depth, path);
    return NULL;
}

int main(int argc, char **argv)
{
    depth = argc > 1 ? atoi(argv[1]) : 19;
    threads = argc > 2 ? atoi(argv[2]) : 1;
    if (depth < 1 || depth > 24 || threads < 1 || threads > 64)
        return 2;
    pthread_t tid[64];
    for (int k = 1; k < threads; k++)
        if (pthread_create(&tid[k], NULL, walk_paths, (void *)(uintptr_t)k) != 0)
            return 1;
    walk_paths(0);
    for (int k = 1; k < threads; k++)
        pthread_join(tid[k], NULL);
    return 0;
}
