/* prog_forever - allocates and frees from 3 threads until killed: the
 * victim of the SIGKILL test. Blocks are only ever freed by the code that
 * allocated them, so every free in its trace must match an allocation. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void *churn(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    void *held[64] = {0};
    for (;;) {
        seed = seed * 1103515245u + 12345u;
        unsigned slot = (seed >> 16) % 64;
        if (held[slot])
            free(held[slot]);
        size_t n = 1 + (seed >> 4) % 4096;
        held[slot] = (seed & 1) ? malloc(n) : realloc(NULL, n);
        memset(held[slot], 0, n < 16 ? n : 16);
        if ((seed & 255) == 7)
            held[slot] = realloc(held[slot], n * 2);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, churn, (void *)(size_t)(i + 7));
    churn((void *)(size_t)3);
    return 0;
}
