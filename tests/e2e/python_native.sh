# python_native.sh - `memtap run --native` on a Python program: one stack
# with native and Python frames in the right order. For the bytes objects
# made on BUFFER_LINE: C frames (the allocator's callers in the interpreter)
# are inner to the Python line, the Python callers follow in order, native
# start-up frames (main) are outermost, and no eval-loop frame is left
# unreplaced. Every CPython present.
. "$(dirname "$0")/common.bash"
find_pythons
src="$MT_ROOT/tests/data/py_native.py"
line=$(grep -n '# BUFFER_LINE' "$src" | cut -d: -f1)
for py in "${pythons[@]}"; do
    tag=$(py_tag "$py")
    MEMTAP_DEBUG=1 "$MT" run --native -o "$T/n$tag.memtap" "$py" "$src" >/dev/null 2>"$T/n$tag.err"
    check "$tag: exit status" "$?" 0
    # 3.12+: the function running the eval loop is found from the native
    # frame that holds a run's first Python frame (Debian's 3.14 and 3.15:
    # not the exported _PyEval_EvalFrameDefault, but a function beside it)
    case $tag in 3.9* | 3.10* | 3.11*) ;; *)
        check "$tag: the eval loop's function found" \
              "$(grep -c -E "the eval loop's code is (_PyEval_EvalFrameDefault|beside)" "$T/n$tag.err")" 1
    esac
    "$MT" load --all -q "$T/n$tag.memtap" -o "$T/n$tag.db"
    db=$T/n$tag.db
    check "$tag: 20 buffers sited on the Python line" \
          "$(q "$db" "SELECT count(*) FROM allocation_sites WHERE file = '$src' AND line = $line AND size >= 300000")" 20
    stack=$(q "$db" "SELECT stack_id FROM allocation_sites WHERE file = '$src' AND line = $line AND size >= 300000 LIMIT 1")
    frames() { stack_depths "$db" "$stack" "$1"; }
    py_line=$(frames "f.kind = 'python' AND f.line = $line" | head -n 1)
    py_main=$(frames "f.kind = 'python' AND f.function = 'main'" | head -n 1)
    native_inner=$(frames "f.kind = 'native'" | head -n 1)
    c_main=$(frames "f.kind = 'native' AND f.function IN ('main', 'Py_BytesMain', 'Py_RunMain')" | tail -n 1)
    check_cmp "$tag: a C frame is inner to the Python line" "${native_inner:-99}" -lt "${py_line:--1}"
    check_cmp "$tag: Python main() is outer to the line" "${py_main:--1}" -gt "${py_line:-99}"
    check_cmp "$tag: C start-up (Py_RunMain) is outer to Python main()" "${c_main:--1}" -gt "${py_main:-99}"
    check "$tag: no eval-loop frame left in place of Python frames" \
          "$(frames "f.function = '_PyEval_EvalFrameDefault'" | wc -l)" 0
    # 3.12+ with perf trampolines (python -X perf): each run of the eval
    # loop is called through a copy of a trampoline with no unwind table;
    # the walk must go through them (eh_frame.c knows their code) up to
    # C start-up, as without them
    case $tag in 3.9* | 3.10* | 3.11*) ;; *)
        "$MT" run --native -o "$T/np$tag.memtap" "$py" -X perf "$src" >/dev/null 2>&1
        check "$tag -X perf: exit status" "$?" 0
        "$MT" load --all -q "$T/np$tag.memtap" -o "$T/np$tag.db"
        rm -f "/tmp/perf-$(q "$T/np$tag.db" "SELECT value FROM meta WHERE key = 'pid'").map"
        pstack=$(q "$T/np$tag.db" "SELECT stack_id FROM allocation_sites WHERE file = '$src' AND line = $line AND size >= 300000 LIMIT 1")
        pframes() { stack_depths "$T/np$tag.db" "${pstack:-0}" "$1"; }
        p_line=$(pframes "f.kind = 'python' AND f.line = $line" | head -n 1)
        p_main=$(pframes "f.kind = 'python' AND f.function = 'main'" | head -n 1)
        p_c_main=$(pframes "f.kind = 'native' AND f.function IN ('main', 'Py_BytesMain', 'Py_RunMain')" | tail -n 1)
        check_cmp "$tag -X perf: Python main() is outer to the line" "${p_main:--1}" -gt "${p_line:-99}"
        check_cmp "$tag -X perf: C start-up (Py_RunMain) is outer to Python main()" "${p_c_main:--1}" -gt "${p_main:-99}"
        # (a trampoline is anonymous memory: a frame with no module)
        check "$tag -X perf: no trampoline frame in the stack" \
              "$(pframes "f.kind = 'native' AND f.module_id IS NULL" | wc -l)" 0
    esac
    # native sites (peak --native) are the allocator's callers, never
    # CPython's own allocator functions (symbols: not in Debian's stripped build)
    case $tag in *-debian) ;; *)
        check "$tag: no native site is one of CPython's allocator functions" \
              "$(q "$db" "SELECT count(*) FROM stacks s JOIN frames f ON f.id = s.native_site_frame_id
                          WHERE f.function GLOB '*PyObject_Malloc*' OR f.function GLOB '*PyObject_Calloc*'
                             OR f.function GLOB '*PyObject_Realloc*' OR f.function GLOB '*PyMem_*'
                             OR f.function GLOB 'pymalloc_*'")" 0
        check "$tag: the buffers' native site is bytes' constructor" \
              "$(q "$db" "SELECT f.function FROM stacks s JOIN frames f ON f.id = s.native_site_frame_id WHERE s.id = $stack")" \
              "$(case $tag in 3.9 | 3.10) echo _PyBytes_FromSize ;; *) echo bytes_new ;; esac)"
    esac
done
finish
