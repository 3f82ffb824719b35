# python.sh - Python programs under memtap on every CPython present (pyenv
# 3.9-3.13 shared builds, Debian's static python3.11, Debian unstable's
# static 3.14 and 3.15 from scripts/fetch-python): bytes attributed to
# exactly the file, function and line that allocated them; threads get
# their own stacks; nothing counted twice against the program's own sizes.
. "$(dirname "$0")/common.bash"
find_pythons
src="$MT_ROOT/tests/data/py_known.py"
for py in "${pythons[@]}"; do
    tag=$(py_tag "$py")
    trace_and_load "py$tag" "$py" "$src"
    check "$tag: exit status" "$run_rc" 0
    check "$tag: loads" "$load_rc" 0
    out=$T/py$tag.out
    eval "$(tr ' ' '\n' <"$out" | grep -E '^(KEEP|LEAK|WORKER)_')"
    db=$T/py$tag.db
    check "$tag: hooks installed (PyObject allocations seen)" \
          "$(q "$db" "SELECT count(*) > 0 FROM allocations_v WHERE allocator LIKE 'PyObject_%'")" 1
    check "$tag: kept bytearrays at the peak, one line" \
          "$(q "$db" "SELECT function || ' ' || bytes || ' ' || count FROM peak_sites WHERE file = '$src' AND line = $KEEP_LINE")" \
          "keep_alive $KEEP_BYTES $((2 * 40))"
    check "$tag: exit point is the Python exit marker" \
          "$(q "$db" "SELECT (SELECT value FROM meta WHERE key='exit_seq') = (SELECT max(seq) FROM markers WHERE label = 'memtap:python-exit')")" 1
    check "$tag: leaked bytes at exit, one line" \
          "$(q "$db" "SELECT function || ' ' || live_at_exit_bytes || ' ' || live_at_exit_count FROM site_totals WHERE file = '$src' AND line = $LEAK_LINE")" \
          "leak_some $LEAK_BYTES 101"
    # each thread made its 200 bytes objects of its own size, on that line
    sizes_in=$(echo "$WORKER_SIZES" | tr -d ' ')
    # (workers start in order, so their thread indexes rise with their size;
    # the indexes themselves depend on when the sampler thread first wrote)
    check "$tag: each worker thread has its own stack" \
          "$(q "$db" "SELECT count(DISTINCT thread_id) || ' ' || group_concat(size || 'x' || n, ' ') FROM (SELECT thread_id, size, count(*) n FROM allocation_sites WHERE file = '$src' AND line = $WORKER_LINE AND size IN ($sizes_in) GROUP BY thread_id, size ORDER BY thread_id)")" \
          "4 $(i=0; for s in ${WORKER_SIZES//,/ }; do i=$((i + 1)); printf '%s%sx200' "$([ $i -gt 1 ] && echo ' ')" $s; done)"
    check "$tag: python frames stored as function (file:line)" \
          "$(q "$db" "SELECT count(*) FROM frame_names WHERE kind = 'python' AND name = 'keep_alive ($src:$KEEP_LINE)'")" 1
    check "$tag: no allocation counted twice (one record per address at a time)" \
          "$(q "$db" "SELECT value FROM meta WHERE key = 'lost_frees'")" 0
    # code objects that die and come back at the same address; every stack
    # found again by its key is checked against a full walk
    MEMTAP_DEBUG=1 MEMTAP_UNWIND_CHECK=1 trace_and_load "reuse$tag" "$py" \
        "$MT_ROOT/tests/data/py_codereuse.py"
    check "$tag: stacks found by key = stacks walked in full" \
          "$(grep -o '[0-9]* disagreed' "$T/reuse$tag.err" | grep -o '^[0-9]*')" 0
    checked=$(grep -o 'checked against a full walk: [0-9]*' "$T/reuse$tag.err" | grep -o '[0-9]*$')
    check "$tag: stacks found by key were checked (over 1000)" "$([ "${checked:-0}" -gt 1000 ] && echo yes || echo "no: ${checked:-none}")" yes
    # <= 3.11: the GIL holder's thread state is read in _PyRuntime, at the
    # offset measured from that version's headers, and checked at start
    case $tag in 3.9* | 3.10* | 3.11*) want="read in _PyRuntime" ;; *) want="asked for by a call" ;; esac
    check "$tag: the thread state is $want" \
          "$(grep -c "the thread state is $want" "$T/reuse$tag.err")" 1
    eval "$(tr ' ' '\n' <"$T/reuse$tag.out" | grep -E '^(ROUNDS|BASE)=')"
    check "$tag: generated functions that replace dead code keep their own bytes and lines" \
          "$(q "$T/reuse$tag.db" "SELECT count(*) FROM site_totals WHERE file = 'generated.py' AND live_at_exit_count = 1 AND live_at_exit_bytes = $BASE + 1000 + CAST(substr(function, 5) AS INTEGER) AND line = 2 + CAST(substr(function, 5) AS INTEGER) % 7")" \
          "$ROUNDS"
    # the same source run 3000 times: each round's code objects are new ones
    # at the addresses of the last round's, which share a frame table slot
    # unless the frame's probe tells them apart
    trace_and_load "exec$tag" "$py" "$MT_ROOT/tests/data/py_execloop.py"
    check "$tag: exec loop: no frame table full" "$(grep -c 'frame table was full' "$T/exec$tag.err")" 0
    eval "$(tr ' ' '\n' <"$T/exec$tag.out" | grep -E '^(ROUNDS|BASE)=')"
    check "$tag: exec loop: each round's function keeps its bytes on its line 2" \
          "$(q "$T/exec$tag.db" "SELECT count(*) FROM site_totals WHERE file = 'exec_' || (live_at_exit_bytes - $BASE - 1000) || '.py' AND function = 'g' AND line = 2 AND live_at_exit_count = 1")" \
          "$ROUNDS"
    check "$tag: exec loop: each round's module code has its own frame" \
          "$(q "$T/exec$tag.db" "SELECT count(DISTINCT file) FROM site_totals WHERE file LIKE 'exec\_%.py' ESCAPE '\\' AND function = '<module>'")" \
          "$ROUNDS"
done
# More code objects than the code table's first three generations hold (252k):
# it grows, and the generated functions that replace dead code objects
# afterwards (in the second generation) still keep their own bytes
py=${pythons[0]}
trace_and_load codes_grow "$py" "$MT_ROOT/tests/data/py_codereuse.py" 300000
check "code table grows: nothing said full" "$(grep -c 'table was full' "$T/codes_grow.err")" 0
eval "$(tr ' ' '\n' <"$T/codes_grow.out" | grep -E '^(ROUNDS|BASE)=')"
check "code table grows: generated functions keep their own bytes and lines" \
      "$(q "$T/codes_grow.db" "SELECT count(*) FROM site_totals WHERE file = 'generated.py' AND live_at_exit_count = 1 AND live_at_exit_bytes = $BASE + 1000 + CAST(substr(function, 5) AS INTEGER) AND line = 2 + CAST(substr(function, 5) AS INTEGER) % 7")" \
      "$ROUNDS"
# Kept to one generation (MEMTAP_TABLE_GENERATIONS=1), the table fills:
# said at exit, and only then
MEMTAP_TABLE_GENERATIONS=1 "$MT" run -o "$T/codes_few.memtap" "$py" "$MT_ROOT/tests/data/py_manycode.py" 1000 >/dev/null 2>"$T/codes_few.err"
MEMTAP_TABLE_GENERATIONS=1 "$MT" run -o "$T/codes_many.memtap" "$py" "$MT_ROOT/tests/data/py_manycode.py" 300000 >/dev/null 2>"$T/codes_many.err"
check "code table full: said when it was" "$(grep -c 'code table was full' "$T/codes_many.err")" 1
check "code table full: not said when it was not" "$(grep -c 'code table was full' "$T/codes_few.err")" 0
# A program that runs tracemalloc itself: its hooks wrap memtap's and free
# their own bookkeeping from inside memtap's hook; no free may be lost.
"$MT" run -o "$T/tm.memtap" "$py" -c "
import tracemalloc; tracemalloc.start(1)
x = [bytes(20) for i in range(100000)]
del x
" 2>/dev/null
"$MT" load --all -q "$T/tm.memtap" -o "$T/tm.db"
check "tracemalloc inside memtap: no lost frees" "$(q "$T/tm.db" "SELECT value FROM meta WHERE key = 'lost_frees'")" 0
# Allocator layers that memtap's hooks wrap (installed before them): -X dev's
# debug hooks (which add a header to every block) and -X tracemalloc. The
# program's own allocations are the same as without them; the frees of the
# layers' own blocks are unmatched, and the summary says so.
cat >"$T/layers.py" <<'PY'
keep = []
for i in range(20000):
    keep.append(b"y" * (100 + i % 900))
    if i % 3 == 0:
        keep.pop(0)
PY
mine() { q "$1" "SELECT count(*) || ' ' || sum(size) FROM allocation_sites WHERE file = '$T/layers.py'
                   AND line = 3 AND size BETWEEN 100 + 33 AND 999 + 33
                   AND allocator = (SELECT id FROM allocators WHERE name = 'PyObject_Malloc')"; }
want=$("$py" -c "print(20000, sum(33 + 100 + i % 900 for i in range(20000)))")
for opt in "" "-X dev" "-X tracemalloc"; do
    tag=layers${opt// /}
    "$MT" run -o "$T/$tag.memtap" "$py" $opt "$T/layers.py" 2>/dev/null
    "$MT" load --all -q "$T/$tag.memtap" -o "$T/$tag.db"
    check "python${opt:+ $opt}: the program's bytes objects" "$(mine "$T/$tag.db")" "$want"
    check "python${opt:+ $opt}: no lost frees" "$(q "$T/$tag.db" "SELECT value FROM meta WHERE key = 'lost_frees'")" 0
done
unmatched=$(q "$T/layers-Xdev.db" "SELECT value FROM meta WHERE key = 'unmatched_frees'")
check "-X dev: the summary counts the frees never seen allocated" \
      "$("$MT" summary "$T/layers-Xdev.db" | grep -c "and $unmatched of blocks never seen allocated")" 1
# Interpreters memtap has no layout for (pyenv's 2.7, 3.6-3.8, and any
# 3.16+ there): said at start, and traced as native programs, with native
# stacks, rather than without any stacks; the program runs as it would.
pyroot=$(pyenv root 2>/dev/null || echo /root/.pyenv)
others=0
for exe in "$pyroot"/versions/*/bin/python*; do
    [[ $(basename "$exe") =~ ^python[23]\.[0-9]+$ ]] || continue
    case $exe in */python3.9 | */python3.1[0-5]) continue ;; esac
    others=$((others + 1))
    v=$(basename "$exe")
    prog='x = bytearray(3000000); print(len(x))'
    trace_and_load "other$v" "$exe" -c "$prog"
    check "$v: exit status" "$run_rc" 0
    check "$v: output as untraced" "$(cat "$T/other$v.out")" "$("$exe" -c "$prog")"
    check "$v: said why there are no Python stacks" \
          "$(grep -c -E 'unsupported CPython version|lacks an API memtap needs' "$T/other$v.err")" 1
    check "$v: native stacks" "$(q "$T/other$v.db" "SELECT value FROM meta WHERE key = 'native_stacks'")" 1
    check "$v: the bytearray's block has its C frames" \
          "$(q "$T/other$v.db" "SELECT count(*) FROM allocations a JOIN stack_frames s ON s.stack_id = a.stack_id
                                  JOIN frames f ON f.id = s.frame_id
                                  WHERE a.size = 3000001 AND f.function = 'PyByteArray_Resize'")" 1
    check "$v: its site is the interpreter's caller of the allocator" \
          "$(q "$T/other$v.db" "SELECT function FROM allocation_sites WHERE size = 3000001")" PyByteArray_Resize
done
[ $others -gt 0 ] || echo "SKIP-ONE: no CPython outside 3.9-3.13 installed (pyenv): unsupported versions untested"
finish
