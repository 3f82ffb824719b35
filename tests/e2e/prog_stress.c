/* prog_stress - N threads x M malloc/free pairs (default 4 x 1,000,000),
 * all from stress_worker: a test that no event is lost or duplicated when
 * threads allocate at once (addresses are reused across threads). */
#include <pthread.h>
#include <stdlib.h>

static long pairs = 1000000;

__attribute__((noinline)) static void *stress_worker(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    void *held[16] = {0};
    for (long i = 0; i < pairs; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned slot = (seed >> 16) % 16;
        if (held[slot])
            free(held[slot]);
        held[slot] = malloc(16 + (seed >> 8) % 512);
    }
    for (int s = 0; s < 16; s++)
        free(held[s]);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2)
        pairs = atol(argv[2]);
    pthread_t t[64];
    for (int i = 0; i < threads && i < 64; i++)
        pthread_create(&t[i], NULL, stress_worker, (void *)(size_t)(i + 1));
    for (int i = 0; i < threads && i < 64; i++)
        pthread_join(t[i], NULL);
    return 0;
}
