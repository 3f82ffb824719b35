#!/bin/bash
# windows.sh - recording windows (issue 26.2): prog_windows allocates A,
# switches recording off, allocates B (and frees an A block), switches it
# on, allocates C (and frees a B block). The trace must hold A and C
# exactly and nothing of B, whether the switch is made from C (memtap.h),
# by a signal (--window-signal), with --paused, or by the clock
# (--start-after); a Python program does the same with memtap.stop() and
# memtap.start(). Frees of blocks allocated outside a window are counted
# as such, never as leaks, and a block recorded in a window and freed
# outside it is freed.
source "$(dirname "$0")/common.bash"

site() { # DB FUNCTION COLUMN-EXPR: over allocations rows of that site
    q "$1" "SELECT $3 FROM allocations a JOIN stacks s ON s.id = a.stack_id
            JOIN frames f ON f.id = s.frame_id WHERE f.function = '$2'"
}

c_case() { # NAME HOW WANT_A WANT_A_LIVE WANT_OUTSIDE RUN-OPTIONS...
    local name=$1 how=$2 want_a=$3 want_a_live=$4 want_outside=$5
    shift 5
    "$MT" run "$@" -o "$T/$name.memtap" -- "$PROGS/prog_windows" "$how" >"$T/$name.out" 2>"$T/$name.err"
    check "$name: exit status" $? 0
    "$MT" load --all --quiet "$T/$name.memtap" -o "$T/$name.db" 2>"$T/$name.load.err"
    check "$name: loads" $? 0
    local db="$T/$name.db"
    check "$name: A recorded" "$(site "$db" in_a "count(*) || ' x ' || coalesce(sum(size), 0)")" "$want_a"
    check "$name: nothing of B" "$(site "$db" in_b "count(*)")" 0
    check "$name: no 2000-byte block" "$(q "$db" "SELECT count(*) FROM allocations WHERE size = 2000")" 0
    check "$name: C recorded" "$(site "$db" in_c "count(*) || ' x ' || sum(size)")" "30 x 90000"
    check "$name: C live at exit" "$(site "$db" in_c "count(*)" )" 30
    check "$name: A blocks unfreed" "$(site "$db" in_a "sum(free_seq IS NULL)")" "$want_a_live"
    check "$name: frees from outside the windows" \
        "$(q "$db" "SELECT value FROM meta WHERE key = 'unmatched_frees'")" "$want_outside"
    check "$name: windows in meta" "$(q "$db" "SELECT value FROM meta WHERE key = 'windows'")" 1
    "$MT" leaks --json "$T/$name.memtap" >"$T/$name.leaks" 2>/dev/null
    check "$name: leaks: nothing of B" "$(grep -c in_b "$T/$name.leaks")" 0
    "$MT" summary "$T/$name.memtap" >"$T/$name.summary" 2>&1
    check "$name: summary says windows" "$(grep -c '^windows ' "$T/$name.summary")" 1
}

# from C: A exactly (one freed while off: freed in the trace), C exactly,
# one outside free (b[0])
c_case api api "10 x 10000" 9 1
check "api: markers" "$(q "$T/api.db" "SELECT group_concat(label, ' ') FROM (SELECT label FROM markers WHERE label LIKE 'memtap:window%' ORDER BY seq)")" \
    "memtap:window-stop memtap:window-start"
# the markers lie between the sites' blocks
check "api: B's time is between the markers" "$(q "$T/api.db" "SELECT (SELECT max(alloc_seq) FROM allocations WHERE size = 1000) < (SELECT seq FROM markers WHERE label = 'memtap:window-stop') AND (SELECT seq FROM markers WHERE label = 'memtap:window-start') < (SELECT min(alloc_seq) FROM allocations WHERE size = 3000)")" 1

# by signal, sent by the program to itself
c_case signal signal "10 x 10000" 9 1 --window-signal USR2

# paused from the start: A is not recorded, its free of a[0] is outside
c_case paused paused "0 x 0" "" 2 --paused

# by the clock: on 700 ms after the start, while the program sleeps 1.5 s
# between B and C
c_case timed timed "0 x 0" "" 2 --paused --start-after 700ms

# by a signal sent from outside to the launcher (passed on to CMD)
"$MT" run --window-signal USR2 -o "$T/ext.memtap" -- "$PROGS/prog_forever" >"$T/ext.out" 2>&1 &
launcher=$!
sleep 0.5
kill -USR2 $launcher; sleep 0.3; kill -USR2 $launcher; sleep 0.3; kill -TERM $launcher
wait $launcher
"$MT" load --quiet "$T/ext.memtap" -o "$T/ext.db" 2>/dev/null
check "signal from outside: two switches" "$(q "$T/ext.db" "SELECT group_concat(label, ' ') FROM (SELECT label FROM markers WHERE label LIKE 'memtap:window%' ORDER BY seq)")" \
    "memtap:window-stop memtap:window-start"

# options the launcher refuses
"$MT" run --start-after 5x -- true >/dev/null 2>&1
check "--start-after 5x refused" $? 125
"$MT" run --window-signal USR2 --snapshot-signal USR2 -- true >/dev/null 2>&1
check "same signal twice refused" $? 125

# Python: memtap.stop() and memtap.start()
find_pythons
cat >"$T/win.py" <<'EOF'
import memtap

a = [bytearray(1000 + i) for i in range(10)]   # line 3: recorded
memtap.stop()
assert not memtap.recording()
b = [bytearray(2000 + i) for i in range(20)]   # line 6: not recorded
del a[0]
memtap.start()
assert memtap.recording()
c = [bytearray(3000 + i) for i in range(30)]   # line 10: recorded
EOF
for py in "${pythons[0]}" "${pythons[${#pythons[@]} - 1]}"; do
    tag=$(py_tag "$py")
    "$MT" run -o "$T/py-$tag.memtap" -- "$py" "$T/win.py" >"$T/py-$tag.out" 2>&1
    check "$tag: exit status" $? 0
    "$MT" leaks --json --top 100000 "$T/py-$tag.memtap" >"$T/py-$tag.leaks" 2>/dev/null
    lines=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
by = {}
for s in d["unfreed"]:
    if (s.get("file") or "").endswith("win.py"):
        by[s["line"]] = by.get(s["line"], 0) + s["bytes"]
print(" ".join(f"{k}:{v}" for k, v in sorted(by.items())))' "$T/py-$tag.leaks")
    # bytearray(n) holds n + 1 bytes (its NUL) in one block, beside its object
    a_bytes=0; for i in $(seq 1 9); do a_bytes=$((a_bytes + 1000 + i + 1)); done
    c_bytes=0; for i in $(seq 0 29); do c_bytes=$((c_bytes + 3000 + i + 1)); done
    got3=$(echo "$lines" | tr ' ' '\n' | sed -n 's/^3://p')
    got10=$(echo "$lines" | tr ' ' '\n' | sed -n 's/^10://p')
    check "$tag: nothing of line 6 (not recorded)" "$(echo "$lines" | tr ' ' '\n' | grep -c '^6:')" 0
    check_cmp "$tag: line 3's buffers live at exit (9 of 10)" "${got3:-0}" -ge "$a_bytes"
    check_cmp "$tag: line 10's buffers live at exit" "${got10:-0}" -ge "$c_bytes"
    check_cmp "$tag: line 10 not more than its objects besides" "${got10:-0}" -lt $((c_bytes + 30 * 100))
done

finish
