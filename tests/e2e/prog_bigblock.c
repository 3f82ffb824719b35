/* prog_bigblock.c - a peak of RSS far shorter than a sampling interval: a
 * 64 MiB block is allocated and filled, one small allocation follows (an
 * event, which takes memtap's RSS sample after a big block), and both are
 * freed at once.
 *
 * With the argument "early" the small allocation comes between the big
 * block's malloc and its fill, as numpy allocates an array's object
 * between its buffer and the fill: that event's sample sees the block
 * unfilled, and only the burst of samples after a big block (sampler.c)
 * can see the peak, which is held for 5 ms with no event at all.
 *
 * With "unheld", the same but the block is freed the moment its fill ends:
 * the burst's samples see it being filled, a millisecond apart, and only
 * the sample memtap takes before a big block's free sees it whole. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    int unheld = argc > 1 && strcmp(argv[1], "unheld") == 0;
    int early = unheld || (argc > 1 && strcmp(argv[1], "early") == 0);
    size_t n = 64u << 20;
    char *big = malloc(n);
    if (!big)
        return 1;
    char *volatile small = early ? malloc(16) : NULL;
    memset(big, 1, n);
    if (early && !unheld) {
        struct timespec hold = {0, 5000000L};
        nanosleep(&hold, NULL);
    } else if (!early) {
        small = malloc(16);
    }
    free(small);
    free(big);
    return 0;
}
