/* prog_known - a program with a known allocation pattern, for exact checks.
 *
 * Every function below allocates a fixed set of blocks; tests/e2e/known.sh
 * checks the database against these numbers (per function, in total, and
 * the heap peak). extern "C" keeps the names as they are written here. No
 * stdio: its buffer would be one more allocation to account for.
 *
 *   function          allocs  frees  bytes allocated      live at exit
 *   make_sizes            10     10  100+200+..+1000=5500    0
 *   realloc_chain          5      5  16+32+64+128+256=496    0
 *   calloc_block           1      1  1000                    0
 *   aligned_blocks         3      3  4096+1024+512           0
 *   cxx_new                1      1  5000 (operator new[])   0
 *   leak_one               1      0  777                     777
 *   big_block              1      1  1000000                 0
 *   thread_worker x4    1010   1010  1000*64 + 10*1000 each  0
 *
 * Heap peak: during big_block, 5500 (sizes) + 777 (leak) + 1000000.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern "C" {

static void *sizes[10];

__attribute__((noinline)) void make_sizes(void)
{
    for (int i = 0; i < 10; i++)
        sizes[i] = malloc(100 * (size_t)(i + 1));
}

__attribute__((noinline)) void free_sizes(void)
{
    for (int i = 0; i < 10; i++)
        free(sizes[i]);
}

__attribute__((noinline)) void realloc_chain(void)
{
    char *p = (char *)malloc(16);
    for (size_t n = 32; n <= 256; n *= 2) {
        p = (char *)realloc(p, n);
        memset(p, 1, n);
    }
    free(p);
}

__attribute__((noinline)) void calloc_block(void)
{
    void *p = calloc(10, 100);
    free(p);
}

__attribute__((noinline)) void aligned_blocks(void)
{
    void *a = NULL;
    if (posix_memalign(&a, 64, 4096) != 0)
        _exit(3);
    void *b = aligned_alloc(256, 1024);
    void *c = memalign(128, 512);
    free(a);
    free(b);
    free(c);
}

__attribute__((noinline)) void cxx_new(void)
{
    char *p = new char[5000];
    memset(p, 2, 5000);
    delete[] p;
}

void *leaked;

__attribute__((noinline)) void leak_one(void)
{
    leaked = malloc(777);
}

__attribute__((noinline)) void big_block(void)
{
    char *p = (char *)malloc(1000000);
    memset(p, 3, 4096);
    free(p);
}

__attribute__((noinline)) static void *thread_worker(void *arg)
{
    (void)arg;
    void *keep[10];
    for (int i = 0; i < 10; i++)
        keep[i] = malloc(1000);
    for (int i = 0; i < 1000; i++) {
        void *p = malloc(64);
        *(volatile char *)p = 1;
        free(p);
    }
    for (int i = 0; i < 10; i++)
        free(keep[i]);
    return NULL;
}

} /* extern "C" */

int main(void)
{
    make_sizes();
    realloc_chain();
    calloc_block();
    aligned_blocks();
    cxx_new();
    leak_one();
    big_block();
    free_sizes();
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, thread_worker, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    return 0;
}
