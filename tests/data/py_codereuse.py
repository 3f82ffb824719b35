"""py_codereuse - code objects that die and are replaced by others, often
at the very same address: each generated function must keep its own bytes.

Every round compiles a new function gen_<i> (its body one line further down
for i % 7 rounds, so each has its own line), calls it once and keeps what it
returned, then drops the function: its code object dies, and the next
round's, of the same size, is usually allocated where it was. memtap keys a
thread's recent stacks by instruction addresses; without noticing the death
it would give gen_<i>'s bytes to an earlier gen_<j>.

py_codereuse.py FILL first makes FILL code objects that stay alive, each run
once (an allocation in each, so each is in memtap's code table): with more
than the table's first generation holds, the generated functions' code
objects must find room in a later one.
"""
import sys

ROUNDS = 300
KEEP = []
FILLERS = []


def fill(n):
    base = compile("def f():\n    return [0] * 3\n", "filler.py", "exec").co_consts[0]
    for i in range(n):
        fn = type(fill)(base.replace(co_name=f"f{i}"), {})
        FILLERS.append(fn)
        fn()


def run():
    for i in range(ROUNDS):
        pad = "\n" * (i % 7)
        src = f"def gen_{i}(n):\n{pad}    return bytes(n)\n"
        ns = {}
        exec(compile(src, "generated.py", "exec"), ns)
        KEEP.append(ns[f"gen_{i}"](1000 + i))
        del ns


fill(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
run()
# gen_<i> allocated BASE + 1000 + i bytes on line 2 + i % 7 of generated.py
print(f"ROUNDS={ROUNDS} BASE={sys.getsizeof(b'')}")
