"""py_fork_peak - a short peak of RSS in a Python parent after a fork, where
memtap's samples are taken in-band (sampler.c): numpy allocates a 64 MiB
array's buffer, then its object (an event, before the fill), then fills it;
the peak then lasts 20 ms of small allocations and ends."""
import os
import time

import numpy as np

pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
a = np.ones(64 << 20, dtype=np.uint8)
junk = []
start = time.perf_counter()
while time.perf_counter() - start < 0.02:
    junk.append(str(len(junk)))
del a, junk
print("done")
