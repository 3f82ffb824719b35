# numpy.sh - numpy_arrays.py (shared workload) under Debian's python3.11:
# the heap peak covers the KNOWN_PEAK_ARRAY_BYTES the script prints, and
# the arrays live at the peak are attributed to the script's own lines
# (their stacks run through them; the innermost frame is numpy's `ones`).
. "$(dirname "$0")/common.bash"
py=/usr/bin/python3.11
[ -x $py ] || skip "Debian python3.11 not installed"
$py -c "import numpy" 2>/dev/null || skip "python3-numpy not installed"
src="$SHARED/bench/workloads/numpy_arrays.py"
[ -f "$src" ] || skip "shared workload numpy_arrays.py not found"
trace_and_load np $py "$src"
check "exit status" "$run_rc" 0
known=$(sed -n 's/^KNOWN_PEAK_ARRAY_BYTES=\([0-9]*\).*/\1/p' "$T/np.out")
check_cmp "script printed its known peak" "${known:-0}" -gt 0
db=$T/np.db
peak=$(q "$db" "SELECT value FROM meta WHERE key = 'peak_bytes'")
check_cmp "heap peak covers the known array bytes" "$peak" -ge "$known"
keep=$(grep -n 'keep = np.ones' "$src" | cut -d: -f1)
big=$(grep -n 'big = \[np.ones' "$src" | cut -d: -f1)
via_script=$(q "$db" "SELECT coalesce(sum(a.size), 0) FROM live_at_peak a WHERE a.size >= 1048576 AND EXISTS
  (SELECT 1 FROM stack_frames sf JOIN frames f ON f.id = sf.frame_id
   WHERE sf.stack_id = a.stack_id AND f.file = '$src' AND f.line IN ($keep, $big))")
check "arrays at the peak come from the script's lines $keep and $big" "$via_script" "$known"
check_cmp "peak RSS at least the heap peak" "$(q "$db" "SELECT max(rss_bytes) FROM samples")" -ge "$peak"
finish
