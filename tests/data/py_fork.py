"""py_fork - a Python program that forks (os.fork, multiprocessing with the
fork start method, a Pool with the default one: forkserver from 3.14) and
spawns (subprocess): nothing may crash or hang, the children's output and
statuses come through, and the parent keeps tracing after each
(parent_after allocates a known amount)."""
import multiprocessing as mp
import os
import subprocess
import sys


def child_job(q):
    q.put(sum(len(bytes(1000)) for _ in range(1000)))  # CHILD_LINE


def pool_job(n):
    return len(bytes(1000 * n))  # CHILD_LINE


def parent_after():
    return [bytearray(10000) for _ in range(50)]  # AFTER_LINE


def main():
    pid = os.fork()
    if pid == 0:
        junk = [bytes(100) for _ in range(10000)]
        os._exit(len(junk) % 7)  # 10000 % 7 == 4
    _, status = os.waitpid(pid, 0)
    print("fork child exit", os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8)
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=child_job, args=(q,))
    p.start()
    print("multiprocessing result", q.get())
    p.join()
    print("multiprocessing exit", p.exitcode)
    with mp.Pool(2) as pool:
        print("pool result", sum(pool.map(pool_job, range(20))))
    out = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True)
    print("subprocess said", out.stdout.strip(), "exit", out.returncode)
    kept = parent_after()
    print("kept", len(kept))


if __name__ == "__main__":
    main()
