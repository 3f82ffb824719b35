# python_fork.sh - a Python program that forks (os.fork, multiprocessing
# with fork, a Pool with the default start method: forkserver from 3.14)
# and runs a subprocess, under memtap: same output as without, no hang
# (time limit), and the parent's trace stays valid and keeps tracing after
# the children. Every CPython present.
. "$(dirname "$0")/common.bash"
find_pythons
src="$MT_ROOT/tests/data/py_fork.py"
line=$(grep -n '# AFTER_LINE' "$src" | cut -d: -f1)
children=$(grep -n '# CHILD_LINE' "$src" | cut -d: -f1 | paste -sd,)
for py in "${pythons[@]}"; do
    tag=$(py_tag "$py")
    "$py" "$src" >"$T/plain$tag.out" 2>"$T/plain$tag.err"
    want=$?
    timeout 60 "$MT" run -o "$T/f$tag.memtap" "$py" "$src" >"$T/f$tag.out" 2>"$T/f$tag.err"
    check "$tag: exit status" "$?" "$want"
    cmp -s "$T/plain$tag.out" "$T/f$tag.out"
    check "$tag: same output" "$?" 0
    cat "$T/f$tag.out"
    check "$tag: no warnings from the shim" "$(grep -vE '^memtap: (trace |and [0-9]+ other process)' "$T/f$tag.err" | grep -c memtap)" 0
    "$MT" load --all -q "$T/f$tag.memtap" -o "$T/f$tag.db"
    check "$tag: parent trace loads" "$?" 0
    # by file and line: up to 3.11 the list comprehension is a function of
    # its own (<listcomp>, parent_after.<locals>.<listcomp> from 3.11)
    check "$tag: parent traced after the children" \
          "$(q "$T/f$tag.db" "SELECT count(*) FROM allocation_sites WHERE file = '$src' AND line = $line AND size >= 10000")" 50
    check "$tag: nothing of the forked children" \
          "$(q "$T/f$tag.db" "SELECT count(*) FROM allocation_sites WHERE file = '$src' AND line IN ($children)")" 0
    check "$tag: no unmatched frees from children" "$(q "$T/f$tag.db" "SELECT value FROM meta WHERE key = 'lost_frees'")" 0
done
finish
