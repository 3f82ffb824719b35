/* prog_lifetimes.c - known lifetimes (stats.sh): 10 blocks of 100 bytes
 * freed about 50 ms after they were made (site short_wait), 5 blocks of
 * 5000 bytes freed about 300 ms after (site long_wait), each batch made in
 * a row and freed in a row: in events, each block lives exactly as many
 * events as its batch has blocks (10: bucket [4, 16); 5: the same). */
#include <stdlib.h>
#include <time.h>

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

__attribute__((noinline)) static void short_wait(void)
{
    void *p[10];
    for (int i = 0; i < 10; i++)
        p[i] = malloc(100);
    nap(50);
    for (int i = 0; i < 10; i++)
        free(p[i]);
}

__attribute__((noinline)) static void long_wait(void)
{
    void *p[5];
    for (int i = 0; i < 5; i++)
        p[i] = malloc(5000);
    nap(300);
    for (int i = 0; i < 5; i++)
        free(p[i]);
}

int main(void)
{
    short_wait();
    long_wait();
    return 0;
}
