# maxrss.py - runs a command untraced and prints its peak RSS in bytes (the
# kernel's maxrss of the child, as /usr/bin/time reports it); the command's
# own output is discarded. Exit status: the command's.
import resource
import subprocess
import sys

rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
sys.exit(rc)
