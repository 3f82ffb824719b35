"""py_subinterp.py - four subinterpreters, each with its own GIL (3.12+),
allocating at once on four threads: the allocator hooks are the process's,
so they run concurrently here, not one thread at a time. Each interpreter
makes ROUNDS * N bytearrays of odd sizes 2001..2049 (3.15+: 2034..2082, its
buffer being a bytes object) on WORK_LINE (no other block of this program
has such a size on that line) and keeps at most 500. Prints what the trace
must hold."""
import threading

try:
    import _interpreters as interpreters  # 3.13+

    def create():
        return interpreters.create()
except ImportError:
    import _xxsubinterpreters as interpreters  # 3.12

    def create():
        return interpreters.create(isolated=True)

INTERPRETERS, ROUNDS, N = 4, 5, 20000

CODE = f"""
def work(n):
    keep = []
    for k in range(n):
        keep.append(bytearray(2000 + 2 * (k % 25)))  # WORK_LINE
        if len(keep) == 500:
            keep = []
for r in range({ROUNDS}):
    work({N})
"""

ids = [create() for _ in range(INTERPRETERS)]
threads = [threading.Thread(target=interpreters.run_string, args=(i, CODE)) for i in ids]
for t in threads:
    t.start()
for t in threads:
    t.join()
for i in ids:
    interpreters.destroy(i)
print("buffers", INTERPRETERS * ROUNDS * N, "threads", INTERPRETERS)
