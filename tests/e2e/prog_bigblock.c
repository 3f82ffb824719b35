/* prog_bigblock.c - a peak of RSS far shorter than a sampling interval: a
 * 64 MiB block is allocated and filled, one small allocation follows (an
 * event, which takes memtap's RSS sample after a big block), and both are
 * freed at once. */
#include <stdlib.h>
#include <string.h>

int main(void)
{
    size_t n = 64u << 20;
    char *big = malloc(n);
    if (!big)
        return 1;
    memset(big, 1, n);
    char *volatile small = malloc(16);
    free(small);
    free(big);
    return 0;
}
