"""py_arenas - known Python allocations for --pymalloc=arenas.

small() keeps N bytes objects of 31 bytes alive, all made on one line: each
is a 64-byte pymalloc block (sys.getsizeof is what it asked for), so the
arenas made by that line hold N * 64 bytes, less what fits in the free
pools of arenas made before it. big() keeps 20
bytearrays of 1 MiB, made on another line: blocks too big for pymalloc,
mallocs of 1 MiB + 1 (3.15: + 33, a bytes object). Prints the figures and the lines.
"""
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000


def small():
    return [b"%031d" % i for i in range(N)]  # SMALL_LINE


def big():
    return [bytearray(1 << 20) for _ in range(20)]  # BIG_LINE


def line_of(tag):
    with open(__file__) as f:
        for n, text in enumerate(f, 1):
            if text.rstrip().endswith("# " + tag):
                return n


kept_small = small()
kept_big = big()
print("SMALL_BYTES=%d" % sum(sys.getsizeof(b) for b in kept_small))
print("BIG_BLOCK=%d" % (len(kept_big[0]) + 1))
print("SMALL_LINE=%d BIG_LINE=%d" % (line_of("SMALL_LINE"), line_of("BIG_LINE")))
