/* trace_file.c - which file a process's trace goes to, and creating it
 * safely (layout of a run in include/mt_trace_format.h).
 *
 * The run's first process (MEMTAP_ROOT_PID) writes MEMTAP_OUTPUT; with
 * MEMTAP_CHILDREN every other process writes OUTPUT.d/PID.memtap, or
 * PID.N.memtap when that name is taken by an earlier process that had the
 * same pid. A file is created 0600 with O_EXCL and O_NOFOLLOW: never a
 * symlink, never another's file. The one file reused is this very process's
 * own trace from before an exec (same session, pid and start time): it is
 * truncated and written afresh.
 *
 * Called at start-up and in a forked child: system calls only, no stdio,
 * no allocation.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faults.h"
#include "mt_shim.h"

#define SAME_PID_NAMES 100 /* PID.memtap, then PID.1 ... PID.99 */

/* Field 22 of /proc/self/stat: the start time, in clock ticks since boot.
 * Unchanged by exec; with the pid, it names one process. 0 if unreadable. */
uint64_t mt_start_ticks(void)
{
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return 0;
    /* After ") " come fields 3, 4, ...: skip to field 22. */
    int field = 2;
    for (p++; *p && field < 21; p++)
        if (*p == ' ')
            field++;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (uint64_t)(*p++ - '0');
    return v;
}

static int reuse_own_trace(const char *path, uint64_t ticks)
{
    int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct mt_file_header h;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h &&
        memcmp(h.magic, MT_MAGIC, 8) == 0 && mt_opt.session != 0 &&
        h.session == mt_opt.session && h.pid == (uint64_t)getpid() &&
        h.start_ticks == ticks && ftruncate(fd, 0) == 0)
        return fd;
    close(fd);
    errno = EEXIST;
    return -1;
}

static int open_one(const char *path, uint64_t ticks)
{
    int fault = mt_fault(MT_FAULT_OPEN);
    if (fault) {
        errno = fault;
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        fd = reuse_own_trace(path, ticks);
    return fd;
}

static size_t put_str(char *out, size_t at, size_t cap, const char *s)
{
    while (*s && at + 1 < cap)
        out[at++] = *s++;
    out[at] = 0;
    return at;
}

static size_t put_num(char *out, size_t at, size_t cap, unsigned long v)
{
    char digits[24];
    int n = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) && n < 24);
    while (n && at + 1 < cap)
        out[at++] = digits[--n];
    out[at] = 0;
    return at;
}

int mt_trace_file_open(char *path, size_t cap, uint64_t ticks)
{
    long pid = (long)getpid();
    if (!mt_opt.root_pid || mt_opt.root_pid == pid) {
        put_str(path, 0, cap, mt_opt.output);
        return open_one(path, ticks);
    }
    size_t dir = put_str(path, 0, cap, mt_opt.output);
    dir = put_str(path, dir, cap, MT_RUN_DIR_SUFFIX "/");
    int fd = -1;
    for (unsigned k = 0; k < SAME_PID_NAMES && fd < 0; k++) {
        size_t at = put_num(path, dir, cap, (unsigned long)pid);
        if (k)
            at = put_num(path, put_str(path, at, cap, "."), cap, k);
        if (put_str(path, at, cap, ".memtap") + 1 >= cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        fd = open_one(path, ticks);
        if (fd < 0 && errno != EEXIST)
            return -1;
    }
    return fd;
}
