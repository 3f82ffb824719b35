# transparency.sh - programs behave exactly as without memtap: same stdout,
# same stderr (apart from the launcher's own final line), same exit status.
. "$(dirname "$0")/common.bash"
n=0
same() { # same NAME CMD...
    local name=$1; shift
    n=$((n + 1))
    "$@" >"$T/plain.out" 2>"$T/plain.err" <"$T/input"
    local want=$?
    "$MT" run -o "$T/$n.memtap" -- "$@" >"$T/traced.out" 2>"$T/traced.err" <"$T/input"
    local got=$?
    check "$name: exit status" "$got" "$want"
    cmp -s "$T/plain.out" "$T/traced.out"
    check "$name: same stdout" "$?" 0
    grep -vE '^memtap: (trace |and [0-9]+ other process)' "$T/traced.err" >"$T/traced.err2"
    cmp -s "$T/plain.err" "$T/traced.err2"
    check "$name: same stderr" "$?" 0
    check "$name: launcher adds one line" "$(grep -c '^memtap: trace ' "$T/traced.err")" 1
}
seq 1 5000 | shuf --random-source=<(yes) >"$T/input"
same "ls" ls -la /usr/include/elfutils
same "ls missing file" ls /nonexistent-memtap-path
same "sort" sort -n
same "sort -r unique" sort -ru
same "c++ program" "$PROGS/prog_cxx"
same "c++ program exit 7" "$PROGS/prog_cxx" x
same "gcc --version" gcc --version
same "sh pipeline" sh -c 'seq 1 100 | sort -r | head -3; exit 4'
# errno across every hook, cold paths included (new stacks, a thread's first
# segment, new segments), native stacks by libunwind's walk and by memtap's
same "errno kept" "$PROGS/prog_errno"
check "errno kept: says so" "$(cat "$T/traced.out")" "errno kept"
MEMTAP_FAST_UNWIND=0 same "errno kept (libunwind)" "$PROGS/prog_errno"
check "errno kept (libunwind): says so" "$(cat "$T/traced.out")" "errno kept"

# The shim's own mappings (its tables, the trace's 64 GiB of address space,
# the sampler thread's stack) stay out of the area the program's mappings
# grow into, under its libraries: there they split it, and address deltas
# across the split cost the trace bytes (shim/aside.c).
"$MT" run -o "$T/maps.memtap" -- cat /proc/self/maps >"$T/maps" 2>/dev/null
verdict=$(python3 - "$T/maps" "$T/maps.memtap" <<'PY'
import sys
rows = []
for line in open(sys.argv[1]):
    f = line.split()
    lo, hi = (int(x, 16) for x in f[0].split("-"))
    rows.append((lo, hi, f[5] if len(f) > 5 else ""))
libc = min(lo for lo, hi, path in rows if "/libc.so" in path)
trace = [lo for lo, hi, path in rows if path == sys.argv[2]]
near = [f"{lo:x}+{(hi - lo) >> 20}MiB" for lo, hi, path in rows
        if not path and hi - lo >= 1 << 20 and libc - (1 << 40) < lo < libc]
if not trace:
    print("no trace mapping")
elif libc - trace[0] < 1 << 40:
    print(f"trace mapped at {trace[0]:x}, near libc {libc:x}")
else:
    print("near libc: " + " ".join(near) if near else "apart")
PY
)
check "shim mappings apart from the program's" "$verdict" "apart"
finish
