# python_arenas.sh - `memtap run --pymalloc arenas` on every CPython present
# (tests/data/py_arenas.py): no block of the MEM or OBJ domain is recorded
# one by one; pymalloc's arenas are, with the stack of the line whose
# objects needed them (with native frames around it under --native); blocks
# too big for pymalloc are the mallocs they are, exact, on their line. With
# PYTHONMALLOC=malloc (no arenas) every block is a malloc on its line.
. "$(dirname "$0")/common.bash"
find_pythons
prog=$MT_ROOT/tests/data/py_arenas.py
"$MT" run --pymalloc objects -o "$T/bad.memtap" true >/dev/null 2>"$T/bad.err"
check "--pymalloc objects: a usage error, memtap run's own status" "$?" 125
check "--pymalloc objects: said why" "$(grep -c "wants 'blocks' or 'arenas'" "$T/bad.err")" 1
check "--pymalloc objects: no trace" "$([ -e "$T/bad.memtap" ] && echo made || echo none)" none
# not a Python: the option does nothing, and the trace does not claim it
"$MT" run --pymalloc arenas -o "$T/c.memtap" "$PROGS/prog_known" >/dev/null 2>&1
check "a C program under --pymalloc arenas: exit status" "$?" 0
"$MT" load --all --quiet "$T/c.memtap" -o "$T/c.db"
check "a C program under --pymalloc arenas: meta says blocks (no arenas)" \
      "$(q "$T/c.db" "SELECT value FROM meta WHERE key = 'pymalloc_arenas'")" 0
for py in "${pythons[@]}"; do
    tag=$(py_tag "$py")
    "$py" "$prog" >"$T/plain$tag.out"
    "$MT" run --pymalloc arenas -o "$T/ar$tag.memtap" "$py" "$prog" >"$T/ar$tag.out" 2>"$T/ar$tag.err"
    check "$tag: exit status" "$?" 0
    check "$tag: the same output as untraced" "$(cmp -s "$T/plain$tag.out" "$T/ar$tag.out" && echo same)" same
    db=$T/ar$tag.db
    "$MT" load --all --quiet "$T/ar$tag.memtap" -o "$db"
    eval "$(tr ' ' '\n' <"$T/ar$tag.out" | grep -E '^(SMALL_BYTES|BIG_BLOCK|SMALL_LINE|BIG_LINE)=')"
    check "$tag: meta says arenas" "$(q "$db" "SELECT value FROM meta WHERE key = 'pymalloc_arenas'")" 1
    check "$tag: the summary says so" "$("$MT" summary "$db" | grep -c "small blocks as pymalloc's arenas")" 1
    check "$tag: and its JSON" "$("$MT" summary --json "$db" | grep -c '"pymalloc_arenas": 1,')" 1
    check "$tag: no MEM or OBJ block recorded one by one" \
          "$(q "$db" "SELECT count(*) FROM allocations_v WHERE allocator LIKE 'PyMem%' OR allocator LIKE 'PyObject%'")" 0
    arenas=$(q "$db" "SELECT coalesce(sum(size), 0) FROM allocation_sites a JOIN allocators r ON r.id = a.allocator
                      WHERE r.name = 'pymalloc_arena' AND file LIKE '%py_arenas.py' AND line = $SMALL_LINE")
    # (some of them may fill free pools of arenas made before that line)
    check_cmp "$tag: arenas on the small objects' line hold 90% of them ($SMALL_BYTES bytes)" \
              "$arenas" -ge "$((SMALL_BYTES * 9 / 10))"
    check_cmp "$tag: and not much more (pool headers, the last arena: +10%, +2 MiB)" \
              "$arenas" -le "$((SMALL_BYTES * 11 / 10 + 2097152))"
    # (3.15's bytearray keeps its bytes in a bytes object: 32 more)
    check "$tag: the 20 big blocks, mallocs of their size on their line" \
          "$(q "$db" "SELECT count(*) || ' ' || r.name FROM allocation_sites a JOIN allocators r ON r.id = a.allocator
                      WHERE size BETWEEN $BIG_BLOCK AND $BIG_BLOCK + 32 AND file LIKE '%py_arenas.py' AND line = $BIG_LINE")" "20 malloc"
    check_cmp "$tag: the peak holds both" \
              "$(q "$db" "SELECT value FROM meta WHERE key = 'peak_bytes'")" -ge "$((SMALL_BYTES + 20 * BIG_BLOCK))"
    # --native: Python and native frames in one stack around an arena
    "$MT" run --native --pymalloc arenas -o "$T/arn$tag.memtap" "$py" "$prog" >/dev/null 2>&1
    "$MT" load --all --quiet "$T/arn$tag.memtap" -o "$T/arn$tag.db"
    check "$tag: --native: an arena's stack has native frames inside and outside its Python line" \
          "$(q "$T/arn$tag.db" "WITH s AS (SELECT a.stack_id FROM allocation_sites a JOIN allocators r ON r.id = a.allocator
                   WHERE r.name = 'pymalloc_arena' AND file LIKE '%py_arenas.py' AND line = $SMALL_LINE LIMIT 1),
             fr AS (SELECT sf.depth, f.kind, f.file, f.line FROM stack_frames sf, s
                    JOIN frames f ON f.id = sf.frame_id WHERE sf.stack_id = s.stack_id),
             py AS (SELECT min(depth) AS d FROM fr WHERE kind = 'python' AND file LIKE '%py_arenas.py' AND line = $SMALL_LINE)
             SELECT (SELECT min(depth) FROM fr WHERE kind = 'native') < py.d
                AND (SELECT max(depth) FROM fr WHERE kind = 'native') > py.d FROM py")" 1
    # no pymalloc: every small object is a malloc, still on its line
    PYTHONMALLOC=malloc "$MT" run --pymalloc arenas -o "$T/arm$tag.memtap" "$py" "$prog" 100000 >/dev/null 2>&1
    "$MT" load --all --quiet "$T/arm$tag.memtap" -o "$T/arm$tag.db"
    check "$tag: PYTHONMALLOC=malloc: no arenas" \
          "$(q "$T/arm$tag.db" "SELECT count(*) FROM allocations_v WHERE allocator = 'pymalloc_arena'")" 0
    check_cmp "$tag: PYTHONMALLOC=malloc: the small objects are mallocs on their line" \
              "$(q "$T/arm$tag.db" "SELECT count(*) FROM allocation_sites WHERE size = 64 AND file LIKE '%py_arenas.py' AND line = $SMALL_LINE")" \
              -ge 100000
done
finish
