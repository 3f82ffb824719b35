# numpy.sh - numpy_arrays.py (shared workload) on every CPython present
# that has numpy (Debian's python3.11 with python3-numpy; Debian unstable's
# 3.14 and 3.15 with the numpy scripts/fetch-python unpacks beside them):
# the heap peak covers the KNOWN_PEAK_ARRAY_BYTES the script prints, the
# arrays live at the peak are attributed to the script's own lines (their
# stacks run through them; the innermost frame is numpy's `ones`), the peak
# RSS covers the heap peak, and with --native each array's stack holds
# numpy's C code inner to its Python lines (also with --pymalloc arenas).
. "$(dirname "$0")/common.bash"
src="$WORKLOADS/numpy_arrays.py"
[ -f "$src" ] || skip "workload numpy_arrays.py not found in $WORKLOADS"
find_pythons
with_numpy=()
without=()
for py in "${pythons[@]}"; do
    if "$py" -c "import numpy" 2>/dev/null; then with_numpy+=("$py"); else without+=("$(py_tag "$py")"); fi
done
[ ${#without[@]} -eq 0 ] ||
    echo "SKIP-ONE: no numpy in CPython ${without[*]} (python3-numpy, or scripts/fetch-python)"
[ ${#with_numpy[@]} -gt 0 ] || skip "no CPython with numpy"
keep=$(grep -n 'keep = np.ones' "$src" | cut -d: -f1)
big=$(grep -n 'big = \[np.ones' "$src" | cut -d: -f1)
for py in "${with_numpy[@]}"; do
    tag=$(py_tag "$py")
    trace_and_load "np$tag" "$py" "$src"
    check "$tag: exit status" "$run_rc" 0
    known=$(sed -n 's/^KNOWN_PEAK_ARRAY_BYTES=\([0-9]*\).*/\1/p' "$T/np$tag.out")
    check_cmp "$tag: script printed its known peak" "${known:-0}" -gt 0
    db=$T/np$tag.db
    peak=$(q "$db" "SELECT value FROM meta WHERE key = 'peak_bytes'")
    check_cmp "$tag: heap peak covers the known array bytes" "$peak" -ge "${known:-0}"
    via_script=$(q "$db" "SELECT coalesce(sum(a.size), 0) FROM live_at_peak a WHERE a.size >= 1048576 AND EXISTS
      (SELECT 1 FROM stack_frames sf JOIN frames f ON f.id = sf.frame_id
       WHERE sf.stack_id = a.stack_id AND f.file = '$src' AND f.line IN ($keep, $big))")
    check "$tag: arrays at the peak come from the script's lines $keep and $big" "$via_script" "${known:-0}"
    check_cmp "$tag: peak RSS at least the heap peak" "$(q "$db" "SELECT max(rss_bytes) FROM samples")" -ge "$peak"

    # --native: every array at the peak has a frame in numpy's C extension
    # (module _multiarray_umath) inner to its innermost Python frame; the
    # same with --pymalloc arenas (the arrays are mallocs either way).
    for extra in "" "--pymalloc arenas"; do
    n=nn$tag${extra:+a}
    # shellcheck disable=SC2086
    "$MT" run --native $extra -o "$T/$n.memtap" -- "$py" "$src" >"$T/$n.out" 2>"$T/$n.err"
    check "$tag: --native${extra:+ $extra}: exit status" "$?" 0
    "$MT" load --all --quiet "$T/$n.memtap" -o "$T/$n.db"
    # (the stacks of the arrays alone are walked: the stack_frames view
    # would walk every stack, for each array)
    check "$tag: --native${extra:+ $extra}: arrays at the peak with numpy's C code under their Python line" \
        "$(q "$T/$n.db" "WITH RECURSIVE
           arrays AS (SELECT DISTINCT stack_id FROM live_at_peak WHERE size >= 1048576),
           walk(stack_id, depth, node, frame_id) AS (SELECT id, 0, parent, frame_id FROM stacks
             WHERE id IN arrays
             UNION ALL SELECT w.stack_id, w.depth + 1, s.parent, s.frame_id
             FROM walk w JOIN stacks s ON s.id = w.node),
           per AS (SELECT w.stack_id,
             min(CASE WHEN m.path LIKE '%_multiarray_umath%' THEN w.depth END) AS numpy_c,
             min(CASE WHEN f.kind = 'python' THEN w.depth END) AS python,
             max(f.file = '$src' AND f.line IN ($keep, $big)) AS via_script
             FROM walk w JOIN frames f ON f.id = w.frame_id
             LEFT JOIN modules m ON m.id = f.module_id GROUP BY w.stack_id)
           SELECT coalesce(sum(a.size), 0) FROM live_at_peak a JOIN per p ON p.stack_id = a.stack_id
           WHERE a.size >= 1048576 AND p.numpy_c < p.python AND p.via_script")" \
        "${known:-0}"
    done

    # In a Python parent after a fork (samples in-band), with no sampler
    # tick in reach: only the in-band burst sees the filled array.
    "$MT" run --sample-ms 60000 -o "$T/fp$tag.memtap" -- "$py" "$MT_ROOT/tests/data/py_fork_peak.py" \
        >"$T/fp$tag.out" 2>&1
    check "$tag: forked parent: exit status" "$?" 0
    "$MT" load --all --quiet "$T/fp$tag.memtap" -o "$T/fp$tag.db"
    # (without it: RSS 66 MB, heap peak 83 MB, on 3.11)
    check_cmp "$tag: forked parent: peak RSS at least the heap peak" \
        "$(q "$T/fp$tag.db" "SELECT max(rss_bytes) FROM samples")" -ge \
        "$(q "$T/fp$tag.db" "SELECT value FROM meta WHERE key = 'peak_bytes'")"
done
finish
