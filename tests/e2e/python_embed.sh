# python_embed.sh - a C program that embeds CPython (tests/data/embed.c),
# built against each pyenv CPython that has a shared libpython and its
# headers: memtap finds the interpreter by LD_PRELOAD alone, installs its
# hooks in the first round and has them in the second (3.12+ resets the
# allocators at Py_Initialize: installed again), gives the Python code's
# bytes their line, small blocks too (and arenas with --pymalloc arenas), and the C code's mallocs (no Python frame runs
# there) their native stacks, by default; with --no-native, no stack. Its
# exit is its own (the end of the trace), after the interpreter's teardown.
. "$(dirname "$0")/common.bash"
find_pythons
built=0
for py in "${pythons[@]}"; do
    tag=$(py_tag "$py")
    eval "$("$py" -c '
import sysconfig as s
print("libdir=%s ldlib=%s inc=%s" % (s.get_config_var("LIBDIR"), s.get_config_var("LDLIBRARY"), s.get_paths()["include"]))')"
    case $ldlib in *.so) ;; *) echo "SKIP-ONE: $tag: no shared libpython ($ldlib)"; continue ;; esac
    if [ ! -f "$libdir/$ldlib" ] || [ ! -f "$inc/Python.h" ]; then
        echo "SKIP-ONE: $tag: no $libdir/$ldlib or $inc/Python.h"; continue
    fi
    lib=${ldlib#lib}; lib=${lib%.so}
    prog=$T/embed$tag
    if ! cc -O1 -g -I"$inc" "$MT_ROOT/tests/data/embed.c" -o "$prog" -L"$libdir" -l"$lib" \
            -Wl,-rpath,"$libdir" 2>"$T/cc$tag.err"; then
        check "$tag: embed.c builds" "$(cat "$T/cc$tag.err")" ""
        continue
    fi
    built=$((built + 1))
    trace_and_load "emb$tag" "$prog"
    check "$tag: exit status" "$run_rc" 0
    eval "$(tr ' ' '\n' <"$T/emb$tag.out" | grep -E '^(BEFORE|AFTER)_LINE=')"
    db=$T/emb$tag.db
    for r in 1 2; do
        check "$tag: round $r's bytearrays on their Python line" \
              "$(q "$db" "SELECT count(*) FROM allocation_sites WHERE file = '<string>' AND line = 1 AND size = $r * 1111 + 1")" 100
    done
    # (3.12+ resets the allocators at the second Py_Initialize: memtap's
    # hooks are installed again; before, round 2 had 53 blocks here)
    per_round=$(q "$db" "WITH f AS (SELECT min(seq) AS s FROM markers WHERE label = 'memtap:python-finalized')
        SELECT sum(alloc_seq < f.s) || ' ' || sum(alloc_seq > f.s) FROM allocation_sites, f
        WHERE file = '<string>' AND line = 2")
    check_cmp "$tag: round 1's small strings on their line" "${per_round% *}" -ge 50000
    check "$tag: round 2's as many" "${per_round#* }" "${per_round% *}"
    check "$tag: no free lost (a free in the second install was not traced)" \
          "$(q "$db" "SELECT value FROM meta WHERE key = 'lost_frees'")" 0
    check "$tag: the malloc before the interpreter: main, its line" \
          "$(q "$db" "SELECT function || ':' || line FROM allocation_sites WHERE size = 11111 AND file LIKE '%embed.c'")" "main:$BEFORE_LINE"
    check "$tag: the malloc after the interpreter: main, its line" \
          "$(q "$db" "SELECT function || ':' || line FROM allocation_sites WHERE size = 22222 AND file LIKE '%embed.c'")" "main:$AFTER_LINE"
    check "$tag: every allocation has a stack" "$(q "$db" "SELECT count(*) FROM allocations WHERE stack_id = 0")" 0
    # its exit is the end of the trace, not the start of a Py_Finalize
    check "$tag: each Py_Finalize's return marked" \
          "$(q "$db" "SELECT count(*) FROM markers WHERE label = 'memtap:python-finalized'")" 2
    check "$tag: live at exit: what the C code never freed, not what it freed after Py_Finalize" \
          "$(q "$db" "SELECT group_concat(size) FROM (SELECT size FROM live_at_exit WHERE size IN (11111, 22222, 33333) ORDER BY size)")" \
          "11111,22222"
    "$MT" run --native -o "$T/embm$tag.memtap" "$prog" >/dev/null 2>&1
    "$MT" load --all --quiet "$T/embm$tag.memtap" -o "$T/embm$tag.db"
    check "$tag: --native: a bytearray's stack runs from main through PyRun_SimpleString to its line" \
          "$(q "$T/embm$tag.db" "WITH s AS (SELECT stack_id FROM allocation_sites WHERE size = 1112 AND file = '<string>' LIMIT 1),
             fr AS (SELECT sf.depth, f.kind, f.function, f.line FROM stack_frames sf, s
                    JOIN frames f ON f.id = sf.frame_id WHERE sf.stack_id = s.stack_id)
             SELECT (SELECT min(depth) FROM fr WHERE kind = 'python' AND function = '<module>' AND line = 1)
                  < (SELECT min(depth) FROM fr WHERE function LIKE 'PyRun_SimpleString%')
                AND (SELECT min(depth) FROM fr WHERE function LIKE 'PyRun_SimpleString%')
                  < (SELECT min(depth) FROM fr WHERE function = 'main')")" 1
    "$MT" run --pymalloc arenas -o "$T/emba$tag.memtap" "$prog" >/dev/null 2>&1
    "$MT" load --all --quiet "$T/emba$tag.memtap" -o "$T/emba$tag.db"
    check_cmp "$tag: --pymalloc arenas: round 2's strings make arenas on their line" \
          "$(q "$T/emba$tag.db" "SELECT count(*) FROM allocation_sites a JOIN allocators r ON r.id = a.allocator
             WHERE r.name = 'pymalloc_arena' AND file = '<string>' AND line = 2
               AND alloc_seq > (SELECT min(seq) FROM markers WHERE label = 'memtap:python-finalized')")" -gt 0
    "$MT" run --no-native -o "$T/embn$tag.memtap" "$prog" >/dev/null 2>&1
    "$MT" load --all --quiet "$T/embn$tag.memtap" -o "$T/embn$tag.db"
    check "$tag: --no-native: the C malloc has no stack" \
          "$(q "$T/embn$tag.db" "SELECT stack_id FROM allocations WHERE size = 11111")" 0
    check "$tag: --no-native: Python lines still" \
          "$(q "$T/embn$tag.db" "SELECT count(*) FROM allocation_sites WHERE file = '<string>' AND line = 1 AND size IN (1112, 2223)")" 200
done
[ $built -gt 0 ] || skip "no CPython with a shared libpython and headers"
finish
