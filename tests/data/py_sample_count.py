"""py_sample_count.py - 100,000 str objects of about 1,000 bytes, each a
PyObject_Malloc beyond pymalloc's 512 bytes (so a malloc behind it), made
and dropped on one line, which allocates nothing else: 100 MB in all.
Prints their bytes; sampled at a rate above their size, the estimate of
that line's PyObject_Malloc bytes is close to it."""
import sys

sizes = [950 + i for i in range(100)]
for _ in range(1000):
    for n in sizes:
        s = "x" * n
print("BYTES_OF_BLOCKS", 1000 * sum(sys.getsizeof("x" * n) for n in sizes))
