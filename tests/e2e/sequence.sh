# sequence.sh - the event sequence when its counter changes owner (see
# shim/sequence.c). Threads take turns under one lock, in bursts long enough
# for each to become the owner; with glibc's tcache off and one arena, a
# block freed by one thread is handed out again to another at once. Every
# event must be there once, and no address may be live twice: the intervals
# [alloc_seq, free_seq) of one address never overlap. The same run with
# ownership off (MEMTAP_OWNED_SEQUENCE=0) must give the same answers.
. "$(dirname "$0")/common.bash"
threads=4 bursts=40 ops=30000
total=$((threads * bursts * ops))
export GLIBC_TUNABLES=glibc.malloc.tcache_count=0 MALLOC_ARENA_MAX=1
for mode in owned atomic; do
    if [ $mode = owned ]; then export MEMTAP_OWNED_SEQUENCE=1; else export MEMTAP_OWNED_SEQUENCE=0; fi
    MEMTAP_DEBUG=1 trace_and_load $mode "$PROGS/prog_handoff" $threads $bursts $ops
    db=$T/$mode.db
    check "$mode: exit status" "$run_rc" 0
    check "$mode: load" "$load_rc" 0
    changes=$(grep -o 'changed owner [0-9]* times' "$T/$mode.err" | grep -o '[0-9]*')
    if [ $mode = owned ]; then
        # one change per turn at least, unless the kernel lacks membarrier
        if [ "${changes:-0}" -eq 0 ] && ! grep -q membarrier /proc/kallsyms 2>/dev/null; then
            echo "SKIP-ONE: no membarrier here: ownership not exercised"
        else
            check_cmp "$mode: owner changes (turns: $((threads * bursts)))" "${changes:-0}" -ge $((threads * bursts / 2))
        fi
    else
        check "$mode: owner never changes" "${changes:-none}" 0
    fi
    check "$mode: allocations in handoff_worker" \
        "$(q "$db" "SELECT count(*) FROM allocation_sites WHERE function='handoff_worker'")" $total
    check "$mode: every block freed" "$(q "$db" "SELECT count(*) FROM allocation_sites WHERE function='handoff_worker' AND free_seq IS NULL")" 0
    check "$mode: unmatched frees" "$(q "$db" "SELECT value FROM meta WHERE key='unmatched_frees'")" 0
    check "$mode: lost frees" "$(q "$db" "SELECT value FROM meta WHERE key='lost_frees'")" 0
    check "$mode: sequence numbers unique" \
        "$(q "$db" "SELECT count(*) - count(DISTINCT alloc_seq) FROM allocations")" 0
    reused=$(q "$db" "SELECT count(*) FROM (SELECT address, thread_id, lag(thread_id) OVER w AS prev
                      FROM allocations WINDOW w AS (PARTITION BY address ORDER BY alloc_seq))
                      WHERE prev IS NOT NULL AND prev != thread_id")
    check_cmp "$mode: addresses reused across threads" "$reused" -gt 1000
    check "$mode: no address live twice" \
        "$(q "$db" "SELECT count(*) FROM (SELECT alloc_seq, lag(alloc_seq) OVER w AS prev_alloc,
                    lag(free_seq) OVER w AS prev_free
                    FROM allocations WINDOW w AS (PARTITION BY address ORDER BY alloc_seq))
                    WHERE prev_alloc IS NOT NULL AND (prev_free IS NULL OR prev_free > alloc_seq)")" 0
done
finish
