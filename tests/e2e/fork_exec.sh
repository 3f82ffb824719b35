# fork_exec.sh - the process model. fork: the child never touches the
# parent's trace (it writes RUN.d/PID.memtap: process_tree.sh tests it);
# the parent's trace stays valid and holds its events from before and
# after the fork. exec in the same process (shell wrappers like pyenv's):
# the trace follows into the new program. Other descendants: in their own
# traces, and they print nothing extra. _exit: the trace
# is closed (not from a vfork child, which shares the parent's memory).
. "$(dirname "$0")/common.bash"
trace_and_load fork "$PROGS/prog_fork"
check "fork: exit status passed through" "$run_rc" 15
check "fork: loads" "$load_rc" 0
db=$T/fork.db
check "fork: parent_before" "$(q "$db" "SELECT count(*) FROM allocation_sites WHERE function='parent_before'")" 100
check "fork: parent_after" "$(q "$db" "SELECT count(*) FROM allocation_sites WHERE function='parent_after'")" 200
check "fork: nothing of the child" "$(q "$db" "SELECT count(*) FROM allocation_sites WHERE function='child_work'")" 0
cdb=$(q "$db" "SELECT db_path FROM processes WHERE id = 2")
check "fork: the child's work, in its own database" "$(q "$cdb" "SELECT count(*) FROM allocation_sites WHERE function='child_work'")" 100000
check "fork: the child's exit status (the parent's wait)" "$(q "$db" "SELECT exit_status FROM processes WHERE id = 2")" 5
check "fork: unmatched frees" "$(q "$db" "SELECT value FROM meta WHERE key='unmatched_frees'")" 0

trace_and_load exec sh -c "exec '$PROGS/prog_known'"
check "exec: exit status" "$run_rc" 0
check "exec: trace is the exec'd program's" "$(q "$T/exec.db" "SELECT count(*) FROM allocation_sites WHERE function='big_block'")" 1
check "exec: executable recorded" "$(q "$T/exec.db" "SELECT value FROM meta WHERE key='executable'")" "$PROGS/prog_known"

trace_and_load child sh -c "'$PROGS/prog_known'; exit 3"
check "child: exit status" "$run_rc" 3
check "child: not in the shell's trace" "$(q "$T/child.db" "SELECT count(*) FROM allocation_sites WHERE function='big_block'")" 0
cdb=$(q "$T/child.db" "SELECT db_path FROM processes WHERE command = '$PROGS/prog_known'")
check "child: traced in its own" "$(q "${cdb:-/dev/null}" "SELECT count(*) FROM allocation_sites WHERE function='big_block'")" 1
"$MT" run --no-children -o "$T/nc.memtap" -- sh -c "'$PROGS/prog_known'; exit 3" 2>/dev/null
check "child: --no-children: exit status" "$?" 3
check "child: --no-children: not traced" "$(ls "$T" | grep -c '^nc.memtap.d')" 0
check "child: no extra output" "$(grep -vcE '^memtap: (trace |and [0-9]+ other process)' "$T/child.err")" 0

# dash leaves by _exit: before the _exit hook its trace was never closed (no
# end time, a warning on every load)
trace_and_load dash sh -c 'exit 3'
check "_exit (dash): exit status" "$run_rc" 3
check "_exit (dash): closed" "$(q "$T/dash.db" "SELECT value FROM meta WHERE key='closed'")" 1
check "_exit (dash): the launcher counts it" "$(grep -cE 'dash.memtap: [1-9][0-9]* allocations' "$T/dash.err")" 1
check "_exit (dash): no warning on load" "$(grep -c 'not closed' "$T/dash.load.err")" 0
# a vfork child's _exit leaves the parent's trace open; the parent's own
# _exit closes it, with what it allocated after the vfork
trace_and_load vfork "$PROGS/prog_vfork"
check "vfork: exit status" "$run_rc" 5
check "vfork: closed" "$(q "$T/vfork.db" "SELECT value FROM meta WHERE key='closed'")" 1
check "vfork: after_vfork recorded, live at exit" \
      "$(q "$T/vfork.db" "SELECT count(*) || ' ' || sum(size) || ' ' || sum(free_seq IS NULL) FROM allocation_sites WHERE function='after_vfork'")" "3 12000 3"
# Python's os._exit (multiprocessing's workers leave by it)
py=/usr/bin/python3.11
[ -x "$py" ] || py=$(command -v python3)
trace_and_load osexit "$py" -c 'import os; x = bytearray(50000); os._exit(4)'
check "os._exit: exit status" "$run_rc" 4
check "os._exit: closed" "$(q "$T/osexit.db" "SELECT value FROM meta WHERE key='closed'")" 1
check "os._exit: the bytearray" "$(q "$T/osexit.db" "SELECT count(*) FROM allocations WHERE size >= 50000 AND size < 50100")" 1
finish
