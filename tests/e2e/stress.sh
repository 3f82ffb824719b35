# stress.sh - 4 threads x 1,000,000 malloc/free pairs at once: every event
# is in the database exactly once (exact counts per thread, every block
# freed, no unmatched free, nothing live twice). 8 threads meeting the same
# new stacks at once: each stack interned once. 2^19 distinct native stacks
# (3.1M trie nodes): the stack tables grow, and every stack stays whole.
. "$(dirname "$0")/common.bash"
MEMTAP_DEBUG=1 trace_and_load stress "$PROGS/prog_stress" 4 1000000
grep -o "changed owner [0-9]* times" "$T/stress.err" | sed "s/^/info: the sequence counter /"
check "exit status" "$run_rc" 0
check "load" "$load_rc" 0
db=$T/stress.db
check "allocations in stress_worker" "$(q "$db" "SELECT count(*) FROM allocation_sites WHERE function='stress_worker'")" 4000000
check "all of them freed" "$(q "$db" "SELECT count(*) FROM allocation_sites WHERE function='stress_worker' AND free_seq IS NOT NULL")" 4000000
check "per thread" "$(q "$db" "SELECT group_concat(n) FROM (SELECT count(*) n FROM allocation_sites WHERE function='stress_worker' GROUP BY thread_id)")" \
      "1000000,1000000,1000000,1000000"
check "unmatched frees" "$(q "$db" "SELECT value FROM meta WHERE key='unmatched_frees'")" 0
check "lost frees" "$(q "$db" "SELECT value FROM meta WHERE key='lost_frees'")" 0
check "torn records" "$(q "$db" "SELECT value FROM meta WHERE key='torn_records'")" 0
check "frees never before their allocation" "$(q "$db" "SELECT count(*) FROM allocations WHERE free_seq <= alloc_seq")" 0
check "sequence numbers unique" "$(q "$db" "SELECT count(*) - count(DISTINCT alloc_seq) FROM allocations")" 0
# the writer's own counts (header) agree with what was loaded
check "writer and loader agree" "$(q "$db" "SELECT value FROM meta WHERE key='allocations'")" \
      "$(grep -o '[0-9]* allocations' "$T/stress.err" | cut -d' ' -f1)"

trace_and_load same "$PROGS/prog_samestack"
check "same stacks: load" "$load_rc" 0
check "same stacks: allocations" "$(q "$T/same.db" "SELECT count(*) FROM allocation_sites WHERE function LIKE 'leaf%'")" 6400
check "same stacks: no node interned twice" \
      "$(q "$T/same.db" "SELECT count(*) FROM (SELECT 1 FROM stacks GROUP BY parent, frame_id HAVING count(*) > 1)")" 0
check "same stacks: one stack per leaf" \
      "$(q "$T/same.db" "SELECT count(DISTINCT stack_id) FROM allocation_sites WHERE function LIKE 'leaf%'")" 8

# More stacks than the tables' first generations hold (stacks.c): path p
# runs through left() for each 1 bit of p, right() for each 0 bit, the
# innermost call for p's highest bit.
"$MT" run --native -o "$T/many.memtap" -- "$PROGS/prog_manystacks" 19 2>"$T/many.err"
check "many stacks: exit status" "$?" 0
"$MT" load --all --quiet "$T/many.memtap" -o "$T/many.db"
check "many stacks: none cut short" "$(grep -c 'cut short' "$T/many.err")" 0
check "many stacks: one per path" \
      "$(q "$T/many.db" "SELECT count(DISTINCT stack_id) FROM allocation_sites WHERE function = 'leaf'")" 524288
check "many stacks: no node interned twice (older generations found)" \
      "$(q "$T/many.db" "SELECT count(*) FROM (SELECT 1 FROM stacks GROUP BY parent, frame_id HAVING count(*) > 1)")" 0
# Kept to their first generations, the same tables fill: stacks are cut
# (said at exit, with how many), and every allocation is still recorded
MEMTAP_TABLE_GENERATIONS=1 "$MT" run --native -o "$T/cut.memtap" -- "$PROGS/prog_manystacks" 19 2>"$T/cut.err"
check "tables kept small: exit status" "$?" 0
check "tables kept small: stacks said cut short" "$(grep -c 'stacks were cut short' "$T/cut.err")" 1
"$MT" load --all --quiet "$T/cut.memtap" -o "$T/cut.db"
check "tables kept small: every 16-byte block still recorded" \
      "$(q "$T/cut.db" "SELECT count(*) FROM allocations WHERE size = 16")" \
      "$(q "$T/many.db" "SELECT count(*) FROM allocations WHERE size = 16")"
# path_frames DB SID - a stack's left/right frames, innermost first, as L and R
path_frames() {
    q "$1" "WITH RECURSIVE w(d, node, fid) AS
        (SELECT 0, parent, frame_id FROM stacks WHERE id = $2
         UNION ALL SELECT d + 1, s.parent, s.frame_id FROM w JOIN stacks s ON s.id = w.node)
        SELECT group_concat(CASE f.function WHEN 'left' THEN 'L' WHEN 'right' THEN 'R' END, '')
        FROM (SELECT * FROM w ORDER BY d) w JOIN frames f ON f.id = w.fid
        WHERE f.function IN ('left', 'right')"
}
want_frames() { python3 -c "print(''.join('L' if c == '1' else 'R' for c in format($1, '019b')))"; }
for p in 0 1 300000 524287; do
    sid=$(q "$T/many.db" "SELECT stack_id FROM allocations WHERE size = 16 ORDER BY alloc_seq LIMIT 1 OFFSET $p")
    check "many stacks: path $p's frames" "$(path_frames "$T/many.db" "$sid")" "$(want_frames $p)"
done

# The same from 4 threads at once (path p by thread p % 4): the tables
# grow while other threads add to them. Two threads may intern one node
# twice (stacks.c): not checked here. Thread k's i-th allocation is path
# 4i + k.
"$MT" run --native -o "$T/many4.memtap" -- "$PROGS/prog_manystacks" 19 4 2>"$T/many4.err"
check "many stacks, 4 threads: exit status" "$?" 0
"$MT" load --all --quiet "$T/many4.memtap" -o "$T/many4.db"
check "many stacks, 4 threads: none cut short" "$(grep -c 'cut short' "$T/many4.err")" 0
check "many stacks, 4 threads: one per path" \
      "$(q "$T/many4.db" "SELECT count(DISTINCT stack_id) FROM allocation_sites WHERE function = 'leaf'")" 524288
for k in 0 1 2 3; do
    tid=$(q "$T/many4.db" "SELECT thread_id FROM allocation_sites WHERE function = 'leaf'
        GROUP BY thread_id ORDER BY min(alloc_seq) LIMIT 1 OFFSET $k")
    # which paths the thread had: its first path's frames, outermost last,
    # are bits 0 and 1 of k
    first=$(q "$T/many4.db" "SELECT stack_id FROM allocations WHERE size = 16 AND thread_id = $tid
        ORDER BY alloc_seq LIMIT 1")
    case $(path_frames "$T/many4.db" "$first") in
        *RR) r=0 ;; *RL) r=1 ;; *LR) r=2 ;; *LL) r=3 ;; *) r=x ;;
    esac
    for i in 1 70000 131071; do
        p=$((4 * i + r))
        sid=$(q "$T/many4.db" "SELECT stack_id FROM allocations WHERE size = 16 AND thread_id = $tid
            ORDER BY alloc_seq LIMIT 1 OFFSET $i")
        check "many stacks, 4 threads: path $p's frames" "$(path_frames "$T/many4.db" "$sid")" \
              "$(want_frames $p)"
    done
done
finish
