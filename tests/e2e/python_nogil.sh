# python_nogil.sh - allocations made while the GIL is released keep their
# Python line. A small C extension (tests/data/nogil_ext.c, built here
# against each CPython present) mallocs, callocs and reallocs with the GIL
# released, from the main thread and from a threading.Thread whose function
# has a non-ASCII name; numpy's np.zeros (calloc without the GIL) where
# numpy is present. Each block's site is the calling Python line, and with
# --native its stack holds the extension's C frame inner to that line.
. "$(dirname "$0")/common.bash"
find_pythons
src="$MT_ROOT/tests/data/py_nogil.py"
ext_src="$MT_ROOT/tests/data/nogil_ext.c"
line_of() { grep -n "# $1\$" "$src" | cut -d: -f1; }
built=0
for py in "${pythons[@]}"; do
    tag=$(py_tag "$py")
    d=$T/ext$tag
    build_ext "$py" "$ext_src" nogil_ext "$d" || continue
    built=$((built + 1))
    args=()
    if "$py" -c "import numpy" 2>/dev/null; then args=(numpy); else echo "SKIP-ONE: $tag: no numpy"; fi
    for mode in python native; do
        opts=()
        [ $mode = native ] && opts=(--native)
        name=g$mode$tag
        PYTHONPATH=$d "$MT" run "${opts[@]}" -o "$T/$name.memtap" -- "$py" "$src" "${args[@]}" \
            >"$T/$name.out" 2>"$T/$name.err"
        check "$tag $mode: exit status" "$?" 0
        "$MT" load --all --quiet "$T/$name.memtap" -o "$T/$name.db"
        db=$T/$name.db
        site() { q "$db" "SELECT function || ':' || line FROM allocation_sites WHERE size = $1 AND file = '$src'"; }
        check "$tag $mode: malloc without the GIL, main thread" "$(site 5000000)" "main:$(line_of MAIN_LINE)"
        check "$tag $mode: calloc without the GIL" "$(site 7000000)" "main:$(line_of ZEROED_LINE)"
        check "$tag $mode: malloc without the GIL, in a thread (a non-ASCII name)" \
              "$(site 3000000)" "größer:$(line_of THREAD_LINE)"
        check "$tag $mode: realloc without the GIL, in a thread" "$(site 6000000)" "größer:$(line_of GROW_LINE)"
        if [ ${#args[@]} -gt 0 ]; then
            check "$tag $mode: numpy's np.zeros (calloc without the GIL)" "$(site 8800000)" "main:$(line_of NUMPY_LINE)"
        fi
        if [ $mode = native ]; then
            # the extension's C function is inner to the Python line
            stack=$(q "$db" "SELECT stack_id FROM allocations WHERE size = 5000000")
            depth() { stack_depths "$db" "$stack" "$1" | head -n 1; }
            c_frame=$(depth "f.kind = 'native' AND f.module_id IN
                             (SELECT id FROM modules WHERE path LIKE '%nogil_ext%')")
            py_frame=$(depth "f.kind = 'python' AND f.line = $(line_of MAIN_LINE)")
            check_cmp "$tag native: the extension's C frame is inner to the Python line" \
                      "${c_frame:-99}" -lt "${py_frame:--1}"
        fi
    done
done
[ $built -gt 0 ] || skip "no CPython with its headers to build the extension"
finish
