/* prog_closefds - a daemon's start (limits.sh): closes every descriptor
 * above stderr, opens a file of its own (given the lowest free number),
 * allocates enough for the trace to grow several times, and writes the
 * file again. Prints the file's content and size: memtap must neither
 * write into it nor read from it through a number it once had. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "data.txt";
    for (int fd = 3; fd < 65536; fd++)
        close(fd);
    int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (f < 0 || write(f, "hello\n", 6) != 6)
        return 2;
    volatile char sink = 0;
    for (int i = 0; i < 3000000; i++) {
        char *p = malloc(16 + (size_t)(i % 200));
        p[0] = (char)i;
        sink ^= p[0];
        free(p);
    }
    if (write(f, "world\n", 6) != 6)
        return 3;
    char buf[64] = {0};
    if (pread(f, buf, sizeof buf - 1, 0) < 0)
        return 4;
    struct stat st;
    fstat(f, &st);
    printf("fd %d holds %s", f, buf);
    printf("size %lld\n", (long long)st.st_size);
    close(f);
    return sink == 42 ? 0 : 0;
}
