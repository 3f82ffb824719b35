/* py_domain.h - CPython's allocator domains as memtap wraps them: the
 * interpreter's own allocator of a domain, and memtap's recording hooks
 * in front of it (python.c installs them; py_sampled.c puts lean hooks in
 * front of those when sampling).
 */
#ifndef MT_PY_DOMAIN_H
#define MT_PY_DOMAIN_H

#include <stddef.h>

/* PyMemAllocatorEx and the domains, as in CPython's public API (stable). */
struct py_allocator {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
};
enum { PYMEM_DOMAIN_MEM = 1, PYMEM_DOMAIN_OBJ = 2 };

/* A wrapped domain; every hook's ctx. */
struct mt_py_domain {
    struct py_allocator orig; /* the interpreter's own, which every hook calls */
    struct py_allocator full; /* memtap's recording hooks (ctx: this domain) */
    unsigned fn_malloc;       /* MT_FN_PYMEM_MALLOC or MT_FN_PYOBJECT_MALLOC */
    const void *code_type;    /* OBJ: PyCode_Type, whose objects' frees the full
                                 hook must see (python.c's code table); else NULL */
    size_t unguarded_max;     /* requests of 1 to this many bytes never reach
                                 malloc from orig (pymalloc's pools: 512) */
};

/* py_sampled.c: with --sample-rate, replaces the malloc, calloc and free of
 * w (d's full hooks, which d->full keeps) by lean ones: an allocation the
 * countdown passes over, or the free of a block not recorded, calls the
 * interpreter's allocator at once, with no stack and no record; the rest
 * go to the full hooks. Realloc stays the full one. pymalloc: whether the
 * interpreter's allocator is pymalloc (which serves 1 to 512 bytes from
 * its pools, never from malloc). */
void mt_py_lean_hooks(struct mt_py_domain *d, struct py_allocator *w, int pymalloc);

#endif
