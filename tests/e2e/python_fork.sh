# python_fork.sh - a Python program that forks (os.fork, multiprocessing
# with fork) and runs a subprocess, under memtap: same output as without,
# no hang (time limit), and the parent's trace stays valid and keeps
# tracing after the children.
. "$(dirname "$0")/common.bash"
py=$(ls -d "$(pyenv root 2>/dev/null || echo /root/.pyenv)"/versions/3.12.*/bin/python3.12 2>/dev/null | tail -n 1)
[ -n "$py" ] || py=$(command -v python3.11 || command -v python3)
[ -n "$py" ] || skip "no python3"
src="$MT_ROOT/tests/data/py_fork.py"
"$py" "$src" >"$T/plain.out" 2>"$T/plain.err"
want=$?
timeout 60 "$MT" run -o "$T/f.memtap" "$py" "$src" >"$T/f.out" 2>"$T/f.err"
check "exit status" "$?" "$want"
cmp -s "$T/plain.out" "$T/f.out"
check "same output" "$?" 0
cat "$T/f.out"
check "no warnings from the shim" "$(grep -v '^memtap: trace ' "$T/f.err" | grep -c memtap)" 0
"$MT" load -q "$T/f.memtap" -o "$T/f.db"
check "parent trace loads" "$?" 0
line=$(grep -n '# AFTER_LINE' "$src" | cut -d: -f1)
check "parent traced after the children" \
      "$(q "$T/f.db" "SELECT count(*) FROM allocation_sites WHERE function = 'parent_after' AND line = $line AND size >= 10000")" 50
check "nothing of the forked children" \
      "$(q "$T/f.db" "SELECT count(*) FROM allocation_sites WHERE function = 'child_job'")" 0
check "no unmatched frees from children" "$(q "$T/f.db" "SELECT value FROM meta WHERE key = 'lost_frees'")" 0
finish
