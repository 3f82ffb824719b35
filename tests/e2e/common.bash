# common.bash - helpers for end-to-end tests (sourced). Each test script runs
# real programs under the shim and checks exact numbers; it exits 0 on
# success, 77 to skip (printing "SKIP: why"), anything else on failure.
set -u
MT="$MT_BUILD/memtap"
PROGS="$MT_BUILD/tests"
SHARED="$MT_ROOT/../shared"
# the shared workloads, copied (tests run without ../shared)
WORKLOADS="$MT_ROOT/tests/data/workloads"
# (without its directory, every file would land in / and old ones be read)
T=$(mktemp -d "$MT_OUT/$(basename "$0" .sh).XXXXXX") || { echo "FAIL: no directory in MT_OUT=$MT_OUT"; exit 1; }
failures=0

# q DB SQL - one value (or rows) from a database.
q() { sqlite3 -batch -noheader "$1" "$2"; }

# check NAME GOT WANT
check() {
    if [ "$2" == "$3" ]; then
        echo "ok   $1: $2"
    else
        echo "FAIL $1: got '$2', want '$3'"
        failures=$((failures + 1))
    fi
}

# check_cmp NAME A OP B (numeric: -le, -ge, -gt, -lt, -eq)
check_cmp() {
    if [ "$2" "$3" "$4" ]; then
        echo "ok   $1: $2 $3 $4"
    else
        echo "FAIL $1: $2 $3 $4 is false"
        failures=$((failures + 1))
    fi
}

# stack_depths DB STACK COND - depths (0: innermost) of the frames of stack
# STACK whose `frames` row (alias f) meets COND, in order. Walks that one
# stack: the stack_frames view walks every stack of the database.
stack_depths() {
    q "$1" "WITH RECURSIVE w(depth, node, frame_id) AS
            (SELECT 0, parent, frame_id FROM stacks WHERE id = ${2:-0} UNION ALL
             SELECT w.depth + 1, s.parent, s.frame_id FROM w JOIN stacks s ON s.id = w.node)
            SELECT w.depth FROM w JOIN frames f ON f.id = w.frame_id WHERE $3 ORDER BY w.depth"
}
skip() { echo "SKIP: $*"; exit 77; }

# page_check NAME HTML ARGS... - tests/data/browser_check.py on a page in
# headless Chromium, its lines shown indented: a check NAME that all its
# checks passed, or a SKIP-ONE line where no Chromium is installed.
page_check() {
    local name=$1; shift
    python3 "$MT_ROOT/tests/data/browser_check.py" "$@" >"$T/browser.out" 2>&1
    local rc=$?
    sed 's/^/     /' "$T/browser.out"
    if [ $rc -eq 77 ]; then
        echo "SKIP-ONE: $name: chromium not installed"
    else
        check "$name" "$rc" 0
    fi
}

finish() {
    if [ $failures -ne 0 ]; then
        echo "$failures check(s) failed"
        exit 1
    fi
    rm -rf "$T"
    exit 0
}

# trace_and_load NAME CMD... - runs CMD under memtap into $T/NAME.memtap
# and loads it into $T/NAME.db; the command's exit status is in $run_rc.
trace_and_load() {
    local name=$1; shift
    "$MT" run -o "$T/$name.memtap" -- "$@" >"$T/$name.out" 2>"$T/$name.err"
    run_rc=$?
    "$MT" load --all --quiet "$T/$name.memtap" -o "$T/$name.db" 2>"$T/$name.load.err"
    load_rc=$?
    if [ $load_rc -ne 0 ]; then
        echo "load failed:"; cat "$T/$name.load.err"
    fi
}

# Where scripts/fetch-python unpacked Debian unstable's CPython 3.14 and 3.15
# (and numpy for them).
fetched_pythons=${MEMTAP_FETCHED_PYTHONS:-$HOME/.cache/memtap/cpython-debian}

# py_tag PY - the interpreter's version, "3.X", with "-debian" for Debian's
# static builds (symbols stripped: native frames have no names).
py_tag() {
    local v
    v=$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])') || return
    case $1 in
        /usr/bin/* | "$fetched_pythons"/*) echo "$v-debian" ;;
        *) echo "$v" ;;
    esac
}

# build_ext PY SRC NAME DIR - builds the C extension SRC as module NAME
# against interpreter PY into DIR (headers: sysconfig's, or beside a
# relocated interpreter: the fetched ones). Returns 0 when built; 2 when PY
# has no Python.h (says SKIP-ONE); 1 when it does not build (says FAIL and
# counts a failure).
build_ext() {
    local py=$1 src=$2 name=$3 d=$4 tag ver inc suffix
    tag=$(py_tag "$py")
    ver=${tag%-debian}
    inc=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    [ -f "$inc/Python.h" ] || inc=$(dirname "$(dirname "$py")")/include/python$ver
    if [ ! -f "$inc/Python.h" ]; then
        echo "SKIP-ONE: $tag: no Python.h (its -dev package)"
        return 2
    fi
    suffix=$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
    mkdir -p "$d"
    if ! cc -shared -fPIC -O1 -g -I"$inc" -I"$(dirname "$inc")/$(cc -dumpmachine)/python$ver" \
        -idirafter "$(dirname "$inc")" -o "$d/$name$suffix" "$src" 2>"$d/cc.err"; then
        echo "FAIL: $tag: the extension does not build:"; cat "$d/cc.err"
        failures=$((failures + 1))
        return 1
    fi
}

# find_pythons - fills the array `pythons` with every CPython present:
# pyenv 3.9-3.13 (shared builds), Debian unstable's static 3.14 and 3.15
# (in $fetched_pythons; MEMTAP_FETCHED_PYTHONS names another folder than
# the default), and Debian's static /usr/bin/python3.11. Says which are
# missing; skips the test when there is none.
find_pythons() {
    local pyroot v exe
    pyroot=$(pyenv root 2>/dev/null || echo /root/.pyenv)
    pythons=()
    for v in 3.9 3.10 3.11 3.12 3.13; do
        exe=$(ls -d "$pyroot"/versions/$v.*/bin/python$v 2>/dev/null | tail -n 1)
        if [ -n "$exe" ]; then pythons+=("$exe"); else echo "SKIP-ONE: CPython $v not installed (pyenv)"; fi
    done
    for v in 3.14 3.15; do
        exe=$fetched_pythons/usr/bin/python$v
        if [ -x "$exe" ] && "$exe" -c pass 2>/dev/null; then
            pythons+=("$exe")
        else
            echo "SKIP-ONE: CPython $v not fetched (scripts/fetch-python; scripts/install-deps runs it)"
        fi
    done
    # last: tracemalloc_oracle.sh runs its small workloads on the first and
    # the last (3.14+ end those with no line it can compare)
    if [ -x /usr/bin/python3.11 ]; then pythons+=(/usr/bin/python3.11); else echo "SKIP-ONE: Debian python3.11 not installed"; fi
    [ ${#pythons[@]} -gt 0 ] || skip "no CPython interpreter found"
}
