# fork_exec.sh - the process model. fork: the child is not traced and never
# touches the parent's trace; the parent's trace stays valid and holds its
# events from before and after the fork. exec in the same process (shell
# wrappers like pyenv's): the trace follows into the new program. Other
# descendants: not traced, and they print nothing extra.
. "$(dirname "$0")/common.bash"
trace_and_load fork "$PROGS/prog_fork"
check "fork: exit status passed through" "$run_rc" 15
check "fork: loads" "$load_rc" 0
db=$T/fork.db
check "fork: parent_before" "$(q "$db" "SELECT count(*) FROM allocation_sites WHERE function='parent_before'")" 100
check "fork: parent_after" "$(q "$db" "SELECT count(*) FROM allocation_sites WHERE function='parent_after'")" 200
check "fork: nothing of the child" "$(q "$db" "SELECT count(*) FROM allocation_sites WHERE function='child_work'")" 0
check "fork: unmatched frees" "$(q "$db" "SELECT value FROM meta WHERE key='unmatched_frees'")" 0

trace_and_load exec sh -c "exec '$PROGS/prog_known'"
check "exec: exit status" "$run_rc" 0
check "exec: trace is the exec'd program's" "$(q "$T/exec.db" "SELECT count(*) FROM allocation_sites WHERE function='big_block'")" 1
check "exec: executable recorded" "$(q "$T/exec.db" "SELECT value FROM meta WHERE key='executable'")" "$PROGS/prog_known"

trace_and_load child sh -c "'$PROGS/prog_known'; exit 3"
check "child: exit status" "$run_rc" 3
check "child: not traced" "$(q "$T/child.db" "SELECT count(*) FROM allocation_sites WHERE function='big_block'")" 0
check "child: no extra output" "$(grep -vc '^memtap: trace ' "$T/child.err")" 0
finish
