# load_scale.sh - a long trace loads in memory that does not grow with it:
# a C program makes 50 M and then 100 M events under the shim, and the
# analyzer's peak RSS while loading each stays under a fixed bound, the
# second no more than a few MiB above the first. The answers are exact
# (every pair counted, nothing live at the end). Progress shows on a
# terminal (script(1) gives the load a pseudo-terminal) and never in a pipe.
. "$(dirname "$0")/common.bash"
BOUND_MIB=96

# peak_rss_mib CMD... - runs CMD, prints its peak RSS in MiB (wait4).
peak_rss_mib() {
    python3 -c 'import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(p.pid, 0)
sys.exit(f"exit {status}") if os.waitstatus_to_exitcode(status) else print(usage.ru_maxrss // 1024)' "$@"
}

declare -A rss
for pairs in 25000000 50000000; do
    tr=$T/s$pairs.memtap
    "$MT" run -o "$tr" -- "$PROGS/prog_stress" 1 "$pairs" >/dev/null 2>&1
    check "$pairs pairs: traced" "$?" 0
    rss[$pairs]=$(peak_rss_mib "$MT" load --quiet "$tr" -o "$T/s$pairs.db")
    db=$T/s$pairs.db
    events=$(q "$db" "SELECT value FROM meta WHERE key = 'events'")
    check_cmp "$pairs pairs: events in the trace" "$events" -ge $((2 * pairs))
    check "$pairs pairs: every allocation" "$(q "$db" "SELECT value FROM meta WHERE key = 'allocations'")" \
        "$((pairs + 1))"
    # (what is left is the C library's own, a few hundred bytes)
    check_cmp "$pairs pairs: the workers' blocks all freed by the end" \
        "$(q "$db" "SELECT value FROM meta WHERE key = 'live_at_exit_bytes'")" -lt 4096
    check "$pairs pairs: every allocation in the totals" \
        "$(q "$db" "SELECT sum(count) FROM stack_totals")" "$((pairs + 1))"
    check_cmp "$pairs pairs: the compact database is small (bytes)" "$(stat -c %s "$db")" -lt 10000000
    check_cmp "$pairs pairs: analyzer peak RSS (MiB) under $BOUND_MIB" "${rss[$pairs]}" -lt $BOUND_MIB
    if [ "$pairs" = 50000000 ]; then # (the longer load: over a second on a fast machine too)
        # Progress: on a terminal, and not in a pipe.
        script -qec "'$MT' load --force '$tr' -o '$T/tty.db'" /dev/null >"$T/tty.out" 2>&1
        check "progress on a terminal" "$(grep -c 'memtap: loading .*% .*M events/s .*s left' "$T/tty.out")" 1
        "$MT" load --force "$tr" -o "$T/pipe.db" 2>&1 | cat >"$T/pipe.out"
        check "no progress in a pipe" "$(grep -c 'loading' "$T/pipe.out")" 0
        check "a pipe still gets the one-line report" "$(grep -c 'memtap: loaded' "$T/pipe.out")" 1
    fi
    rm -f "$tr" # (each is 250-500 MB)
done
check_cmp "twice the events, about the same memory (MiB)" "${rss[50000000]}" -le $((rss[25000000] + 8))

finish
