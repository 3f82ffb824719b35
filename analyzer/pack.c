/* pack.c - traces at rest. While the program runs, its trace is the
 * memory-mapped file the shim writes (mt_trace_format.h): SIGKILL-safe,
 * and 4-6 bytes an event. Once the program is done, `memtap run` packs it:
 * the header as it was (MT_HDR_PACKED set), then the segments up to the
 * last one holding data (data_end) as one zstd frame (level 1, on two
 * threads from 32 MiB: 1.2x to 17x smaller, at 250-450 MB/s here). The
 * packed file is written beside the trace and renamed over it, so that a
 * launcher killed while packing leaves the trace as written.
 *
 * Readers unpack into a file of their own, unlinked, and read that as the
 * trace was written (decompression runs at several times the load's
 * speed); the trace itself is never changed by reading it.
 */
#define _GNU_SOURCE
#include "pack.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "mt_trace_format.h"

#define PACK_LEVEL 1
#define CHUNK (1u << 20)
/* Below this, a second thread costs more than it saves (zstd's workers and
 * their buffers: 13 ms of a 23 ms pack of a 4 MiB trace here, where the
 * two cross at 32-64 MiB). */
#define PACK_THREADS_FROM (32u << 20)


static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Compresses what follows the header of raw (n bytes, read in chunks: the
 * memory it takes does not grow with the trace) after hdr into fd. */
static int compress_into(int fd, const unsigned char *hdr, int raw, size_t n, char *err,
                         size_t errlen)
{
    unsigned char head[MT_HEADER_SIZE];
    memcpy(head, hdr, MT_HEADER_SIZE);
    struct mt_file_header h;
    memcpy(&h, head, sizeof h);
    h.flags |= MT_HDR_PACKED;
    memcpy(head, &h, sizeof h);
    int rc = write_all(fd, head, sizeof head);
    if (rc)
        return mt_fail(err, errlen, rc, "cannot write: %s", strerror(rc));
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    unsigned char *out = malloc(CHUNK), *in_buf = malloc(CHUNK);
    if (!cc || !out || !in_buf) {
        ZSTD_freeCCtx(cc);
        free(out);
        free(in_buf);
        return mt_fail(err, errlen, ENOMEM, "out of memory");
    }
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, PACK_LEVEL);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    if (n >= PACK_THREADS_FROM) /* refused by a build without threads: one, then */
        ZSTD_CCtx_setParameter(cc, ZSTD_c_nbWorkers, 2);
    ZSTD_CCtx_setPledgedSrcSize(cc, n);
    size_t done = 0;
    int last = 0;
    while (!rc && !last) {
        size_t want = n - done < CHUNK ? n - done : CHUNK;
        ssize_t got = want ? pread(raw, in_buf, want, (off_t)(MT_HEADER_SIZE + done)) : 0;
        if (got < 0 || (size_t)got != want) {
            rc = mt_fail(err, errlen, got < 0 ? errno : EIO, "cannot read the trace");
            break;
        }
        done += want;
        last = done == n;
        ZSTD_inBuffer in = {in_buf, want, 0};
        size_t left;
        do { /* until this chunk is taken (and, at the end, the frame is whole) */
            ZSTD_outBuffer o = {out, CHUNK, 0};
            left = ZSTD_compressStream2(cc, &o, &in, last ? ZSTD_e_end : ZSTD_e_continue);
            if (ZSTD_isError(left)) {
                rc = mt_fail(err, errlen, EIO, "compression failed: %s", ZSTD_getErrorName(left));
                break;
            }
            rc = write_all(fd, out, o.pos);
            if (rc)
                mt_fail(err, errlen, rc, "cannot write: %s", strerror(rc));
        } while (!rc && (last ? left != 0 : in.pos < in.size));
    }
    ZSTD_freeCCtx(cc);
    free(out);
    free(in_buf);
    return rc;
}

/* Where the trace's last segment with data ends (size: the file's). The
 * shim reserves the file ahead of the writers, 4 MiB at least, and gives
 * the unclaimed tail back as a hole when the program ends: a short or
 * sampled run's trace is mostly hole. A segment no thread claimed is all
 * zeros, and the reader skips it, so the segments after the last one that
 * holds data are left out of the packed trace (it unpacks shorter). The
 * end of the last data region, not the first hole: a file system may tell
 * a reserved block never written as a hole within a claimed segment. */
static size_t data_end(int fd, size_t size)
{
    off_t pos = MT_HEADER_SIZE, end = MT_HEADER_SIZE;
    for (;;) {
        off_t d = lseek(fd, pos, SEEK_DATA);
        if (d < 0)
            break; /* ENXIO: no data after pos; another error: keep it all */
        off_t h = lseek(fd, d, SEEK_HOLE);
        if (h < 0 || h <= d)
            return size;
        end = h;
        pos = h;
    }
    if (errno != ENXIO)
        return size;
    size_t used = (size_t)end - MT_HEADER_SIZE;
    size_t kept = MT_HEADER_SIZE + (used + MT_SEGMENT_SIZE - 1) / MT_SEGMENT_SIZE * MT_SEGMENT_SIZE;
    return kept < size ? kept : size;
}

int mt_trace_pack(const char *path, uint64_t *before, uint64_t *after, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return mt_fail(err, errlen, errno, "%s: %s", path, strerror(errno));
    struct stat st;
    struct mt_file_header h;
    int rc = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = mt_fail(err, errlen, EINVAL, "%s: not a regular file", path);
    else if ((size_t)st.st_size < MT_HEADER_SIZE || pread(fd, &h, sizeof h, 0) != sizeof h ||
             memcmp(h.magic, MT_MAGIC, 8) != 0)
        rc = mt_fail(err, errlen, EINVAL, "%s: not a memtap trace", path);
    else if (!(h.flags & MT_HDR_PACKED) &&
             ((size_t)st.st_size - MT_HEADER_SIZE) % MT_SEGMENT_SIZE != 0)
        rc = mt_fail(err, errlen, EINVAL, "%s: not a whole number of segments", path);
    if (before)
        *before = rc ? 0 : (uint64_t)st.st_size;
    if (after)
        *after = rc ? 0 : (uint64_t)st.st_size;
    if (rc || (h.flags & MT_HDR_PACKED)) {
        close(fd);
        return rc;
    }
    size_t size = (size_t)st.st_size;
    unsigned char head[MT_HEADER_SIZE];
    if (pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head) {
        close(fd);
        return mt_fail(err, errlen, EIO, "%s: cannot read its header", path);
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.packing-XXXXXX", path) >= (int)sizeof tmp) {
        close(fd);
        return mt_fail(err, errlen, ENAMETOOLONG, "%s: path too long", path);
    }
    int out = mkostemp(tmp, O_CLOEXEC); /* 0600, a new file: never an existing one */
    if (out < 0) {
        rc = errno;
        close(fd);
        return mt_fail(err, errlen, rc, "%s: %s", tmp, strerror(rc));
    }
    rc = compress_into(out, head, fd, data_end(fd, size) - MT_HEADER_SIZE, err, errlen);
    close(fd);
    struct stat packed;
    if (!rc && fstat(out, &packed) != 0)
        rc = mt_fail(err, errlen, errno, "%s: %s", tmp, strerror(errno));
    if (!rc && (uint64_t)packed.st_size >= (uint64_t)size) { /* no smaller: leave it */
        close(out);
        unlink(tmp);
        return 0;
    }
    if (!rc && fdatasync(out) != 0)
        rc = mt_fail(err, errlen, errno, "%s: %s", tmp, strerror(errno));
    close(out);
    if (!rc && rename(tmp, path) != 0)
        rc = mt_fail(err, errlen, errno, "%s: %s", path, strerror(errno));
    if (rc) {
        unlink(tmp);
        return rc;
    }
    if (after)
        *after = (uint64_t)packed.st_size;
    return 0;
}

/* An unlinked file to unpack into: beside the trace (the file system that
 * held it as written), else in TMPDIR or /tmp, else in memory. */
static int scratch_file(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = 0;
    else
        snprintf(dir, sizeof dir, ".");
    const char *tmpdir = getenv("TMPDIR");
    const char *dirs[] = {dir, tmpdir && *tmpdir ? tmpdir : "/tmp", "/tmp"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        int fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0)
            return fd;
    }
    return memfd_create("memtap-trace", MFD_CLOEXEC);
}

/* One step of the decoder from *in into out, written to fd: 0, or an errno
 * with the reason in err. *left: what the decoder says is still to come
 * (0 at the frame's end); *got: the bytes unpacked so far, at most want. */
struct unpacking {
    ZSTD_DCtx *dc;
    unsigned char *out;
    int fd;
    size_t left;
    unsigned long long got, want;
};

static int unpack_step(struct unpacking *u, ZSTD_inBuffer *in, char *err, size_t errlen)
{
    ZSTD_outBuffer o = {u->out, CHUNK, 0};
    u->left = ZSTD_decompressStream(u->dc, &o, in);
    if (ZSTD_isError(u->left))
        return mt_fail(err, errlen, EINVAL, "corrupt packed trace: %s",
                       ZSTD_getErrorName(u->left));
    if (o.pos == 0 && in->size == 0)
        return mt_fail(err, errlen, EINVAL, "packed trace cut short");
    u->got += o.pos;
    if (u->got > u->want)
        return mt_fail(err, errlen, EINVAL, "corrupt packed trace: more than its stated size");
    int rc = write_all(u->fd, u->out, o.pos);
    if (rc)
        mt_fail(err, errlen, rc, "cannot unpack the trace: %s", strerror(rc));
    return rc;
}

int mt_trace_unpack(int packed_fd, const char *path, int *raw_fd, char *err, size_t errlen)
{
    *raw_fd = -1;
    struct stat st;
    if (fstat(packed_fd, &st) != 0)
        return mt_fail(err, errlen, errno, "cannot stat: %s", strerror(errno));
    size_t size = (size_t)st.st_size;
    if (size <= MT_HEADER_SIZE)
        return mt_fail(err, errlen, EINVAL, "packed trace cut short (%zu bytes)", size);
    unsigned char head[MT_HEADER_SIZE];
    unsigned char *in_buf = malloc(CHUNK), *out = malloc(CHUNK);
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    int rc = 0, fd = -1;
    if (!in_buf || !out || !dc)
        rc = mt_fail(err, errlen, ENOMEM, "out of memory");
    /* the compressed part's stated size, from the start of its frame */
    ssize_t first = rc ? 0 : pread(packed_fd, in_buf, CHUNK, MT_HEADER_SIZE);
    unsigned long long want =
        first > 0 ? ZSTD_getFrameContentSize(in_buf, (size_t)first) : ZSTD_CONTENTSIZE_ERROR;
    if (!rc && (want == ZSTD_CONTENTSIZE_ERROR || want == ZSTD_CONTENTSIZE_UNKNOWN ||
                want % MT_SEGMENT_SIZE != 0))
        rc = mt_fail(err, errlen, EINVAL, "corrupt packed trace (its compressed part's header)");
    if (!rc && pread(packed_fd, head, sizeof head, 0) != (ssize_t)sizeof head)
        rc = mt_fail(err, errlen, EIO, "cannot read the header");
    if (!rc && (fd = scratch_file(path)) < 0)
        rc = mt_fail(err, errlen, errno, "no file to unpack the trace into: %s", strerror(errno));
    if (!rc) {
        struct mt_file_header h;
        memcpy(&h, head, sizeof h);
        h.flags &= ~MT_HDR_PACKED;
        memcpy(head, &h, sizeof h);
        rc = write_all(fd, head, sizeof head);
        if (rc)
            mt_fail(err, errlen, rc, "cannot unpack the trace: %s", strerror(rc));
    }
    /* Read in chunks: the memory this takes does not grow with the trace. */
    struct unpacking u = {dc, out, fd, 1, 0, want};
    size_t at = MT_HEADER_SIZE;
    while (!rc && at < size) {
        ssize_t n = pread(packed_fd, in_buf, CHUNK, (off_t)at);
        if (n <= 0) {
            rc = mt_fail(err, errlen, n < 0 ? errno : EIO, "cannot read the packed trace");
            break;
        }
        at += (size_t)n;
        ZSTD_inBuffer in = {in_buf, (size_t)n, 0};
        while (!rc && in.pos < in.size) {
            if (u.left == 0)
                rc = mt_fail(err, errlen, EINVAL, "corrupt packed trace: bytes after its end");
            else
                rc = unpack_step(&u, &in, err, errlen);
        }
    }
    /* what the decoder still holds once the input is all read */
    while (!rc && u.left != 0) {
        ZSTD_inBuffer in = {in_buf, 0, 0};
        rc = unpack_step(&u, &in, err, errlen);
    }
    if (!rc && u.got != want)
        rc = mt_fail(err, errlen, EINVAL, "corrupt packed trace (%llu of %llu bytes)", u.got, want);
    ZSTD_freeDCtx(dc);
    free(out);
    free(in_buf);
    if (rc) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    *raw_fd = fd;
    return 0;
}
