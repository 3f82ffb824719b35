"""py_manycode.py N - N code objects alive at once, each run once (an
allocation in each): more than memtap's code table holds when N is large,
which memtap says at exit (tests/e2e/python.sh)."""
import sys
n = int(sys.argv[1])
src = "def f():\n    return [0] * 3\n"
base = compile(src, "gen.py", "exec").co_consts[0]
keep = []
for i in range(n):
    c = base.replace(co_name="f%d" % i)
    fn = type(lambda: 0)(c, {})
    keep.append(fn)
    fn()
print("made", len(keep))
