/* prog_errno.c - the allocator hooks never change errno as their caller
 * sees it. Sets errno before each call of the malloc family and checks it
 * after, from stacks new to memtap (call sites at depths 1..40, each a miss
 * of the stack caches: a full walk and a new interned stack), from a thread
 * whose first allocation starts its trace segment, and across enough
 * allocations to claim new segments. Prints "errno kept" and exits 0, or
 * names the first call that changed it and exits 1. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static const char *failed;

static void expect(const char *what)
{
    if (errno != EILSEQ && !failed)
        failed = what;
    errno = EILSEQ;
}

static void calls(void)
{
    errno = EILSEQ;
    void *p = malloc(100);
    expect("malloc");
    p = realloc(p, 5000);
    expect("realloc");
    void *q = calloc(10, 10);
    expect("calloc");
    void *r = NULL;
    if (posix_memalign(&r, 64, 100) != 0)
        r = NULL;
    expect("posix_memalign");
    void *s = memalign(64, 100);
    expect("memalign");
    free(p);
    expect("free");
    free(q);
    free(r);
    free(s);
    expect("free (aligned)");
}

__attribute__((noinline)) static void at_depth(int n)
{
    if (n > 0) {
        at_depth(n - 1);
        __asm__ volatile("" ::: "memory"); /* not a tail call: one frame per level */
    } else {
        calls();
    }
}

static void *thread_main(void *arg)
{
    (void)arg;
    calls(); /* the thread's first events start its segment */
    return NULL;
}

int main(void)
{
    for (int d = 0; d < 40; d++)
        at_depth(d);
    for (int i = 0; i < 4; i++) {
        pthread_t th;
        if (pthread_create(&th, NULL, thread_main, NULL) == 0)
            pthread_join(th, NULL);
    }
    for (int i = 0; i < 300000; i++) /* ~2 MB of records: new segments */
        calls();
    if (failed) {
        printf("errno changed by %s\n", failed);
        return 1;
    }
    printf("errno kept\n");
    return 0;
}
