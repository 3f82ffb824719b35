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
done
finish
