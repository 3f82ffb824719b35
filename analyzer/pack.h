/* pack.h - traces at rest: compress a trace once its program is done, and
 * give a reader the trace as written (layout in mt_trace_format.h). */
#ifndef MT_PACK_H
#define MT_PACK_H

#include <stddef.h>
#include <stdint.h>

/* Compresses the trace at path in place (a new file, renamed over it; mode
 * 0600, never through a symlink). A trace already packed, or one packing
 * would not make smaller, is left alone. *before and *after (may be NULL):
 * the file's bytes before and after. Returns 0 or an errno, with a message
 * in err; the trace is then as it was. */
int mt_trace_pack(const char *path, uint64_t *before, uint64_t *after, char *err, size_t errlen);

/* The trace as written, from packed_fd (a packed trace, header read into
 * hdr_flags' file): a file of its own, unlinked (beside the trace when its
 * file system allows, else in TMPDIR, else in memory), holding the header
 * with MT_HDR_PACKED cleared and the segments. Returns 0 with *raw_fd set,
 * or an errno with a message in err (a corrupt or cut-short stream). */
int mt_trace_unpack(int packed_fd, const char *path, int *raw_fd, char *err, size_t errlen);

#endif
