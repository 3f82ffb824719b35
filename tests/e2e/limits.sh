#!/bin/bash
# limits.sh - real limits (issue 28.2): the traced program's output and
# exit status are always as untraced, and what memtap wrote loads and says
# what is missing.
#  - the trace's file system fills up (an 8 MB tmpfs; the program makes far
#    more trace): the trace is partial, closed, loads, and summary says so
#    and why (No space left on device);
#  - a daemon's start: every descriptor above stderr closed, then files of
#    its own opened (prog_closefds): memtap neither writes into them nor
#    loses its trace (its descriptors sit high, are checked before use and
#    reopened when the program closed them);
#  - a read-only working directory (the default trace name is there): the
#    program runs untraced, with a line on stderr;
#  - few descriptors (ulimit -n 16);
#  - no /proc (a tmpfs over it in a mount namespace): the launcher finds its
#    shim from argv[0], the trace loads, RSS is said not to be sampled;
#  - 1,000 threads that start, allocate and exit (prog_manythreads).
source "$(dirname "$0")/common.bash"
py=/usr/bin/python3.11
[ -x "$py" ] || { find_pythons; py=${pythons[${#pythons[@]} - 1]}; }

# ---- a full file system --------------------------------------------------------
small="$T/small"
mkdir -p "$small"
mounted=
if mount -t tmpfs -o size=8m tmpfs "$small" 2>/dev/null; then
    mounted=1
fi
run_full() { # the trace into the 8 MB file system; prints the program's output
    "$MT" run -o "$small/t.memtap" -- "$py" "$WORKLOADS/leaky.py" 60000 >"$T/full.out" 2>"$T/full.err"
    echo $? >"$T/full.rc"
}
if [ -n "$mounted" ]; then
    run_full
elif command -v unshare >/dev/null && unshare -rm true 2>/dev/null; then
    # no root: a mount namespace of our own, the test's commands inside it
    unshare -rm bash -c "mount -t tmpfs -o size=8m tmpfs '$small' && \
        '$MT' run -o '$small/t.memtap' -- '$py' '$WORKLOADS/leaky.py' 60000 >'$T/full.out' 2>'$T/full.err'; \
        echo \$? >'$T/full.rc'; cp '$small'/t.memtap '$T/t.memtap'" 2>/dev/null
    mkdir -p "$small" && cp "$T/t.memtap" "$small/t.memtap" 2>/dev/null
    mounted=ns
fi
if [ -n "$mounted" ]; then
    "$py" "$WORKLOADS/leaky.py" 60000 >"$T/plain.out" 2>&1
    plain_rc=$?
    check "full disk: exit status as untraced" "$(cat "$T/full.rc")" "$plain_rc"
    check "full disk: output as untraced" "$(md5sum <"$T/full.out")" "$(md5sum <"$T/plain.out")"
    check "full disk: said once on stderr" "$(grep -c 'tracing stopped: cannot grow the trace file: No space left on device' "$T/full.err")" 1
    check "full disk: the launcher says the trace is partial" "$(grep -c 'is partial: tracing stopped' "$T/full.err")" 1
    cp "$small/t.memtap" "$T/partial.memtap"
    [ "$mounted" = 1 ] && umount "$small"
    "$MT" summary --json "$T/partial.memtap" >"$T/partial.json" 2>"$T/partial.err"
    check "full disk: the partial trace loads" $? 0
    check "full disk: summary --json says partial and why" \
        "$(python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print(d["partial"]["reason"], d["exit_status"])' "$T/partial.json")" \
        "the trace file could not grow (No space left on device) 0"
    "$MT" summary "$T/partial.memtap" 2>/dev/null >"$T/partial.txt"
    check "full disk: summary says partial" "$(grep -c '^partial       tracing stopped at' "$T/partial.txt")" 1
    check "full disk: the load warns" "$(grep -c 'partial: tracing stopped' "$T/partial.err")" 1
else
    echo "SKIP-ONE: cannot mount a tmpfs (neither root nor user namespaces)"
fi

# ---- a daemon closes every descriptor --------------------------------------------
mkdir -p "$T/d1" "$T/d2"
(cd "$T/d1" && "$PROGS/prog_closefds" data.txt >out 2>&1; echo $? >rc)
(cd "$T/d2" && "$MT" run -o "$T/d2/t.memtap" -- "$PROGS/prog_closefds" data.txt >out 2>err; echo $? >rc)
check "closed descriptors: exit status as untraced" "$(cat "$T/d2/rc")" "$(cat "$T/d1/rc")"
check "closed descriptors: output as untraced" "$(cat "$T/d2/out")" "$(cat "$T/d1/out")"
check "closed descriptors: the program's file untouched" "$(md5sum <"$T/d2/data.txt")" "$(md5sum <"$T/d1/data.txt")"
"$MT" summary --json "$T/d2/t.memtap" >"$T/d2/s.json" 2>/dev/null
check "closed descriptors: the whole trace (3,000,001 allocations, closed)" \
    "$(python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print(d["allocations"], d["ended"], "partial" in d)' "$T/d2/s.json")" \
    "3000001 exit False"

# ---- a read-only working directory ----------------------------------------------------
mkdir -p "$T/ro"
if unshare -rm true 2>/dev/null; then
    # a read-only bind mount in a mount namespace of the test's own (root
    # would write through mere permissions)
    unshare -rm bash -c "mount --bind '$T/ro' '$T/ro' && mount -o remount,bind,ro '$T/ro' && \
        cd '$T/ro' && '$MT' run -- '$PROGS/prog_answers' >'$T/ro.out' 2>'$T/ro.err'; echo \$? >'$T/ro.rc'"
    (cd "$T" && "$PROGS/prog_answers" >"$T/ro.plain" 2>&1; echo $? >"$T/ro.plain.rc")
    check "read-only directory: exit status as untraced" "$(cat "$T/ro.rc")" "$(cat "$T/ro.plain.rc")"
    check "read-only directory: output as untraced" "$(cat "$T/ro.out")" "$(cat "$T/ro.plain")"
    check "read-only directory: said on stderr" "$(grep -c 'not tracing: cannot create' "$T/ro.err")" 1
else
    echo "SKIP-ONE: no mount namespace for a read-only directory (unshare -rm)"
fi

# ---- few descriptors, little address space -----------------------------------------------
(ulimit -n 16; "$MT" run -o "$T/n.memtap" -- "$PROGS/prog_answers" >"$T/n.out" 2>"$T/n.err"; echo $? >"$T/n.rc")
"$PROGS/prog_answers" >"$T/n.plain" 2>&1
check "ulimit -n 16: exit status as untraced" "$(cat "$T/n.rc")" 0
check "ulimit -n 16: output as untraced" "$(cat "$T/n.out")" "$(cat "$T/n.plain")"
check "ulimit -n 16: the trace loads" "$("$MT" summary --json "$T/n.memtap" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["ended"])')" exit

# ---- no /proc -------------------------------------------------------------------------
if unshare -rm true 2>/dev/null; then
    unshare -rm bash -c "mount -t tmpfs none /proc && \
        '$MT' run -o '$T/np.memtap' -- '$PROGS/prog_answers' >'$T/np.out' 2>'$T/np.err'; echo \$? >'$T/np.rc'"
    check "no /proc: exit status as untraced" "$(cat "$T/np.rc")" 0
    check "no /proc: output as untraced" "$(cat "$T/np.out")" "$(cat "$T/n.plain")"
    "$MT" summary "$T/np.memtap" >"$T/np.txt" 2>/dev/null
    check "no /proc: the trace loads, with its command" "$(sed -n 's/^command *//p' "$T/np.txt")" "$PROGS/prog_answers"
    check "no /proc: RSS said not sampled" "$(grep -c '^peak RSS      not sampled' "$T/np.txt")" 1
else
    echo "SKIP-ONE: no mount namespace to hide /proc in (unshare -rm)"
fi

# ---- 1,000 threads ---------------------------------------------------------------------
"$MT" run -o "$T/mt.memtap" -- "$PROGS/prog_manythreads" >"$T/mt.out" 2>"$T/mt.err"
check "1,000 threads: exit status" $? 0
check "1,000 threads: output as untraced" "$(cat "$T/mt.out")" "$("$PROGS/prog_manythreads")"
"$MT" load --quiet "$T/mt.memtap" -o "$T/mt.db" 2>/dev/null
check "1,000 threads: every thread's blocks, allocated and freed" \
    "$(q "$T/mt.db" "SELECT sum(t.count) || ' ' || sum(t.freed_count) FROM stack_totals t JOIN stacks s ON s.id = t.stack_id JOIN frames f ON f.id = s.site_frame_id WHERE f.function = 'work'")" "10000 10000"
check "1,000 threads: no unmatched free" "$(q "$T/mt.db" "SELECT value FROM meta WHERE key = 'unmatched_frees'")" 0
check_cmp "1,000 threads: threads in the trace" "$(q "$T/mt.db" "SELECT value FROM meta WHERE key = 'threads'")" -ge 1001

finish
