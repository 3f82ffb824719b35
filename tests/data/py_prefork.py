# py_prefork.py - a prefork server's pattern: the parent forks 3 workers;
# each leaks a known number of bytes from a line of its own and leaves
# differently: sys.exit(5), os._exit(7), SIGKILL from itself. The parent
# waits for each and prints how it ended.
import os
import signal
import sys

leaked = []


def leak_one():
    leaked.append(bytearray(1_100_000))  # LEAK_1


def leak_two():
    leaked.append(bytearray(2_200_000))  # LEAK_2


def leak_three():
    leaked.append(bytearray(3_300_000))  # LEAK_3


workers = [(leak_one, "exit"), (leak_two, "os_exit"), (leak_three, "kill")]
pids = []
for work, how in workers:
    pid = os.fork()
    if pid == 0:
        work()
        if how == "os_exit":
            os._exit(7)
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        sys.exit(5)
    pids.append(pid)
for pid in pids:
    _, status = os.waitpid(pid, 0)
    print(pid == pids[0] and "first" or pid == pids[1] and "second" or "third",
          os.WIFSIGNALED(status) and "signal %d" % os.WTERMSIG(status)
          or "exit %d" % os.WEXITSTATUS(status))
