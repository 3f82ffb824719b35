# py_child.py - run by a subprocess of process_tree.sh's pipeline: holds a
# known block at CHILD_HELD until it exits.
import sys

kept = bytearray(4_400_000)  # CHILD_HELD
sys.stdout.write("child done\n")
