/* finalize.c - Py_Finalize and Py_FinalizeEx, as a program that embeds
 * CPython calls them: the real ones, then a marker that the interpreter's
 * teardown has ended and the program goes on.
 *
 * Why: for a Python program the loader takes "exit" at the start of the
 * interpreter's teardown (the python-exit marker: the teardown frees module
 * globals, which the program left behind). A C program that embeds CPython
 * ends later, at its own exit: what it frees after Py_Finalize is freed,
 * and what it allocates then and never frees is a leak. This marker tells
 * the loader that the process went on after the teardown, so that its exit
 * is the end of the trace. And the program may initialize the interpreter
 * again, whose allocators are then the default ones on 3.12+: memtap's
 * hooks are installed again (python.c, mt_py_finalized).
 *
 * Only a call from outside the interpreter counts: libpython's own main
 * (python3 itself) may reach these through the PLT too (a build without
 * -fno-semantic-interposition), and for it the teardown is the end. A
 * static interpreter's calls never reach them. Runs on the program's
 * behalf, outside any allocation; a process that never calls them pays
 * nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "mt_shim.h"

/* CPython's own declarations (Python.h, not included here). */
int Py_FinalizeEx(void);
void Py_Finalize(void);

/* Whether code at `caller` lies outside the object that defines `real`. */
static int from_outside(const void *caller, const void *real)
{
    Dl_info c, r;
    if (!dladdr(caller, &c) || !dladdr(real, &r))
        return 0; /* unknown: keep the Python program's exit */
    return c.dli_fbase != r.dli_fbase;
}

static void finalized(const void *caller, const void *real)
{
    if (mt_enabled && mt_py_active && from_outside(caller, real)) {
        (void)mt_marker_internal(MT_MARKER_PYTHON_FINALIZED);
        mt_py_finalized();
    }
}

__attribute__((visibility("default"))) int Py_FinalizeEx(void)
{
    static int (*real)(void);
    if (!real)
        real = (int (*)(void))dlsym(RTLD_NEXT, "Py_FinalizeEx");
    if (!real)
        return -1; /* no interpreter: nothing to finalize */
    int rc = real();
    finalized(__builtin_return_address(0), (const void *)real);
    return rc;
}

__attribute__((visibility("default"))) void Py_Finalize(void)
{
    static void (*real)(void);
    if (!real)
        real = (void (*)(void))dlsym(RTLD_NEXT, "Py_Finalize");
    if (!real)
        return;
    real();
    finalized(__builtin_return_address(0), (const void *)real);
}
