# unwind.sh - the fast native walker (shim/unwind.c) gives libunwind's
# stacks. With MEMTAP_UNWIND_CHECK=1 every stack the fast walker makes is
# walked again by libunwind and compared; the count of disagreements must
# be 0, on stacks of every shape (prog_unwind), a C++ program, and Python
# with --native. Stacks the fast walker cannot follow (a CFA given by an
# expression, a signal frame) must go to libunwind: counted too. And the
# database from a fast-walked trace must match one walked by libunwind
# alone (MEMTAP_FAST_UNWIND=0), site by site. Most walks must end in the
# thread's memo of its last walk (the twins of prog_unwind make it differ
# from the stack by one return address some frames up); a stack found again
# by the walk's key is checked too, and counted among disagreements.
. "$(dirname "$0")/common.bash"
rounds=2000
walks() { grep -o 'native walks: .*' "$T/$1.err"; }
field() { walks "$1" | grep -o "[0-9]* $2" | grep -o '^[0-9]*'; }

MEMTAP_DEBUG=1 MEMTAP_UNWIND_CHECK=1 trace_and_load checked "$PROGS/prog_unwind" $rounds
check "prog_unwind: exit status" "$run_rc" 0
check "prog_unwind: load" "$load_rc" 0
echo "     $(walks checked)"
check "prog_unwind: walks where the fast walker and libunwind disagree" "$(field checked disagreed)" 0
check_cmp "prog_unwind: walks done fast" "$(field checked fast)" -gt $((rounds * 8))
check_cmp "prog_unwind: walks ended in the memo" "$(field checked 'ended in the memo')" -gt $((rounds * 20))
# realigned() once a round, the signal handler once in 100: libunwind's
check_cmp "prog_unwind: walks handed to libunwind" "$(field checked 'by libunwind')" -ge $((rounds + rounds / 100))

MEMTAP_FAST_UNWIND=0 trace_and_load slow "$PROGS/prog_unwind" $rounds
check "prog_unwind, libunwind only: exit status" "$run_rc" 0
sites() { q "$T/$1.db" "SELECT function || ' ' || count(*) FROM allocation_sites
                        WHERE function IS NOT NULL GROUP BY function ORDER BY function"; }
check "prog_unwind: allocations per function, fast = libunwind" "$(sites checked)" "$(sites slow)"
per() { q "$T/checked.db" "SELECT count(*) FROM allocation_sites WHERE function = '$1'"; }
check "realigned: one allocation a round" "$(per realigned)" $rounds
check "on_signal: one allocation a signal" "$(per on_signal)" $((rounds / 100))
# Whole stacks, not just leaves: the deepest frames' functions, in order.
chain() { q "$T/$1.db" "SELECT group_concat(function, ' < ') FROM (SELECT f.function FROM stack_frames sf
                        JOIN frames f ON f.id = sf.frame_id WHERE sf.stack_id =
                        (SELECT stack_id FROM allocation_sites WHERE function = 'leaf_nofp'
                         AND thread_id != (SELECT min(thread_id) FROM allocations) LIMIT 1)
                        ORDER BY sf.depth LIMIT 4)"; }
check "prog_unwind: a thread's stack" "$(chain checked)" "leaf_nofp < thread_main < start_thread < __clone3"
check "prog_unwind: the same stack by libunwind" "$(chain slow)" "$(chain checked)"

MEMTAP_DEBUG=1 MEMTAP_UNWIND_CHECK=1 trace_and_load cxx "$PROGS/prog_known"
check "prog_known (C++): exit status" "$run_rc" 0
echo "     $(walks cxx)"
check "prog_known (C++): disagreements" "$(field cxx disagreed)" 0

py=
for p in /usr/bin/python3.11 "$(ls -d "$(pyenv root 2>/dev/null || echo /root/.pyenv)"/versions/3.12.*/bin/python3.12 2>/dev/null | tail -n 1)"; do
    [ -x "$p" ] && py=$p && break
done
if [ -n "$py" ]; then
    MEMTAP_DEBUG=1 MEMTAP_UNWIND_CHECK=1 "$MT" run --native -o "$T/py.memtap" "$py" \
        "$MT_ROOT/tests/data/py_native.py" >/dev/null 2>"$T/py.err"
    check "$py --native: exit status" "$?" 0
    echo "     $(walks py)"
    check "$py --native: disagreements" "$(field py disagreed)" 0
    check_cmp "$py --native: walks done fast" "$(field py fast)" -gt 1000
else
    echo "SKIP-ONE: no CPython for the --native comparison"
fi
finish
