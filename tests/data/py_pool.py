# py_pool.py METHOD - a multiprocessing.Pool(4) started with METHOD (fork,
# spawn or forkserver). Each worker's initializer takes the next number i
# from a shared counter and holds (i + 1) MB at HELD_LINE until the pool
# ends (terminate: SIGTERM to the workers), and waits at a barrier for the
# other three: no task runs before every worker holds its bytes (a worker
# still starting when the tasks are done would be terminated before).
# process_tree.sh finds each worker's bytes at that line, in its own
# process.
import multiprocessing as mp
import os
import sys

held = None


def init(counter, barrier):
    global held
    with counter.get_lock():
        i = counter.value
        counter.value += 1
    held = bytearray(1_000_000 * (i + 1))  # HELD_LINE
    barrier.wait()


def where(_):
    return os.getpid()


if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    counter = mp.Value("i", 0)
    barrier = mp.Barrier(4)
    with mp.Pool(4, initializer=init, initargs=(counter, barrier)) as pool:
        pids = set(pool.map(where, range(64)))
    print("pool ran on", len(pids) <= 4 and "at most 4 workers")
