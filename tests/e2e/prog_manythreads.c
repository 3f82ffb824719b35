/* prog_manythreads - 1,000 threads that start, allocate and exit, 50 at
 * a time (limits.sh): each keeps one 100-byte block (freed by main) and
 * frees nine. Prints the blocks kept. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 1000
#define BATCH 50

static void *kept[THREADS];

static void *work(void *arg)
{
    long i = (long)arg;
    for (int k = 0; k < 9; k++)
        free(malloc(64 + (size_t)k));
    kept[i] = malloc(100);
    return NULL;
}

int main(void)
{
    pthread_t t[BATCH];
    for (long i = 0; i < THREADS; i += BATCH) {
        for (long j = 0; j < BATCH; j++)
            if (pthread_create(&t[j], NULL, work, (void *)(i + j)) != 0)
                return 2;
        for (long j = 0; j < BATCH; j++)
            pthread_join(t[j], NULL);
    }
    long n = 0;
    for (long i = 0; i < THREADS; i++) {
        n += kept[i] != NULL;
        free(kept[i]);
    }
    printf("kept %ld\n", n);
    return 0;
}
