/* py_sampled.c - the lean front of the PyMem hooks while sampling by bytes.
 *
 * Sampling records about one allocation in SIZE bytes: nearly every
 * PyMem/PyObject call is one the countdown passes over, or the free of a
 * block that was never recorded. The full hooks (python.c) are compiled
 * for recording, the stack walk inline, and pay for it on every call
 * (registers saved and restored, a larger function). These hooks do only
 * what such a call needs: the countdown, or the sampled set's filter, and
 * the interpreter's own allocator. Anything else, an allocation the
 * countdown reaches, a free the filter cannot rule out, a code object's
 * free, a call nested in a hook, tracing off or between windows, goes to
 * the full hook, which decides as before: the lean hooks only take calls
 * whose outcome is "not recorded".
 *
 * The recursion guard is held only around an allocation the interpreter's
 * allocator may pass on to malloc (so that the malloc behind a large block
 * is not counted as an allocation of its own): holding it costs a frame of
 * the hook's own (a call and a return more: 12% of threads.py's run here,
 * 2.5 ns a call), where the other calls are tail calls. pymalloc serves 1
 * to 512 bytes from its pools, so those calls go straight to it. A free
 * needs no guard: the free behind it (of a large block) finds the block
 * not recorded too, in interpose.c's free.
 *
 * Must not: allocate, lock, or change errno.
 */
#include "py_domain.h"
#include "record.h"
#include "sampling.h"

/* An allocation of n bytes that the countdown passes over: the bytes are
 * counted here, as mt_sample_alloc would have. */
static MT_ALWAYS_INLINE int passed_over(struct mt_thread *t, size_t n)
{
    return n < mt_sample_rate && t->sample_left > (int64_t)n && !t->guard && mt_enabled &&
           mt_sampling.recording;
}

static void *lean_malloc(void *ctx, size_t n)
{
    struct mt_py_domain *d = ctx;
    struct mt_thread *t = &mt_self;
    if (MT_UNLIKELY(!passed_over(t, n)))
        return d->full.malloc(ctx, n);
    /* counted before the call, so that it can be the last: a failed
     * allocation's bytes count too (rare; the countdown only moves on) */
    t->sample_left -= (int64_t)n;
    if (MT_LIKELY(n - 1 < d->unguarded_max))
        return d->orig.malloc(d->orig.ctx, n);
    t->guard = 1;
    void *p = d->orig.malloc(d->orig.ctx, n);
    mt_leave(t);
    return p;
}

static void *lean_calloc(void *ctx, size_t nelem, size_t elsize)
{
    struct mt_py_domain *d = ctx;
    struct mt_thread *t = &mt_self;
    size_t n;
    if (MT_UNLIKELY(__builtin_mul_overflow(nelem, elsize, &n) || !passed_over(t, n)))
        return d->full.calloc(ctx, nelem, elsize);
    t->sample_left -= (int64_t)n;
    if (MT_LIKELY(n - 1 < d->unguarded_max))
        return d->orig.calloc(d->orig.ctx, nelem, elsize);
    t->guard = 1;
    void *p = d->orig.calloc(d->orig.ctx, nelem, elsize);
    mt_leave(t);
    return p;
}

static void lean_free(void *ctx, void *p)
{
    struct mt_py_domain *d = ctx;
    struct mt_thread *t = &mt_self;
    /* ob_type: every block of the OBJ domain holds at least 16 bytes */
    if (MT_UNLIKELY(!p || t->guard || mt_sample_may_hold(p) ||
                    (d->code_type && *(const void *const *)((const char *)p + 8) == d->code_type))) {
        d->full.free(ctx, p);
        return;
    }
    d->orig.free(d->orig.ctx, p);
}

void mt_py_lean_hooks(struct mt_py_domain *d, struct py_allocator *w, int pymalloc)
{
    d->full = *w;
    d->unguarded_max = pymalloc ? 512 : 0;
    w->malloc = lean_malloc;
    w->calloc = lean_calloc;
    w->free = lean_free;
}
