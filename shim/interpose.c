/* interpose.c - the malloc family, as seen by the traced program.
 *
 * Every entry point follows one order: bootstrap check, recursion guard and
 * enabled check (pass straight through when either says so), then the real
 * call and the record. A free is recorded *before* the memory is released
 * and an allocation *after* it is obtained, so that in sequence order an
 * address is never live twice even when another thread reuses it at once.
 *
 * Bootstrap: dlsym() may allocate (glibc: calloc on a failed lookup). While
 * the real allocators are being resolved, requests are served from a static
 * bump buffer; those blocks are never passed to the real free/realloc.
 *
 * Must not: allocate, lock, use stdio, or change errno as the caller sees it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "sampling.h"

struct mt_real mt_real;

/* ---- bootstrap buffer ------------------------------------------------- */

/* volatile: GCC 12 deleted plain stores to a flag like this one because
 * nothing it could see read it between them; dlsym's nested calloc does. */
static volatile int resolving;

#define BOOT_SIZE (64 * 1024)
#define BOOT_HDR 16 /* each block is preceded by its size; keeps 16-alignment */
static unsigned char boot_buf[BOOT_SIZE] __attribute__((aligned(64)));
static size_t boot_used;

static int is_boot(const void *p)
{
    return (const unsigned char *)p >= boot_buf &&
           (const unsigned char *)p < boot_buf + BOOT_SIZE;
}

static void *boot_alloc(size_t n)
{
    size_t need = BOOT_HDR + ((n + 15) & ~(size_t)15);
    size_t at = __atomic_fetch_add(&boot_used, need, __ATOMIC_RELAXED);
    if (n > BOOT_SIZE || at + need > BOOT_SIZE)
        return NULL; /* static storage is zero: calloc is served as well */
    memcpy(boot_buf + at, &n, sizeof n);
    return boot_buf + at + BOOT_HDR;
}

static size_t boot_size(const void *p)
{
    size_t n;
    memcpy(&n, (const unsigned char *)p - BOOT_HDR, sizeof n);
    return n;
}

void mt_resolve_real(void)
{
    if (mt_real.free)
        return;
    resolving = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    struct mt_real r;
    r.malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    r.calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    r.realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    r.free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    r.posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    r.aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
    r.memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
    r.valloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "valloc");
    r.pvalloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "pvalloc");
    r.malloc_usable_size = (size_t(*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
    r.dlclose = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    r.exit_now = (void (*)(int))dlsym(RTLD_NEXT, "_exit");
    r.exit = (void (*)(int))dlsym(RTLD_NEXT, "exit");
    if (!r.malloc || !r.calloc || !r.realloc || !r.free) {
        /* Nothing sensible to fall back to: there is no allocator below us. */
        static const char msg[] = "memtap: cannot find the real malloc\n";
        (void)!write(2, msg, sizeof msg - 1);
        abort();
    }
    mt_real.malloc = r.malloc;
    mt_real.calloc = r.calloc;
    mt_real.realloc = r.realloc;
    mt_real.posix_memalign = r.posix_memalign;
    mt_real.aligned_alloc = r.aligned_alloc;
    mt_real.memalign = r.memalign;
    mt_real.valloc = r.valloc;
    mt_real.pvalloc = r.pvalloc;
    mt_real.malloc_usable_size = r.malloc_usable_size;
    mt_real.dlclose = r.dlclose;
    mt_real.exit_now = r.exit_now;
    mt_real.exit = r.exit;
    mt_real.glibc = r.free == (void (*)(void *))dlsym(RTLD_DEFAULT, "__libc_free");
    /* free last: it is the "resolved" flag every entry point tests. */
    __atomic_store_n(&mt_real.free, r.free, __ATOMIC_RELEASE);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    resolving = 0;
}

/* Returns 1 when the real allocators are usable, 0 while resolving. */
static int ready(void)
{
    if (MT_LIKELY(__atomic_load_n(&mt_real.free, __ATOMIC_ACQUIRE) != NULL))
        return 1;
    if (resolving)
        return 0;
    mt_resolve_real();
    return !resolving;
}

/* ---- the hooks -------------------------------------------------------- */

/* No errno to keep here: what may change it (the Python poll, a stack not
 * in the thread's cache, a new segment, the sequence counter's slow side)
 * saves it itself, off the common path. */
static inline void *after_alloc(struct mt_thread *t, unsigned fn, void *p, size_t n)
{
    if (p) {
        if (MT_UNLIKELY(mt_py_waiting))
            mt_py_poll();
        if (mt_sample_alloc(t, p, n))
            mt_record_alloc(t, fn, p, n, mt_current_stack(t, 0));
    }
    mt_leave(t);
    return p;
}

static inline void record_free(struct mt_thread *t, unsigned kind, void *p)
{
    if (mt_sample_free(p))
        mt_record_free(t, kind, p);
}

/* glibc's chunk header: the word before a block holds the chunk's size in
 * its upper bits (the three low bits are flags). glibc's free reads that
 * word first, so reading it here faults only where free itself would. */
static inline size_t glibc_chunk_size(const void *p)
{
    size_t head;
    memcpy(&head, (const unsigned char *)p - sizeof head, sizeof head);
    return head & ~(size_t)7;
}

__attribute__((visibility("default"))) void *malloc(size_t n)
{
    if (MT_UNLIKELY(!ready()))
        return boot_alloc(n);
    struct mt_thread *t = mt_enter();
    if (!t)
        return mt_real.malloc(n);
    return after_alloc(t, MT_FN_MALLOC, mt_real.malloc(n), n);
}

__attribute__((visibility("default"))) void *calloc(size_t n, size_t size)
{
    if (MT_UNLIKELY(!ready())) {
        size_t total;
        return __builtin_mul_overflow(n, size, &total) ? NULL : boot_alloc(total);
    }
    struct mt_thread *t = mt_enter();
    if (!t)
        return mt_real.calloc(n, size);
    size_t total = n * size; /* the real calloc fails on overflow: no record */
    return after_alloc(t, MT_FN_CALLOC, mt_real.calloc(n, size), total);
}

__attribute__((visibility("default"))) void free(void *p)
{
    if (!p || MT_UNLIKELY(is_boot(p)))
        return;
    if (MT_UNLIKELY(!ready()))
        return; /* cannot happen: p came from a real allocator we resolved */
    struct mt_thread *t = mt_enter();
    if (!t) {
        mt_passing_release(p);
        mt_real.free(p);
        return;
    }
    record_free(t, MT_REC_FREE, p);
    if (MT_UNLIKELY(mt_real.glibc && glibc_chunk_size(p) >= MT_BIG_BLOCK))
        mt_big_free_sample(t);
    mt_real.free(p);
    mt_leave(t);
}

/* realloc of a bootstrap block: move it to the real heap, recorded as an
 * allocation (the bootstrap block itself was never recorded). */
static MT_COLD void *realloc_from_boot(void *p, size_t n)
{
    void *q = malloc(n);
    if (q) {
        size_t old = boot_size(p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

/* realloc and reallocarray forget the old block before the call (another
 * thread may be handed that address the moment the real realloc releases
 * it) and make it live again if the call fails. */
static void *traced_realloc(unsigned fn, void *p, size_t n)
{
    struct mt_thread *t = mt_enter();
    if (!t) {
        mt_passing_release(p);
        return mt_real.realloc(p, n);
    }
    int recorded = p && mt_sample_free(p);
    if (recorded)
        mt_record_free(t, MT_REC_REALLOC_FREE, p);
    t->releasing = p;
    void *q = mt_real.realloc(p, n);
    t->releasing = NULL;
    if (!q && recorded && n) { /* realloc(p, 0) frees p: nothing to undo then */
        mt_sample_restore(p);
        mt_record_free(t, MT_REC_REALLOC_UNDO, p);
    }
    return after_alloc(t, fn, q, n);
}

__attribute__((visibility("default"))) void *realloc(void *p, size_t n)
{
    if (MT_UNLIKELY(!ready()))
        return p ? NULL : boot_alloc(n);
    if (MT_UNLIKELY(is_boot(p)))
        return realloc_from_boot(p, n);
    return traced_realloc(MT_FN_REALLOC, p, n);
}

/* glibc's reallocarray is an overflow check in front of realloc; with the
 * check done here, it is realloc of the product. */
__attribute__((visibility("default"))) void *reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (MT_UNLIKELY(!ready() || is_boot(p)))
        return realloc(p, total);
    return traced_realloc(MT_FN_REALLOCARRAY, p, total);
}

__attribute__((visibility("default"))) int posix_memalign(void **out, size_t align, size_t n)
{
    mt_resolve_real();
    struct mt_thread *t = mt_enter();
    if (!t)
        return mt_real.posix_memalign(out, align, n);
    int rc = mt_real.posix_memalign(out, align, n);
    after_alloc(t, MT_FN_POSIX_MEMALIGN, rc == 0 ? *out : NULL, n);
    return rc;
}

__attribute__((visibility("default"))) void *aligned_alloc(size_t align, size_t n)
{
    mt_resolve_real();
    struct mt_thread *t = mt_enter();
    if (!t)
        return mt_real.aligned_alloc(align, n);
    return after_alloc(t, MT_FN_ALIGNED_ALLOC, mt_real.aligned_alloc(align, n), n);
}

__attribute__((visibility("default"))) void *memalign(size_t align, size_t n)
{
    mt_resolve_real();
    struct mt_thread *t = mt_enter();
    if (!t)
        return mt_real.memalign(align, n);
    return after_alloc(t, MT_FN_MEMALIGN, mt_real.memalign(align, n), n);
}

__attribute__((visibility("default"))) void *valloc(size_t n)
{
    mt_resolve_real();
    struct mt_thread *t = mt_enter();
    if (!t)
        return mt_real.valloc(n);
    return after_alloc(t, MT_FN_VALLOC, mt_real.valloc(n), n);
}

__attribute__((visibility("default"))) void *pvalloc(size_t n)
{
    mt_resolve_real();
    struct mt_thread *t = mt_enter();
    if (!t)
        return mt_real.pvalloc(n);
    return after_alloc(t, MT_FN_PVALLOC, mt_real.pvalloc(n), n);
}

__attribute__((visibility("default"))) size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    if (is_boot(p))
        return boot_size(p);
    mt_resolve_real();
    return mt_real.malloc_usable_size(p);
}

/* Not an allocator: code unloaded here may be replaced by other code at the
 * same addresses, so the fast walker's rules for them must go (unwind.c). */
__attribute__((visibility("default"))) int dlclose(void *handle)
{
    mt_resolve_real();
    int rc = mt_real.dlclose ? mt_real.dlclose(handle) : -1;
    int saved = errno;
    mt_unwind_forget();
    errno = saved;
    return rc;
}
