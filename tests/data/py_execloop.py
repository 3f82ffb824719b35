"""py_execloop - the same source compiled and run again and again (as a
template engine or a plugin loader might): each round's module and function
code objects usually take the addresses of the round before's, which died.
Each is a new code object, with its own file name, and must keep its own
frames: the module's (it makes the function) and the function's (it makes
the bytes kept).

Prints ROUNDS and BASE: round i's function made BASE + 1000 + i bytes on
line 2 of exec_<i>.py, still alive at exit."""
import sys

ROUNDS = 3000
KEEP = []
SOURCE = "def g(n):\n    return bytes(n)\n"

for i in range(ROUNDS):
    ns = {}
    exec(compile(SOURCE, f"exec_{i}.py", "exec"), ns)
    KEEP.append(ns["g"](1000 + i))
    del ns
print(f"ROUNDS={ROUNDS} BASE={sys.getsizeof(b'')}")
