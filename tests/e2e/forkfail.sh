# forkfail.sh - the traced program's own fork and pthread_create fail, with
# the errno the kernel gives (prog_forkfail denies itself clone with a
# seccomp filter): its output and exit status are as untraced, the trace
# is whole (every block before and after the failure, no child trace), and
# the shim's fork handling has put things back as they were: the sampler
# thread samples through the 300 ms after the failed fork (a sampler
# stopped for a fork that never happened would leave that stretch bare),
# and under --sample-rate the sampled set's lock, taken for the fork, is
# free again (every block is of the rate or more: all are recorded, and
# freed).
. "$(dirname "$0")/common.bash"
P=$PROGS/prog_forkfail
"$P" fork >"$T/plain.out" 2>&1
plain_rc=$?
[ $plain_rc -eq 77 ] && skip "no seccomp filter here: $(cat "$T/plain.out")"
check "untraced: fork fails with EAGAIN, exit 7" "$plain_rc $(head -1 "$T/plain.out")" \
    "7 fork: Resource temporarily unavailable"

# run_case NAME MODE [RUN OPTIONS...]
run_case() {
    local name=$1 mode=$2; shift 2
    "$P" "$mode" >"$T/$name.plain" 2>&1
    local want=$?
    timeout 60 "$MT" run "$@" -o "$T/$name.memtap" -- "$P" "$mode" >"$T/$name.out" 2>"$T/$name.err"
    check "$name: exit status as untraced" "$?" "$want"
    check "$name: output as untraced" "$(cat "$T/$name.out")" "$(cat "$T/$name.plain")"
    check "$name: nothing from memtap but its last line" \
        "$(grep -v '^memtap: trace ' "$T/$name.err")" ""
    "$MT" load --all --quiet -o "$T/$name.db" "$T/$name.memtap"
    check "$name: the trace loads" "$?" 0
    db=$T/$name.db
    check "$name: closed, exit status 7" \
        "$(q "$db" "SELECT group_concat(value, ' ') FROM (SELECT value FROM meta WHERE key IN ('closed', 'exit_status') ORDER BY key)")" \
        "1 7"
    check "$name: 100 blocks of 1000 before the failure, 100 of 2000 after, all freed" \
        "$(q "$db" "SELECT sum(size = 1000), sum(size = 2000), sum(size IN (1000, 2000) AND free_seq IS NULL) FROM allocations")" \
        "100|100|0"
}

run_case fork fork
check "fork: no child's trace" "$(ls -A "$T/fork.memtap.d" 2>/dev/null | wc -l)" 0
samples=$(q "$T/fork.db" "SELECT count(*) FROM samples s, markers m WHERE m.label = 'after-failure'
                          AND s.ns > m.ns AND s.ns < m.ns + 250000000")
check_cmp "fork: the sampler samples on after the failed fork (10 ms apart, in 250 ms)" "$samples" -ge 10

run_case sampled fork --sample-rate 1000 --sample-seed 3
check "sampled: the sampled trace says so" "$(q "$T/sampled.db" "SELECT value FROM meta WHERE key = 'sample_rate'")" 1000

run_case thread thread
check "thread: pthread_create failed with EAGAIN" "$(head -1 "$T/thread.out")" \
    "pthread_create: Resource temporarily unavailable"
finish
