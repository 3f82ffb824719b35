#!/bin/bash
# top.sh - memtap top (issue 26.3), on a terminal tmux emulates: it follows
# a running program's trace (py_top.py grows one line's list by 200 KB ten
# times a second), shows that line as the top site with the heap growing
# from screen to screen, and q leaves the program running. `memtap run
# --live` shows the view beside the program, whose output goes to a file;
# `top --batch` prints the screens as text (here on a C program: native
# site names).
source "$(dirname "$0")/common.bash"
command -v tmux >/dev/null || skip "tmux not installed (scripts/install-deps test installs it)"
find_pythons
py=${pythons[${#pythons[@]} - 1]}
session="memtap-top-$$"
export TMUX_TMPDIR="$T" # a server of this test's own
trap 'tmux kill-server 2>/dev/null' EXIT

heap_of() { sed -n 's/^heap *\([0-9.]* [KMG]*i*B\).*/\1/p' "$1" | head -1; }

# ---- memtap top on a program started elsewhere --------------------------------
"$MT" run -o "$T/p.memtap" -- "$py" "$MT_ROOT/tests/data/py_top.py" 30 >"$T/p.out" 2>&1 &
launcher=$!
for _ in $(seq 100); do [ -s "$T/p.memtap" ] && break; sleep 0.05; done
tmux new-session -d -s "$session" -x 120 -y 40 "$MT top $T/p.memtap; sleep 30"
sleep 3.5
tmux capture-pane -p -t "$session" >"$T/screen1"
sleep 2.5
tmux capture-pane -p -t "$session" >"$T/screen2"
cat "$T/screen2"
check "top: title" "$(grep -c '^memtap top  pid' "$T/screen2")" 1
check "top: the growing line is the top site" \
    "$(sed -n '/^live now/{n;p}' "$T/screen2" | grep -c 'grow (py_top.py:11)')" 1
check "top: and the growth leader" \
    "$(sed -n '/^growth over/{n;p}' "$T/screen2" | grep -c 'grow (py_top.py:11)')" 1
h1=$(heap_of "$T/screen1"); h2=$(heap_of "$T/screen2")
echo "info heap on the two screens: $h1, $h2"
if [ -n "$h1" ] && [ -n "$h2" ] && [ "$h1" != "$h2" ]; then
    echo "ok   top: refreshed (the heap moved)"
else
    echo "FAIL top: not refreshed (heap '$h1' then '$h2')"; failures=$((failures + 1))
fi
tmux send-keys -t "$session" q
sleep 1
check "top: q quits the view" "$(tmux capture-pane -p -t "$session" | grep -c '^memtap top')" 0
kill -0 $launcher 2>/dev/null
check "top: the program still runs after q" $? 0
kill -TERM $launcher
wait $launcher
tmux kill-session -t "$session" 2>/dev/null

# ---- memtap run --live ---------------------------------------------------------
tmux new-session -d -s "$session" -x 120 -y 40 \
    "$MT run --live -o $T/l.memtap -- $py $MT_ROOT/tests/data/py_top.py 3; echo RUN-EXIT=\$?; sleep 30"
sleep 2.5
tmux capture-pane -p -t "$session" >"$T/live1"
cat "$T/live1"
check "live: the view" "$(grep -c '^memtap top  pid' "$T/live1")" 1
check "live: says where the output goes" "$(grep -c "the program's output: $T/l.memtap.out" "$T/live1")" 1
check "live: the growing line" "$(grep -c 'grow (py_top.py:11)' "$T/live1")" 2
sleep 3
tmux capture-pane -p -t "$session" >"$T/live2"
check "live: the end is shown" "$(grep -c '^ended after' "$T/live2")" 1
tmux send-keys -t "$session" q
sleep 1.5
tmux capture-pane -p -t "$session" >"$T/live3"
check "live: the run's exit status after q" "$(grep -c '^RUN-EXIT=0' "$T/live3")" 1
check "live: the program's output in the file" "$(grep -c '^held [0-9]* buffers' "$T/l.memtap.out")" 1
check "live: the trace loads" "$("$MT" summary --json "$T/l.memtap" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["exit_status"])')" 0
tmux kill-session -t "$session" 2>/dev/null

# ---- --batch, a C program ------------------------------------------------------------
"$MT" run --no-pack -o "$T/c.memtap" -- "$PROGS/prog_forever" >/dev/null 2>&1 &
launcher=$!
for _ in $(seq 100); do [ -s "$T/c.memtap" ] && break; sleep 0.05; done
(sleep 2.5; kill -TERM $launcher) &
"$MT" top --batch --top 3 "$T/c.memtap" >"$T/batch.out" 2>"$T/batch.err"
check "batch: exit status" $? 0
wait $launcher
check_cmp "batch: screens" "$(grep -c "^----$" "$T/batch.out")" -ge 2
check_cmp "batch: the native site named on every screen" "$(grep -c "^  churn (prog_forever.c:[0-9]*)" "$T/batch.out")" -ge 3
check "batch: the last screen says the end" "$(grep -c '^ended after' "$T/batch.out")" 1

# a sampled run: the same view, its figures marked as estimates
"$MT" run --no-pack --sample-rate 64KiB -o "$T/s.memtap" -- "$PROGS/prog_forever" >/dev/null 2>&1 &
launcher=$!
for _ in $(seq 100); do [ -s "$T/s.memtap" ] && break; sleep 0.05; done
(sleep 2.5; kill -TERM $launcher) &
"$MT" top --batch --top 3 "$T/s.memtap" >"$T/sbatch.out" 2>&1
check "sampled: exit status" $? 0
wait $launcher
check_cmp "sampled: screens say estimates" "$(grep -c '^sampled by bytes (one record per 64.0 KiB)' "$T/sbatch.out")" -ge 2
check_cmp "sampled: the native site named" "$(grep -c '^  churn (prog_forever.c:[0-9]*)' "$T/sbatch.out")" -ge 2

# bad input
"$MT" top "$T/none.memtap" >/dev/null 2>&1
check "top: a missing trace fails" $? 1
"$MT" top "$T/c.memtap" </dev/null >/dev/null 2>&1
check "top: no terminal, no --batch: usage error" $? 2

finish
