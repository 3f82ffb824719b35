/* fuzz_trace.c - libFuzzer target: the trace reader (analyzer/trace.c) on
 * any bytes as a trace file, raw or packed: open, then every record in
 * order. It must reject what is corrupt with an error, never crash, hang
 * or allocate beyond what the input can hold (make fuzz runs it with
 * -rss_limit_mb). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *ctx, const struct mt_event *ev)
{
    (void)ev;
    ++*(uint64_t *)ctx;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/memtap-fuzz-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    struct mt_trace *t = NULL;
    char err[512];
    if (mt_trace_open(path, &t, err, sizeof err) == 0) {
        uint64_t n = 0;
        (void)mt_trace_read(t, count, &n, err, sizeof err);
        mt_trace_close(t);
    }
    unlink(path);
    return 0;
}
