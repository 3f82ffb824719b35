# python_counts.sh - memtap records every call to CPython's allocator
# domains, no more and no fewer (issue 25.7: memray counted half as many
# again on pygments; the difference is memray's, not a loss of memtap's).
# The oracle: tests/data/countalloc.c, built here against each CPython
# present, wraps the MEM and OBJ domains above memtap's hooks and counts
# every call between two markers it writes itself; memtap's database must
# hold the same numbers of allocations (malloc, calloc, realloc) and frees
# in that window, exactly.
. "$(dirname "$0")/common.bash"
find_pythons
src="$MT_ROOT/tests/data/py_counts.py"
ext_src="$MT_ROOT/tests/data/countalloc.c"
built=0
for py in "${pythons[@]}"; do
    tag=$(py_tag "$py")
    d=$T/ext$tag
    build_ext "$py" "$ext_src" countalloc "$d" || continue
    built=$((built + 1))
    trace_and_load "c$tag" "$py" "$src" "$d"
    check "$tag: exit status" "$run_rc" 0
    read -r mallocs callocs reallocs moved frees <"$T/c$tag.out"
    db=$T/c$tag.db
    a=$(q "$db" "SELECT seq FROM markers WHERE label = 'counts-start'")
    b=$(q "$db" "SELECT seq FROM markers WHERE label = 'counts-stop'")
    in="alloc_seq > ${a:-0} AND alloc_seq < ${b:-0}"
    py_fns="(SELECT id FROM allocators WHERE name LIKE 'PyMem_%' OR name LIKE 'PyObject_%')"
    got=$(q "$db" "SELECT sum(al.name LIKE '%_Malloc') || ' ' || sum(al.name LIKE '%_Calloc') || ' ' ||
                   sum(al.name LIKE '%_Realloc') FROM allocations a JOIN allocators al ON al.id = a.allocator
                   WHERE $in AND a.allocator IN $py_fns")
    check "$tag: allocations in the window (malloc calloc realloc), as counted by the oracle" \
          "$got" "$mallocs $callocs $reallocs"
    # frees: the blocks of the Python domains freed in the window, less the
    # old blocks of reallocs (memtap records those as frees; the oracle as
    # reallocs), plus frees of blocks never seen allocated
    freed=$(q "$db" "SELECT (SELECT count(*) FROM allocations WHERE free_seq > ${a:-0} AND free_seq < ${b:-0}
                     AND allocator IN $py_fns) + (SELECT count(*) FROM unmatched_frees WHERE seq > ${a:-0}
                     AND seq < ${b:-0})")
    check "$tag: frees in the window, as counted by the oracle" "$freed" "$((frees + moved))"
    echo "     $tag: $mallocs mallocs, $callocs callocs, $reallocs reallocs, $frees frees"
done
[ $built -gt 0 ] || skip "no CPython with its headers to build the oracle extension"
finish
