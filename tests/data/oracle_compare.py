"""oracle_compare - memtap against CPython's tracemalloc on one workload.

  python oracle_compare.py MEMTAP PYTHON WORKLOAD OUTDIR [ARGS...]

Runs the workload through oracle_driver.py twice (under `memtap run`, and
with tracemalloc), then compares bytes live at the end of the run per line
(file, line of the innermost Python frame). Passes when memtap's top 10 and
tracemalloc's top 10 lines each appear on the other side within 2% (lines
of the two drivers themselves are left out: they differ by construction).

Only lines holding at least FLOOR bytes at the end take part: below that a
line holds a handful of small blocks, and which class statement happens to
pay for a dict resize (64-168 bytes) differs between any two runs that
created different objects before (here: tracemalloc's own), which alone
moves such a line by more than 2%.
Prints the table either way; exits 1 on a mismatch.
"""
import json
import os
import sqlite3
import subprocess
import sys

memtap, py, workload, out = sys.argv[1:5]
args = sys.argv[5:]
here = os.path.dirname(os.path.abspath(__file__))
driver = os.path.join(here, "oracle_driver.py")
name = os.path.splitext(os.path.basename(workload))[0]
trace, db = os.path.join(out, name + ".memtap"), os.path.join(out, name + ".db")
for f in (trace, db):
    if os.path.exists(f):
        os.unlink(f)  # ours, from an earlier run: memtap never overwrites

subprocess.run([memtap, "run", "-o", trace, py, driver, "memtap", workload] + args,
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
subprocess.run([memtap, "load", "-q", trace, "-o", db], check=True)
rows = sqlite3.connect(db).execute(
    "WITH s AS (SELECT seq FROM markers WHERE label = 'start'),"
    " e AS (SELECT seq FROM markers WHERE label = 'end')"
    " SELECT file, line, sum(size) FROM allocation_sites, s, e"
    " WHERE alloc_seq > s.seq AND alloc_seq <= e.seq AND (free_seq IS NULL OR free_seq > e.seq)"
    " AND file IS NOT NULL GROUP BY file, line").fetchall()
r = subprocess.run([py, driver, "tracemalloc", workload] + args, capture_output=True, text=True,
                   check=True)
stats = json.loads(r.stderr.strip().splitlines()[-1])


def ours(f):
    return f == driver or f.endswith("/tracemalloc.py")


FLOOR = 8192
TOLERANCE = float(os.environ.get("MT_ORACLE_TOLERANCE", "2")) / 100
mall = {(f, l): b for f, l, b in rows}
tall = {(s["file"], s["line"]): s["bytes"] for s in stats}
m = {(f, l): b for f, l, b in rows if not ours(f) and b >= FLOOR}
t = {(s["file"], s["line"]): s["bytes"] for s in stats if not ours(s["file"]) and s["bytes"] >= FLOOR}
if not m and not t:
    sys.exit(f"{workload}: no line holds {FLOOR} bytes at the end: nothing to compare")


def top(d):
    return sorted(d, key=lambda k: (-d[k], k))[:10]


bad = 0
print(f"{workload} on {py}: bytes live at the end of the run, per line (lines >= {FLOOR} B)")
for k in sorted(set(top(m)) | set(top(t)), key=lambda k: -max(m.get(k, 0), t.get(k, 0))):
    a = m.get(k, 0) or mall.get(k, 0)
    b = t.get(k, 0) or tall.get(k, 0)
    ok = b > 0 and abs(a - b) <= TOLERANCE * b
    bad += not ok
    print(f"  {'ok  ' if ok else 'FAIL'} {k[0][-50:]:>50s}:{k[1]:<5d} memtap {a:>10d}"
          f"  tracemalloc {b:>10d}  {100.0 * (a - b) / max(b, 1):+7.2f}%")
sys.exit(1 if bad else 0)
