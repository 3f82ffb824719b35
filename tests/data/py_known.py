"""py_known - Python allocations with known sizes, for exact attribution.

keep_alive() holds N bytearrays at the heap peak, all allocated on one line;
leak_some() leaves M bytes objects (and the list array holding them) alive
at exit, all from one line. The
program prints the exact bytes each line allocated (sys.getsizeof of these
non-GC objects is exactly what their allocations requested) and the line
numbers, so the test compares against the program's own figures.
"""
import sys
import threading

N, M = 40, 100
LEAK = []


def keep_alive():
    held = [None] * N
    for i in range(N):
        held[i] = bytearray(250000)  # KEEP_LINE
    return sum(sys.getsizeof(b) for b in held)


def leak_some():
    for i in range(M):
        LEAK.append(bytes(3000))  # LEAK_LINE


def worker(k, out):
    mine = []
    for i in range(200):
        mine.append(bytes(1000 * k))  # WORKER_LINE
    out[k] = sys.getsizeof(mine[0])


def line_of(tag):
    with open(__file__) as f:
        for n, text in enumerate(f, 1):
            if text.rstrip().endswith("# " + tag):
                return n


def main():
    kept = keep_alive()
    leak_some()
    sizes = {}
    threads = [threading.Thread(target=worker, args=(k, sizes)) for k in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"KEEP_LINE={line_of('KEEP_LINE')} KEEP_BYTES={kept}")
    # the line also grows LEAK's item array (list.append): that is live too
    array = sys.getsizeof(LEAK) - sys.getsizeof([])
    print(f"LEAK_LINE={line_of('LEAK_LINE')} LEAK_BYTES={sum(sys.getsizeof(b) for b in LEAK) + array}")
    print(f"WORKER_LINE={line_of('WORKER_LINE')} WORKER_SIZES={','.join(str(sizes[k]) for k in sorted(sizes))}")


main()
