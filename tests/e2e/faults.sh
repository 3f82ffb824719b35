#!/bin/bash
# faults.sh - injected failures of memtap's own calls (issue 28.1), through
# the shim built with fault injection (build/libmemtap-faults.so, shim/
# faults.h): the Nth open, mmap, fallocate (the trace's growth) or sampler
# thread creation fails with the errno the kernel would give. For each:
# the traced program's output and exit status are exactly as untraced,
# memtap says what it stopped doing (a line or two on stderr, none from a
# fault it absorbs), and what it wrote loads (a partial trace says so); a
# trace that could not be written leaves no file behind.
source "$(dirname "$0")/common.bash"
FAULTY="$MT_BUILD/libmemtap-faults.so"
[ -f "$FAULTY" ] || { echo "FAIL: $FAULTY not built (make tests)"; exit 1; }
find_pythons
py=${pythons[${#pythons[@]} - 1]}

plain() { # NAME CMD...: the untraced output and status
    local name=$1; shift
    "$@" >"$T/$name.plain" 2>&1
    echo $? >"$T/$name.plain.rc"
}
faulty() { # NAME FAULT CMD...
    local name=$1 fault=$2; shift 2
    local out="$T/$name.$fault"
    rm -rf "$out.memtap" "$out.memtap.d"
    MEMTAP_SHIM="$FAULTY" MEMTAP_FAULT="$fault" "$MT" run -o "$out.memtap" -- "$@" >"$out.out" 2>"$out.err"
    local rc=$?
    check "$name $fault: exit status as untraced" "$rc" "$(cat "$T/$name.plain.rc")"
    check "$name $fault: output as untraced" "$(md5sum <"$out.out")" "$(grep -v '^memtap: ' "$T/$name.plain" | md5sum)"
    check_cmp "$name $fault: memtap's lines on stderr" "$(grep -c '^memtap: ' "$out.err")" -le 3
    if [ -e "$out.memtap" ]; then
        "$MT" summary --json "$out.memtap" >"$out.json" 2>"$out.load.err"
        check "$name $fault: what was written loads" $? 0
    else
        check "$name $fault: no trace file left behind, and said so" \
            "$(grep -c 'not tracing' "$out.err")" 1
    fi
}
partial_of() { python3 -c 'import json,sys; print("partial" in json.load(open(sys.argv[1])))' "$1"; }

# a C program that grows its trace many times (4 threads, 2 M events)
plain stress "$PROGS/prog_stress" 4 250000
for f in open:1 open:2 open:3 mmap:1 mmap:2 mmap:3 mmap:4 mmap:5 mmap:6 mmap:8 mmap:12 \
         mmap:20 fallocate:1 fallocate:2 fallocate:2+ thread:1; do
    faulty stress "$f" "$PROGS/prog_stress" 4 250000
done
# the handling each fault needs, checked where it shows
check "the trace cannot be created: not traced" "$(grep -c 'not tracing: cannot create' "$T/stress.open:1.err")" 1
check "the trace cannot be mapped at first: not traced" "$(grep -c 'not tracing: cannot map the trace file' "$T/stress.fallocate:1.err")" 1
check "the trace cannot grow: said" "$(grep -c 'tracing stopped: cannot grow the trace file: No space left on device' "$T/stress.fallocate:2+.err")" 1
check "the trace cannot grow: the trace is partial" "$(partial_of "$T/stress.fallocate:2+.json")" True
check "no sampler thread: samples in-band" "$(grep -c 'no sampler thread' "$T/stress.thread:1.err")" 1
check "no sampler thread: the trace is whole" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["allocations"] >= 1000000, "partial" in d)' "$T/stress.thread:1.json")" "True False"

# a Python program: the interpreter's hooks and tables too
plain leaky "$py" "$WORKLOADS/leaky.py" 5000
for f in open:1 open:2 mmap:1 mmap:2 mmap:3 mmap:4 mmap:6 mmap:8 mmap:10 mmap:14 fallocate:2 \
         fallocate:4+ thread:1; do
    faulty leaky "$f" "$py" "$WORKLOADS/leaky.py" 5000
done

finish
