# live_load.sh - `memtap run --load`: the database is made while the
# program runs (the shim's live watermark, the reader following the trace),
# and it is the database a load after the run makes, answer for answer:
# summary, peak, leaks, diff between times, check, the folded views and the
# page, on C programs (one thread, several), the shared Python workloads on
# the first and last CPython present, a program killed by SIGKILL, and one
# that exec's another (the follower starts over on the new trace). The
# first report after such a run does not load again. Loading while the
# program runs is the default when stderr is a terminal (script(1) gives
# the run one), and not in a pipe or with --no-load.
. "$(dirname "$0")/common.bash"

# same NAME WHAT CMD... - CMD (a report, its database last) on the database
# --load made and on the one a load after the run made, sorted, compared.
same() {
    local name=$1 what=$2; shift 2
    "$@" "$T/$name.db" 2>&1 | sort >"$T/$name.live.out"
    "$@" "$T/$name.after.db" 2>&1 | sort >"$T/$name.after.out"
    if [ ! -s "$T/$name.after.out" ]; then
        check "$name: $what gives an answer" "empty" "some"
    elif cmp -s "$T/$name.live.out" "$T/$name.after.out"; then
        check "$name: $what" same same
    else
        check "$name: $what" "differs" same
        diff "$T/$name.live.out" "$T/$name.after.out" | head -n 10
    fi
}

# live NAME CMD... - runs CMD with --load, then compares.
live() {
    local name=$1; shift
    rm -f "$T/$name.memtap" "$T/$name.db"
    "$MT" run --load -o "$T/$name.memtap" -- "$@" >/dev/null 2>"$T/$name.err"
    compare "$name"
}

# folded VIEW DB - the folded flamegraph, on stdout.
folded() {
    "$MT" flamegraph --format folded -o "$T/folded.tmp" --view "$1" "$2" >/dev/null 2>&1
    cat "$T/folded.tmp"
}

compare() {
    local name=$1
    check "$name: --load made the database" "$([ -f "$T/$name.db" ] && echo yes)" yes
    [ -f "$T/$name.db" ] || { sed 's/^/     /' "$T/$name.err"; return; }
    local before
    before=$(stat -c %Y.%s "$T/$name.db")
    "$MT" summary "$T/$name.memtap" >/dev/null 2>&1
    check "$name: the first report uses it (no load)" "$(stat -c %Y.%s "$T/$name.db")" "$before"
    "$MT" load --quiet -o "$T/$name.after.db" "$T/$name.memtap" 2>"$T/$name.after.err"
    check "$name: loads after the run" "$?" 0
    same "$name" "summary" "$MT" summary --json --top 1000
    same "$name" "peak --by stack" "$MT" peak --json --top 1000 --by stack
    same "$name" "peak --native" "$MT" peak --json --top 1000 --native
    same "$name" "leaks" "$MT" leaks --json --top 1000
    same "$name" "diff start..peak" "$MT" diff --json --top 1000 --from start --to peak
    same "$name" "diff 5ms..end" "$MT" diff --json --top 1000 --from 5ms --to end
    same "$name" "check" "$MT" check --max-peak 1MB --max-leak 1KB
    for view in peak leaks total; do
        same "$name" "flamegraph --view $view" folded "$view"
    done
    for view in site_totals growth_sites site_lifetimes peak_sites unfreed_at_exit timeline; do
        q "$T/$name.db" "SELECT * FROM $view" | sort >"$T/$name.live.out"
        q "$T/$name.after.db" "SELECT * FROM $view" | sort >"$T/$name.after.out"
        check "$name: view $view" "$(cmp -s "$T/$name.live.out" "$T/$name.after.out" && echo same)" same
    done
}

live answers "$PROGS/prog_answers"
live stress "$PROGS/prog_stress"
live handoff "$PROGS/prog_handoff"
live exec sh -c "exec '$PROGS/prog_answers'"
# An exec that ends soon after it (the follower's try on the old trace is
# cut short after CMD is gone): a database every time, no temporary left.
made=0
for i in $(seq 1 20); do
    rm -f "$T/ex.memtap" "$T/ex.db"
    "$MT" run --load -o "$T/ex.memtap" -- sh -c "exec '$PROGS/prog_answers'" >/dev/null 2>&1
    [ -f "$T/ex.db" ] && made=$((made + 1))
done
check "exec, 20 runs: a database each time" "$made" 20
check "exec, 20 runs: no temporary database left" "$(ls "$T"/ex.db.tmp.* 2>/dev/null | wc -l)" 0

# killed in the middle: the database of what was written
"$MT" run --load -o "$T/killed.memtap" "$PROGS/prog_forever" >/dev/null 2>"$T/killed.err" &
launcher=$!
sleep 0.7
pkill -KILL -P "$launcher" -x prog_forever
wait $launcher
check "killed: the launcher says 128+9" "$?" 137
compare killed

# the default: on a terminal, --load; in a pipe, or with --no-load, not
if command -v script >/dev/null; then
    script -qec "'$MT' run -o '$T/tty.memtap' -- '$PROGS/prog_answers'" /dev/null >/dev/null 2>&1
    check "a terminal: the run loads while CMD runs (exit status kept)" \
        "$? $([ -f "$T/tty.db" ] && echo db)" "$(
            "$PROGS/prog_answers" >/dev/null 2>&1
            echo $?) db"
    compare tty
    script -qec "'$MT' run --no-load -o '$T/nl.memtap' -- '$PROGS/prog_answers'" /dev/null >/dev/null 2>&1
    check "a terminal with --no-load: no database" "$([ -f "$T/nl.db" ] && echo db)" ""
else
    echo "SKIP-ONE: the terminal default: no script(1) (util-linux)"
fi
"$MT" run -o "$T/pipe.memtap" -- "$PROGS/prog_answers" 2>&1 | cat >/dev/null
check "a pipe: no load while CMD runs (no database)" "$([ -f "$T/pipe.db" ] && echo db)" ""

# `memtap load` after a run that loaded: the database of this very trace
# is either what was asked (nothing to do) or loaded again as asked; a
# database of another trace (or a changed one) is still left alone.
"$MT" run --load -o "$T/again.memtap" -- "$PROGS/prog_answers" >/dev/null 2>&1
before=$(stat -c %Y.%s "$T/again.db")
"$MT" load "$T/again.memtap" 2>"$T/again.err"
check "load after --load: nothing to do, exit 0, the database untouched" \
    "$? $(stat -c %Y.%s "$T/again.db") $(grep -c 'already loaded' "$T/again.err")" "0 $before 1"
"$MT" load --all "$T/again.memtap" 2>/dev/null
check "load --all after --load: loaded again with every allocation" \
    "$? $(q "$T/again.db" "SELECT value FROM meta WHERE key = 'compact'")" "0 0"
cp "$T/again.memtap" "$T/other.memtap"
cp "$T/again.db" "$T/other.db"
"$MT" load "$T/other.memtap" 2>"$T/other.err"
check "load over a database of another trace (a copy's): refused" \
    "$? $(grep -c 'use --force' "$T/other.err")" "1 1"

W=$MT_ROOT/tests/data/workloads
find_pythons
for py in "${pythons[0]}" "${pythons[${#pythons[@]} - 1]}"; do
    v=$(py_tag "$py")
    for w in leaky threads; do
        live "py$v-$w" "$py" "$W/$w.py"
    done
done
finish
