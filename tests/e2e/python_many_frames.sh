# python_many_frames.sh - a Python program with 250,000 allocating lines
# (2,500 functions of 100 lines, each keeping a bytearray(1001) alive):
# more Python frames than the frame table's first generation holds
# (python.c, tables.c), so it must grow for each line to keep its bytes.
# One CPython (the table does not depend on the version).
. "$(dirname "$0")/common.bash"
find_pythons
py=${pythons[0]}
tag=$(py_tag "$py")
src=$T/many_lines.py
python3 - "$src" <<'PY'
import sys
lines = ["keep = []"]
for f in range(2500):
    lines.append(f"def f{f}():")
    lines += ["    keep.append(bytearray(1001))"] * 100
lines += [f"f{f}()" for f in range(2500)]
lines.append("print(len(keep))")
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
trace_and_load many "$py" "$src"
check "$tag: exit status" "$run_rc" 0
check "$tag: output" "$(cat "$T/many.out")" 250000
check "$tag: no frame table full" "$(grep -c 'frame table was full' "$T/many.err")" 0
# a bytearray(1001)'s buffer: 1002 bytes, or a bytes object of 1034 (3.15)
check "$tag: each allocating line keeps its one buffer" \
    "$(q "$T/many.db" "SELECT count(DISTINCT line) || ' ' || count(*) FROM live_at_exit a
       JOIN stacks s ON s.id = a.stack_id JOIN frames f ON f.id = s.site_frame_id
       WHERE f.file = '$src' AND a.size BETWEEN 1002 AND 1034")" "250000 250000"
finish
