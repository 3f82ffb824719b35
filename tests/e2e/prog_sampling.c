/* prog_sampling.c - known sizes for sampling by bytes (sampling.sh): three
 * sites of many small blocks (64, 200 and 1000 bytes) held to the end, a
 * site of short-lived blocks freed at once, a site of blocks freed through
 * realloc, and a few big blocks (2 MiB) that a sampled trace must hold
 * every one of. Live at exit, exactly:
 *   small_a  100000 x 64     =  6,400,000
 *   small_b   40000 x 200    =  8,000,000
 *   small_c   10000 x 1000   = 10,000,000
 *   big          4 x 2 MiB   =  8,388,608 (and 4 more freed)
 * The short-lived site allocates 200000 x 128 bytes, none left. */
#include <stdlib.h>
#include <string.h>

static void *keep[200000];
static size_t nkeep;

__attribute__((noinline)) static void small_a(void)
{
    for (int i = 0; i < 100000; i++)
        keep[nkeep++] = malloc(64);
}

__attribute__((noinline)) static void small_b(void)
{
    for (int i = 0; i < 40000; i++)
        keep[nkeep++] = malloc(200);
}

__attribute__((noinline)) static void small_c(void)
{
    for (int i = 0; i < 10000; i++)
        keep[nkeep++] = calloc(1, 1000);
}

__attribute__((noinline)) static void churn(void)
{
    for (int i = 0; i < 200000; i++) {
        char *p = malloc(128);
        p[0] = (char)i;
        free(p);
    }
}

__attribute__((noinline)) static void grown(void)
{
    for (int i = 0; i < 20000; i++) {
        char *p = malloc(16);
        p = realloc(p, 48);
        free(p);
    }
}

__attribute__((noinline)) static void big(void)
{
    for (int i = 0; i < 8; i++) {
        char *p = malloc(2u << 20);
        memset(p, 1, 4096);
        if (i % 2)
            free(p);
        else
            keep[nkeep++] = p;
    }
}

int main(void)
{
    small_a();
    churn();
    small_b();
    grown();
    small_c();
    big();
    return keep[0] ? 0 : 1;
}
