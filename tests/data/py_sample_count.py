"""py_sample_count.py - 100,000 str objects of about 1,000 bytes, each a
PyObject_Malloc beyond pymalloc's 512 bytes (so a malloc behind it), made
and dropped on one line, which allocates nothing else: 100 MB in all; then
400,000 of about 250 bytes (pymalloc's own), 100 MB on another line.
Prints the bytes of each; sampled at a rate above their sizes, the
estimate of each line's PyObject_Malloc bytes is close to it."""
import sys

sizes = [950 + i for i in range(100)]
for _ in range(1000):
    for n in sizes:
        s = "x" * n
print("BYTES_OF_BLOCKS", 1000 * sum(sys.getsizeof("x" * n) for n in sizes))
small = [200 + i for i in range(100)]
for _ in range(4000):
    for n in small:
        s = "y" * n
print("BYTES_OF_SMALL_BLOCKS", 4000 * sum(sys.getsizeof("y" * n) for n in small))
