/* prog_manystacks.c - 2^depth distinct native stacks (default depth 19:
 * 524,288), one allocation each: every path of `depth` calls, each through
 * left() or right(), ends in leaf(), which allocates 16 bytes and frees
 * them. The stacks' trie has over two million nodes and the leaf table
 * half a million entries, more than memtap's first table generations
 * hold (stacks.c), so the tables must grow for every stack to be whole. */
#include <stdlib.h>

static void *volatile sink;
static volatile unsigned calls;

static void step(int depth, unsigned path);

__attribute__((noinline)) static void leaf(void)
{
    sink = malloc(16);
    free(sink);
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

int main(int argc, char **argv)
{
    int depth = argc > 1 ? atoi(argv[1]) : 19;
    if (depth < 1 || depth > 24)
        return 2;
    for (unsigned path = 0; path < 1u << depth; path++)
        step(depth, path);
    return 0;
}
