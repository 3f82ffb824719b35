/* prog_samestack.c - 8 threads released at once by a barrier meet the same
 * new stacks together: one 13-deep chain ending in one of 8 leaves (a new
 * leaf each round), 100 malloc/free pairs per thread and round. Each stack
 * must be interned once: two threads that intern the same node at the same
 * moment must agree on one id (memtap once wrote it twice, 4 runs in 5). */
#include <pthread.h>
#include <stdlib.h>

static pthread_barrier_t barrier;

#define LEAF(k)                                                                                    \
    __attribute__((noinline)) static void *leaf##k(void)                                           \
    {                                                                                              \
        return malloc(64 + k);                                                                     \
    }
LEAF(0) LEAF(1) LEAF(2) LEAF(3) LEAF(4) LEAF(5) LEAF(6) LEAF(7)
static void *(*const leaves[8])(void) = {leaf0, leaf1, leaf2, leaf3, leaf4, leaf5, leaf6, leaf7};

__attribute__((noinline)) static void *chain0(int k)
{
    void *p = leaves[k]();
    __asm__ volatile("" ::: "memory"); /* not a tail call */
    return p;
}
#define CHAIN(n, m)                                                                                \
    __attribute__((noinline)) static void *chain##n(int k)                                         \
    {                                                                                              \
        void *p = chain##m(k);                                                                     \
        __asm__ volatile("" ::: "memory");                                                         \
        return p;                                                                                  \
    }
CHAIN(1, 0) CHAIN(2, 1) CHAIN(3, 2) CHAIN(4, 3) CHAIN(5, 4) CHAIN(6, 5) CHAIN(7, 6)
CHAIN(8, 7) CHAIN(9, 8) CHAIN(10, 9) CHAIN(11, 10) CHAIN(12, 11)

static void *worker(void *round)
{
    int k = (int)(long)round;
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < 100; i++)
        free(chain12(k));
    return NULL;
}

int main(void)
{
    for (long round = 0; round < 8; round++) {
        pthread_t t[8];
        pthread_barrier_init(&barrier, NULL, 8);
        for (int i = 0; i < 8; i++)
            if (pthread_create(&t[i], NULL, worker, (void *)round) != 0)
                return 1;
        for (int i = 0; i < 8; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&barrier);
    }
    return 0;
}
