# kill.sh - SIGKILL the traced process at several random moments: every
# trace loads, and every free in it matches an allocation (the victim frees
# only what it allocated) or is reported as unmatched.
. "$(dirname "$0")/common.bash"
for i in 1 2 3 4 5 6; do
    delay=$(awk -v s=$RANDOM 'BEGIN { srand(s); printf "%.3f", 0.05 + rand() * 0.6 }')
    "$MT" run -o "$T/k$i.memtap" "$PROGS/prog_forever" 2>"$T/k$i.err" &
    launcher=$!
    sleep "$delay"
    victim=$(pgrep -P $launcher)
    kill -9 $victim
    wait $launcher
    rc=$?
    check "run $i (killed after ${delay}s): launcher exits 128+9" "$rc" 137
    "$MT" load --all --quiet "$T/k$i.memtap" -o "$T/k$i.db" 2>"$T/k$i.load.err"
    check "run $i: loads" "$?" 0
    grep -q "not closed" "$T/k$i.load.err"
    check "run $i: loader warns the trace was not closed" "$?" 0
    db=$T/k$i.db
    allocs=$(q "$db" "SELECT value FROM meta WHERE key='allocations'")
    check_cmp "run $i: allocations recorded" "$allocs" -gt 1000
    check "run $i: unmatched frees" "$(q "$db" "SELECT value FROM meta WHERE key='unmatched_frees'")" 0
    check "run $i: no block live twice" "$(q "$db" "SELECT value FROM meta WHERE key='lost_frees'")" 0
    check "run $i: rows = allocations" "$(q "$db" "SELECT count(*) FROM allocations")" "$allocs"
    check "run $i: freed rows = frees" "$(q "$db" "SELECT count(*) FROM allocations WHERE free_seq IS NOT NULL")" \
          "$(q "$db" "SELECT value FROM meta WHERE key='frees'")"
    # every allocation is churn's, but glibc's pthread_create for the 3 threads
    check "run $i: stacks resolve" "$(q "$db" "SELECT count(*) FROM allocation_sites WHERE function='churn'")" "$((allocs - 3))"
    # how it ended, said in words and in JSON: killed, its heap at the end of the trace
    "$MT" summary "$db" >"$T/k$i.sum" 2>&1
    check "run $i: summary says the signal" "$(grep -c '^ended  *killed by signal 9 (SIGKILL)' "$T/k$i.sum")" 1
    check "run $i: summary says live at the end, not at exit" \
        "$(grep -c '^live at end .*the process did not exit' "$T/k$i.sum")" 1
    "$MT" summary --json "$db" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["ended"], d["exit_signal"], d["exit_status"])' >"$T/k$i.json"
    check "run $i: summary --json: ended by signal 9" "$(cat "$T/k$i.json")" "signal 9 None"
done
# a program that exits: its status
"$MT" run -o "$T/exit3.memtap" sh -c 'exit 3' 2>/dev/null
"$MT" summary "$T/exit3.memtap" >"$T/exit3.sum" 2>&1
check "exit 3: summary says so" "$(grep -c '^ended  *exit status 3$' "$T/exit3.sum")" 1
check "exit 3: live at exit" "$(grep -c '^live at exit ' "$T/exit3.sum")" 1
finish
