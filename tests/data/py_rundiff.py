"""Two versions of a program for `memtap diff A B` (tests/e2e/rundiff.sh):
`a` and `b` differ in two sites only: doubled() keeps twice as much in b,
removed() keeps nothing in b; same() is the same in both."""
import sys

MODE = sys.argv[1]
keep = [None] * 400  # no list growth: each site allocates only its blocks
n = 0


def hold(block):
    global n
    keep[n] = block
    n += 1


def doubled():
    for _ in range(200 if MODE == "b" else 100):
        hold(bytearray(10000))


def removed():
    if MODE == "a":
        for _ in range(50):
            hold(bytearray(10000))


def same():
    for _ in range(30):
        hold(bytearray(10000))


doubled()
removed()
same()
