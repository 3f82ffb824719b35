# launcher.sh - `memtap run`: exit statuses (exit code, 128+signal, 127 for
# a missing command), never overwriting or following a symlink, file mode,
# default name, and the one-line report.
. "$(dirname "$0")/common.bash"
cd "$T"
"$MT" run sh -c 'exit 42' 2>err
check "exit code passed through" "$?" 42
"$MT" run sh -c 'kill -TERM $$' 2>err
check "signal death is 128+N" "$?" 143
out=$("$MT" run no-such-command-memtap 2>&1)
check "missing command: 127" "$?" 127
check "missing command: message" "$out" "memtap: no-such-command-memtap: command not found"
ls sh.*.memtap >/dev/null 2>&1
check "default name is program.pid.memtap" "$?" 0
f=$(ls sh.*.memtap | head -n 1)
check "default trace mode" "$(stat -c %a "$f")" 600
echo precious >existing
"$MT" run -o existing true 2>err
check "existing file: refused, with memtap's own status" "$?" 125
check "existing file: untouched" "$(cat existing)" precious
ln -s existing link
"$MT" run -o link true 2>err
check "symlink: refused, with memtap's own status" "$?" 125
"$MT" run --depth 0 true 2>err
check "run's usage mistake: memtap's own status, not CMD's" "$?" 125
"$MT" run --help >out 2>err
check "run --help: exit 0" "$?" 0
grep -q -- "--snapshot-signal" out
check "run --help: on stdout, with every option" "$?" 0
check "symlink target untouched" "$(cat existing)" precious
# A symlink planted where the shim itself would create the file (launcher
# check bypassed by setting the environment by hand): the shim refuses.
ln -s existing planted.memtap
LD_PRELOAD="$MT_BUILD/libmemtap.so" MEMTAP_OUTPUT="$T/planted.memtap" /bin/true 2>shim.err
check "shim refuses a symlink: program still runs" "$?" 0
check "shim refuses a symlink: target untouched" "$(cat existing)" precious
grep -q "not tracing" shim.err
check "shim refuses a symlink: says so" "$?" 0
"$MT" run -o report.memtap true 2>err
grep -qE '^memtap: trace .*report.memtap: [0-9]+ allocations; next: memtap summary ' err
check "one-line report" "$?" 0
check "report is one line" "$(wc -l <err)" 1
# summary loads a trace into a database beside it on first use, then reuses it
"$MT" summary report.memtap >/dev/null 2>err1
"$MT" summary report.memtap >/dev/null 2>err2
check "first summary loads" "$(grep -c loaded err1)" 1
check "second summary reuses" "$(grep -c loaded err2)" 0
check "database beside the trace" "$(ls report.db)" report.db
# under a tight address-space limit the trace reserves less, and still traces
(ulimit -v 2000000 && "$MT" run -o ulimit.memtap ls -d / >ulimit.out 2>ulimit.err)
check "ulimit -v: program runs" "$(cat ulimit.out)" /
check "ulimit -v: traced" "$(grep -cE 'ulimit.memtap: [1-9][0-9]* allocations' ulimit.err)" 1
finish
