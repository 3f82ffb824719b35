"""oracle_driver - runs a workload the same way under memtap and under
tracemalloc, so their views of what is live at the end can be compared.

  python oracle_driver.py memtap WORKLOAD [ARGS]       (under `memtap run`)
  python oracle_driver.py tracemalloc WORKLOAD [ARGS]  (prints JSON stats)

Both import the same modules first, then open the window: memtap mode drops
a "start" marker (calling the shim's mt_marker through ctypes), tracemalloc
mode calls tracemalloc.start(). The workload then runs as __main__, and the
window closes: an "end" marker, or a snapshot whose statistics('lineno') are
printed. Only allocations made inside the window count on either side.
Both sides run gc.collect() before closing the window: otherwise which
cyclic garbage is still alive depends on when the collector last ran, and
the two drivers allocate different objects, so it ran at different times.
"""
import ctypes
import gc
import json
import runpy
import sys
import tracemalloc
# What runpy.run_path may import on first use: imported here, before the
# window opens, so that module imports inside it are the workload's own.
import atexit, contextlib, importlib.machinery, importlib.util, pkgutil, typing, weakref  # noqa

mode, workload = sys.argv[1], sys.argv[2]
sys.argv = [workload] + sys.argv[3:]
# The same ctypes work in both modes (CDLL defines a class: class creation
# grows base classes' subclass tables, and where those resize must not
# differ between the two runs).
libc = ctypes.CDLL(None)
marker = libc.mt_marker if mode == "memtap" else libc.getpid
marker.argtypes = [ctypes.c_char_p] if mode == "memtap" else []
if mode == "memtap":
    marker(b"start")
    namespace = runpy.run_path(workload, run_name="__main__")  # kept: module state
    gc.collect()
    marker(b"end")
else:
    tracemalloc.start(1)
    namespace = runpy.run_path(workload, run_name="__main__")  # kept: module state
    gc.collect()
    snap = tracemalloc.take_snapshot()
    tracemalloc.stop()
    stats = [{"file": s.traceback[0].filename, "line": s.traceback[0].lineno,
              "bytes": s.size, "count": s.count} for s in snap.statistics("lineno")]
    sys.stderr.write(json.dumps(stats[:200]) + "\n")
