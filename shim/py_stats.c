/* py_stats.c - sys._debugmallocstats() as without memtap.
 *
 * CPython prints pymalloc's statistics only when the OBJ domain's
 * allocator is pymalloc's own (_PyMem_PymallocEnabled compares the
 * function pointer), and memtap's hooks wrap it: the statistics would be
 * missing from the output (CPython's test_sys checks them). So the call
 * that prints them runs with the original allocator back in place; the
 * caller holds the GIL, which every user of that domain needs, and the
 * printing allocates nothing from it. A static interpreter's call never
 * reaches here (no PLT), nor does one from a build with
 * -fno-semantic-interposition.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

#include "mt_shim.h"

int _PyObject_DebugMallocStats(FILE *out); /* CPython's (Python.h, not included) */

__attribute__((visibility("default"))) int _PyObject_DebugMallocStats(FILE *out)
{
    static int (*real)(FILE *);
    if (!real)
        real = (int (*)(FILE *))dlsym(RTLD_NEXT, "_PyObject_DebugMallocStats");
    if (!real)
        return 0;
    mt_py_obj_allocator_original(1);
    int printed = real(out);
    mt_py_obj_allocator_original(0);
    return printed;
}
