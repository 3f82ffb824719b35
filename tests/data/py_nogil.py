# py_nogil.py - allocations made with the GIL released (python_nogil.sh):
# each must sit at the Python line that called into C, in the main thread
# and in a threading.Thread, by malloc, calloc and realloc. Names with
# non-ASCII letters: their text is read without the GIL too.
import sys
import threading

import nogil_ext


def größer(n):
    nogil_ext.hold(n)  # THREAD_LINE
    nogil_ext.grow(2 * n)  # GROW_LINE


def main():
    nogil_ext.hold(5_000_000)  # MAIN_LINE
    nogil_ext.hold_zeroed(7_000_000)  # ZEROED_LINE
    t = threading.Thread(target=größer, args=(3_000_000,))
    t.start()
    t.join()
    if len(sys.argv) > 1:  # numpy, where present: its calloc runs without the GIL
        import numpy as np
        a = np.zeros(1_100_000)  # NUMPY_LINE
        print(a.nbytes)
        sys.modules["__main__"].keep = a


main()
