# python_regrtest.sh - a few of CPython's own regression tests, under
# memtap and under memtap --native, give the result they give untraced:
# the allocator API (test_capi: PyMem_GetAllocator/SetAllocator around
# memtap's hooks), tracemalloc hooking on top of memtap, the garbage
# collector, weak references, generators, sys (allocated blocks, frames).
# The oldest and the newest pyenv CPython that have their test package.
. "$(dirname "$0")/common.bash"
find_pythons
with_tests=()
for py in "${pythons[@]}"; do
    case $(py_tag "$py") in *-debian) continue ;; esac # Debian's lack test modules
    if "$py" -c "import test.libregrtest" 2>/dev/null; then with_tests+=("$py"); fi
done
[ ${#with_tests[@]} -gt 0 ] || skip "no CPython with its test package (pyenv builds have it)"
chosen=("${with_tests[0]}")
[ ${#with_tests[@]} -gt 1 ] && chosen+=("${with_tests[${#with_tests[@]} - 1]}")
tests=(test_capi test_tracemalloc test_gc test_weakref test_generators test_sys)
# the counts and the verdict of a regrtest run
verdict() { grep -E '^(Total tests|Result|Tests result):' "$1" | tr '\n' ' '; }
for py in "${chosen[@]}"; do
    tag=$(py_tag "$py")
    timeout 600 "$py" -m test "${tests[@]}" >"$T/plain$tag.out" 2>&1
    want_rc=$?
    want=$(verdict "$T/plain$tag.out")
    check_cmp "$tag: untraced run has a verdict" "${#want}" -gt 0
    for mode in "" --native; do
        name=rt$tag${mode:+-native}
        timeout 900 "$MT" run $mode -o "$T/$name.memtap" -- "$py" -m test "${tests[@]}" >"$T/$name.out" 2>&1
        check "$tag ${mode:-python}: exit status as untraced" "$?" "$want_rc"
        check "$tag ${mode:-python}: same verdict and counts" "$(verdict "$T/$name.out")" "$want"
        "$MT" load --all --quiet "$T/$name.memtap" -o "$T/$name.db"
        check "$tag ${mode:-python}: trace loads" "$?" 0
        rm -f "$T/$name.memtap" "$T/$name.db"
    done
done
finish
