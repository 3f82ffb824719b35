# signals.sh - `memtap run` passes signals on as untraced: CMD gets each
# signal once, whether it was sent to the launcher alone or to its process
# group, the launcher survives any it can catch, and the exit status is
# CMD's. Without a terminal (setsid: a session with none) and with one (a
# pseudo-terminal from script(1), where ^C reaches CMD from the terminal).
. "$(dirname "$0")/common.bash"
P=$MT_BUILD/tests/prog_signals
[ -x "$P" ] || P=$MT_BUILD/tests/e2e/prog_signals
cd "$T"

# send WHAT SIG: runs CMD for 1.5 s under a launcher in a session of its own,
# sends SIG to the launcher (WHAT=pid) or its group (WHAT=group) once CMD is
# up; sets $counts and $status.
send() {
    rm -f pid out
    setsid -w "$MT" run --no-pack -o "$T/$1.$2.memtap" "$P" "$T/pid" 1500 >out 2>err &
    local launcher=$!
    for _ in $(seq 100); do [ -s pid ] && break; sleep 0.02; done
    sleep 0.1
    # setsid -w forks when it is a group leader already: the launcher is its child
    local target
    target=$(pgrep -P "$launcher" -x memtap || echo "$launcher")
    if [ "$1" = group ]; then kill -"$2" -- "-$target"; else kill -"$2" "$target"; fi
    wait "$launcher"
    status=$?
    counts=$(cat out)
}
for sig in INT QUIT TERM HUP USR1; do
    send pid $sig
    check "kill -$sig to the launcher: CMD got it once" "$(echo "$counts" | grep -o "$sig=[0-9]*")" "$sig=1"
    check "kill -$sig to the launcher: CMD's exit status" "$status" 7
done
for sig in INT TERM USR1; do
    send group $sig
    check "kill -$sig to the launcher's group: CMD got it once" \
        "$(echo "$counts" | grep -o "$sig=[0-9]*")" "$sig=1"
    check "kill -$sig to the launcher's group: CMD's exit status" "$status" 7
done

# an untraced program's death by a signal sent to the launcher: 128+N
setsid -w "$MT" run --no-pack -o "$T/sleep.memtap" sleep 5 2>err &
launcher=$!
sleep 0.3
kill -TERM "$(pgrep -P "$launcher" -x memtap || echo "$launcher")"
wait "$launcher"
check "kill -TERM to the launcher of sleep: 143, sleep's own" "$?" 143

# a terminal: ^C typed reaches CMD once (from the terminal), not twice
if command -v script >/dev/null; then
    rm -f pid
    (for _ in $(seq 100); do [ -s pid ] && break; sleep 0.02; done; sleep 0.2; printf '\003'; sleep 2) |
        script -qec "'$MT' run --no-pack -o '$T/tty.memtap' '$P' '$T/pid' 1000" /dev/null >tty.out 2>&1
    check "^C on a terminal: CMD got SIGINT once" "$(grep -o 'INT=[0-9]*' tty.out | tr -d '\r')" "INT=1"
else
    echo "SKIP: ^C on a terminal: no script(1)"
fi
finish
