/* embed.c - a C program that embeds CPython (tests/e2e/python_embed.sh
 * builds it against each CPython with a shared libpython): it allocates
 * before starting the interpreter, runs Python code twice (two
 * Py_Initialize/Py_Finalize rounds), and allocates after the last one.
 * memtap must find the interpreter by LD_PRELOAD alone, give the Python
 * code's bytes their Python lines in both rounds (3.12+ resets the
 * allocators in between: the hooks must be installed again), and the C code's bytes
 * their native stacks (no Python frame runs there). Its exit is its own,
 * after the interpreter's teardown: the 33333 bytes it frees after the last
 * Py_Finalize are not live at exit, the 11111 and 22222 it never frees are.
 * Prints the lines of its own two mallocs as BEFORE_LINE and AFTER_LINE. */
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char *before = malloc(11111); int before_line = __LINE__;
    char *freed_later = malloc(33333);
    if (!before || !freed_later)
        return 1;
    for (int round = 1; round <= 2; round++) {
        Py_Initialize();
        /* round r keeps 100 bytearrays of r * 1111 bytes (mallocs), and
         * 50,000 small strings (pymalloc blocks, a few arenas) */
        char code[256];
        snprintf(code, sizeof code,
                 "keep = [bytearray(%d) for _ in range(100)]\n"
                 "small = [str(i) for i in range(50000)]\n", round * 1111);
        if (PyRun_SimpleString(code) != 0)
            return 1;
        if (Py_FinalizeEx() != 0)
            return 1;
    }
    char *after = malloc(22222); int after_line = __LINE__;
    if (!after)
        return 1;
    before[0] = after[0] = freed_later[0] = 1;
    free(freed_later);
    printf("BEFORE_LINE=%d AFTER_LINE=%d\n", before_line, after_line);
    return 0;
}
