/* prog_handoff - threads take turns in strict rotation: each runs a burst of
 * free/malloc pairs on a shared array of blocks, so a block allocated by
 * one thread is freed by another and its address is handed out again to a
 * third. Bursts are long enough that the trace's sequence counter changes
 * owner at every turn (see shim/sequence.c); run with glibc's tcache off
 * and one arena so that freed addresses come back at once, in any thread.
 * Usage: prog_handoff THREADS BURSTS OPS_PER_BURST */
#include <pthread.h>
#include <stdlib.h>

#define SLOTS 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static long turn; /* whose turn: turn % threads */
static int threads = 4;
static void *slot[SLOTS];
static long bursts = 50, ops = 20000;
static unsigned seed = 12345;

__attribute__((noinline)) static void *handoff_worker(void *arg)
{
    long me = (long)(size_t)arg;
    for (long b = 0; b < bursts; b++) {
        pthread_mutex_lock(&lock);
        while (turn % threads != me)
            pthread_cond_wait(&changed, &lock);
        for (long i = 0; i < ops; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned k = (seed >> 16) % SLOTS;
            free(slot[k]);
            slot[k] = malloc(16 + (seed >> 8) % 200);
        }
        turn++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        threads = atoi(argv[1]);
    if (argc > 2)
        bursts = atol(argv[2]);
    if (argc > 3)
        ops = atol(argv[3]);
    pthread_t t[16];
    if (threads > 16)
        threads = 16;
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, handoff_worker, (void *)(size_t)i);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    for (int k = 0; k < SLOTS; k++)
        free(slot[k]);
    return 0;
}
