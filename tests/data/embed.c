/* embed.c - a C program that embeds CPython (tests/e2e/python_embed.sh
 * builds it against each CPython with a shared libpython): it allocates
 * before starting the interpreter, runs Python code twice (two
 * Py_Initialize/Py_Finalize rounds), and allocates after the last one.
 * memtap must find the interpreter by LD_PRELOAD alone, give the Python
 * code's bytes their Python lines in both rounds, and the C code's bytes
 * their native stacks (no Python frame runs there).
 * Prints the lines of its own two mallocs as BEFORE_LINE and AFTER_LINE. */
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char *before = malloc(11111); int before_line = __LINE__;
    if (!before)
        return 1;
    for (int round = 1; round <= 2; round++) {
        Py_Initialize();
        /* round r keeps 100 bytearrays of r * 1111 bytes */
        char code[128];
        snprintf(code, sizeof code, "keep = [bytearray(%d) for _ in range(100)]\n", round * 1111);
        if (PyRun_SimpleString(code) != 0)
            return 1;
        if (Py_FinalizeEx() != 0)
            return 1;
    }
    char *after = malloc(22222); int after_line = __LINE__;
    if (!after)
        return 1;
    before[0] = after[0] = 1;
    printf("BEFORE_LINE=%d AFTER_LINE=%d\n", before_line, after_line);
    return 0;
}
