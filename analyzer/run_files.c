/* run_files.c - finding the traces of one run: RUN and RUN.d/ (a process
 * tree). Headers are read with pread: a packed trace keeps its header as
 * written, so no trace is unpacked to be found. */
#define _GNU_SOURCE
#include "run_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int mt_run_of(const char *trace_path, char *run, size_t cap)
{
    const char *slash = strrchr(trace_path, '/');
    size_t suffix = sizeof MT_RUN_DIR_SUFFIX - 1;
    if (slash && (size_t)(slash - trace_path) > suffix &&
        memcmp(slash - suffix, MT_RUN_DIR_SUFFIX, suffix) == 0) {
        size_t n = (size_t)(slash - trace_path) - suffix;
        if (n + 1 > cap)
            return ENAMETOOLONG;
        memcpy(run, trace_path, n);
        run[n] = 0;
        return 0;
    }
    return mt_fmt(run, cap, "%s", trace_path);
}

int mt_run_read_header(const char *path, struct mt_file_header *h)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    ssize_t n = pread(fd, h, sizeof *h, 0);
    close(fd);
    if (n != (ssize_t)sizeof *h || memcmp(h->magic, MT_MAGIC, 8) != 0)
        return EINVAL;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void mt_run_list_free(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

int mt_run_list(const char *run, char ***paths, size_t *n)
{
    size_t cap = 16, count = 0;
    char **v = malloc(cap * sizeof *v);
    if (!v || !(v[count++] = strdup(run))) {
        mt_run_list_free(v, v ? count - 1 : 0);
        return ENOMEM;
    }
    char dir[4096];
    DIR *d = mt_fmt(dir, sizeof dir, "%s" MT_RUN_DIR_SUFFIX, run) ? NULL : opendir(dir);
    int rc = 0;
    struct dirent *e;
    while (d && !rc && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 8 || strcmp(e->d_name + len - 7, ".memtap") != 0)
            continue;
        if (count == cap) {
            char **w = realloc(v, 2 * cap * sizeof *v);
            if (!w) {
                rc = ENOMEM;
                break;
            }
            v = w;
            cap *= 2;
        }
        char *p = malloc(strlen(dir) + len + 2);
        if (!p) {
            rc = ENOMEM;
            break;
        }
        strcpy(p, dir);
        strcat(p, "/");
        strcat(p, e->d_name);
        v[count++] = p;
    }
    if (d)
        closedir(d);
    if (rc) {
        mt_run_list_free(v, count);
        return rc;
    }
    qsort(v + 1, count - 1, sizeof *v, by_name);
    *paths = v;
    *n = count;
    return 0;
}

int mt_run_find_process(const char *trace_path, uint64_t pid, uint64_t start_ticks, char *out,
                        size_t cap)
{
    char run[4096];
    char **paths;
    size_t n;
    if (mt_run_of(trace_path, run, sizeof run) || mt_run_list(run, &paths, &n))
        return ENOENT;
    int rc = ENOENT;
    for (size_t i = 0; i < n && rc; i++) {
        struct mt_file_header h;
        if (mt_run_read_header(paths[i], &h) == 0 && h.pid == pid &&
            h.start_ticks == start_ticks && strcmp(paths[i], trace_path) != 0)
            rc = mt_fmt(out, cap, "%s", paths[i]) ? ENAMETOOLONG : 0;
    }
    mt_run_list_free(paths, n);
    return rc;
}
