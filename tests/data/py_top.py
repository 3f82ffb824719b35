"""py_top.py - a program to watch with `memtap top` (tests/e2e/top.sh):
grows a list by 200 KB ten times a second at one line, for argv[1]
seconds (default 30), while it churns short-lived objects elsewhere."""
import sys
import time

held = []


def grow():
    held.append(bytearray(200_000))  # the growing site


def churn():
    return sum(len(str(i)) for i in range(2000))


def main():
    end = time.monotonic() + float(sys.argv[1] if len(sys.argv) > 1 else 30)
    while time.monotonic() < end:
        grow()
        churn()
        time.sleep(0.1)
    print(f"held {len(held)} buffers")


if __name__ == "__main__":
    main()
