/* hook_floor.c - scripts/bench's mode "hook": a CPython extension that
 * puts a hook in front of the MEM and OBJ allocator domains which only
 * forwards each call to the allocator it replaced. What a workload pays
 * under it is the floor of any tracer that hooks the allocators through
 * PyMem_SetAllocator, as memtap does: the indirect call, and pymalloc no
 * longer inlined into PyObject_Malloc where the interpreter was built so.
 * Loaded by a sitecustomize.py that bench writes beside it. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyMemAllocatorEx orig_mem, orig_obj;

static void *fwd_malloc(void *ctx, size_t n)
{
    PyMemAllocatorEx *o = ctx;
    return o->malloc(o->ctx, n);
}

static void *fwd_calloc(void *ctx, size_t nelem, size_t elsize)
{
    PyMemAllocatorEx *o = ctx;
    return o->calloc(o->ctx, nelem, elsize);
}

static void *fwd_realloc(void *ctx, void *p, size_t n)
{
    PyMemAllocatorEx *o = ctx;
    return o->realloc(o->ctx, p, n);
}

static void fwd_free(void *ctx, void *p)
{
    PyMemAllocatorEx *o = ctx;
    o->free(o->ctx, p);
}

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "memtap_hook_floor", NULL, -1, NULL};

PyMODINIT_FUNC PyInit_memtap_hook_floor(void)
{
    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &orig_mem);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &orig_obj);
    PyMemAllocatorEx mem = {&orig_mem, fwd_malloc, fwd_calloc, fwd_realloc, fwd_free};
    PyMemAllocatorEx obj = {&orig_obj, fwd_malloc, fwd_calloc, fwd_realloc, fwd_free};
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &mem);
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &obj);
    return PyModule_Create(&module);
}
