/* golden.c - a program with known figures, traced by each format's release */
#include <stdlib.h>
#include <string.h>
static void *keep[8];
int main(void)
{
    for (int i = 0; i < 8; i++) {           /* 8 blocks of 1000 * (i + 1) bytes */
        keep[i] = malloc(1000 * (size_t)(i + 1));
        memset(keep[i], i, 1000 * (size_t)(i + 1));
    }
    for (int i = 0; i < 8; i += 2)           /* the even ones freed: 16000 bytes */
        free(keep[i]);
    void *p = calloc(10, 100);               /* 1000 more, freed */
    free(p);
    p = malloc(500);
    p = realloc(p, 5000);                    /* realloc: 5000 live at exit */
    keep[0] = p;
    return 0;
}
