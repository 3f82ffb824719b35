/* demo-program - the bundled example `make demo` traces: a toy image
 * pipeline that decodes frames into buffers, keeps a thumbnail cache that
 * is never evicted (a leak), and has one burst where many frames are held
 * at once (the heap peak). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct frame {
    unsigned char *pixels;
    size_t size;
};

unsigned char *thumbnails[512]; /* global: the cache is part of the program's state */

__attribute__((noinline)) static struct frame *decode_frame(int i)
{
    struct frame *f = malloc(sizeof *f);
    f->size = 64 * 1024 + (size_t)(i % 7) * 4096;
    f->pixels = malloc(f->size);
    memset(f->pixels, i & 0xff, f->size);
    return f;
}

__attribute__((noinline)) static void release_frame(struct frame *f)
{
    free(f->pixels);
    free(f);
}

__attribute__((noinline)) static void cache_thumbnail(int i, const struct frame *f)
{
    unsigned char *t = malloc(2048); /* never freed: the leak */
    memcpy(t, f->pixels, 2048);
    thumbnails[i % 512] = t;
}

__attribute__((noinline)) static long process_batch(int first, int count)
{
    struct frame **held = calloc((size_t)count, sizeof *held);
    long sum = 0;
    for (int i = 0; i < count; i++)
        held[i] = decode_frame(first + i);
    for (int i = 0; i < count; i++) {
        sum += held[i]->pixels[0];
        release_frame(held[i]);
    }
    free(held);
    return sum;
}

int main(void)
{
    long sum = 0;
    for (int i = 0; i < 2000; i++) {
        struct frame *f = decode_frame(i);
        if (i % 4 == 0)
            cache_thumbnail(i, f);
        sum += f->pixels[1];
        release_frame(f);
    }
    sum += process_batch(0, 300); /* the burst: ~300 frames alive at once */
    int cached = 0;
    for (int i = 0; i < 512; i++)
        cached += thumbnails[i] != NULL;
    printf("demo: processed 2300 frames, %d thumbnails cached, checksum %ld\n", cached, sum);
    return 0;
}
