/* prog_unwind.c - allocations from stacks of every shape the native walker
 * meets, for unwind.sh to compare memtap's fast walker with libunwind on:
 * frames with and without a frame pointer, deep recursion (past the depth
 * cap), variable-length arrays, a realigned stack (a CFA given by an
 * expression: the fast walker must hand over to libunwind), a libc callback
 * (qsort), a signal handler, a tail call, another thread, and dlclose
 * (which empties the fast walker's rules). And twins: two callers with
 * frames of the same size calling the same chain, taken in turns, so that
 * the stack differs from the walker's memo of the last walk only in one
 * return address some frames up (the walker must see it).
 * Usage: prog_unwind ROUNDS. Prints the number of allocations it made. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile unsigned long count;
static void *volatile sink;

static void keep(void *p)
{
    sink = p;
    free(p);
    count++;
}

__attribute__((noinline, optimize("omit-frame-pointer"))) static void leaf_nofp(size_t n)
{
    keep(malloc(n));
    keep(calloc(1, n));
}

__attribute__((noinline, optimize("no-omit-frame-pointer"))) static void leaf_fp(size_t n)
{
    void *p = malloc(n);
    p = realloc(p, n * 2);
    sink = p;
    free(p);
    count += 2;
}

__attribute__((noinline, optimize("omit-frame-pointer"))) static int recurse(int depth, int total)
{
    if (depth == total) {
        leaf_nofp(24);
        return depth;
    }
    int r = recurse(depth + 1, total);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
    return r;
}

__attribute__((noinline)) static void with_vla(size_t n)
{
    char buf[n];
    memset(buf, 1, n);
    sink = buf;
    leaf_fp(n);
}

/* Over-aligned locals and a variable-length array: gcc realigns the stack
 * through r10 and describes the CFA with an expression (the fast walker
 * must hand this stack to libunwind). */
__attribute__((noinline)) static void realigned(size_t n)
{
    char buf[64] __attribute__((aligned(64)));
    char vla[n];
    memset(buf, 2, sizeof buf);
    memset(vla, 3, n);
    sink = buf;
    sink = vla;
    keep(malloc(n));
}

static int compare_allocating(const void *a, const void *b)
{
    keep(malloc(48));
    return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) static void through_qsort(void)
{
    int v[8] = {5, 3, 7, 1, 8, 2, 6, 4};
    qsort(v, 8, sizeof v[0], compare_allocating);
}

/* The chain the twins share: one frame with a frame pointer, one without,
 * and one allocation, so that a twin's walk follows the other twin's. */
__attribute__((noinline, optimize("omit-frame-pointer"))) static void shared_inner(size_t n)
{
    keep(malloc(n));
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline, optimize("no-omit-frame-pointer"))) static void shared_outer(size_t n)
{
    shared_inner(n);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void twin_a(size_t n)
{
    shared_outer(n);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void twin_b(size_t n)
{
    shared_outer(n);
    __asm__ volatile("" ::: "memory");
}

static void on_signal(int sig)
{
    (void)sig;
    keep(malloc(40)); /* not async-signal-safe in general; this program raises it itself */
}

__attribute__((noinline)) static void *tail_call(size_t n)
{
    return malloc(n); /* compiled as a jump: this frame is not on the stack */
}

static void *thread_main(void *arg)
{
    int rounds = *(int *)arg;
    for (int i = 0; i < rounds; i++) {
        leaf_nofp(16 + (size_t)i % 64);
        recurse(0, 10);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 1000;
    signal(SIGUSR1, on_signal);
    pthread_t th;
    pthread_create(&th, NULL, thread_main, &rounds);
    for (int i = 0; i < rounds; i++) {
        leaf_nofp(8 + (size_t)i % 100);
        leaf_fp(8 + (size_t)i % 100);
        recurse(0, i % 20);
        with_vla(16 + (size_t)i % 200);
        realigned(32 + (size_t)i % 50);
        keep(tail_call(64));
        twin_a(24);
        twin_b(24);
        if (i % 100 == 0) {
            recurse(0, 300); /* past the walk's depth cap */
            through_qsort();
            raise(SIGUSR1);
            void *lib = dlopen("libm.so.6", RTLD_NOW);
            if (lib)
                dlclose(lib);
        }
    }
    pthread_join(th, NULL);
    printf("allocations: %lu\n", count);
    return 0;
}
