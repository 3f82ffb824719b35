"""py_answers.py - known answers for leaks, diff and markers from Python
(tests/e2e/answers.sh). Between the markers "before" and "after", the line
marked LEAK keeps N bytearrays of SIZE bytes (object and buffer both
allocated on that line); everything else on the way is freed. It prints
the exact growth expected on that line, as sys.getsizeof sees it."""
import os
import signal
import sys
import time

import memtap

N, SIZE = 200, 10000

assert memtap.is_traced(), "memtap module loaded but the process is not traced"
leak = [None] * N
memtap.marker(b"before")
for i in range(N):
    leak[i] = bytearray(SIZE)  # LEAK
    junk = [str(j) for j in range(50)]
    time.sleep(0.001)
del junk
memtap.marker(b"after")
os.kill(os.getpid(), signal.SIGUSR2)
time.sleep(0.05)
line = next(n for n, text in enumerate(open(__file__), 1) if text.rstrip().endswith("# LEAK"))
print(f"LEAK_LINE={line} LEAK_BYTES={N * sys.getsizeof(bytearray(SIZE))} LEAK_COUNT={2 * N}")
