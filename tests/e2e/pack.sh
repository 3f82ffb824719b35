# pack.sh - traces at rest: `memtap run` compresses the trace once the
# program is done, and every command reads it as it reads the trace as
# written. A raw trace (run --no-pack) and its packed copy (memtap pack)
# give byte-identical summary, peak, leaks, diff and folded flamegraph
# output (C and Python, and a SIGKILLed program's unclosed trace); the
# packed file is smaller, 0600, keeps its header readable; packing twice
# leaves it alone; a symlink is refused; a packed trace cut short or with
# a flipped byte is a clear error, never an answer.
. "$(dirname "$0")/common.bash"
py=/usr/bin/python3.11
[ -x "$py" ] || { find_pythons; py=${pythons[0]}; }
answers() { # TRACE OUT: loads it, then asks
    "$MT" load --quiet "$1" -o "$1.db" || echo "load failed"
    for cmd in "summary --json" "peak --json" "leaks --json" "diff --json --from start --to end" \
               "flamegraph --format folded --view total"; do
        # shellcheck disable=SC2086
        "$MT" $cmd "$1.db" 2>&1
    done >"$2"
}
"$MT" run -o "$T/default.memtap" -- "$PROGS/prog_known" >/dev/null 2>"$T/default.err"
check "run: exit status" "$?" 0
check "run packs the trace (header flag MT_HDR_PACKED)" \
      "$(( $(od -An -tu4 -j20 -N4 "$T/default.memtap") & 4 ))" 4
check "run: the packed trace is 0600" "$(stat -c %a "$T/default.memtap")" 600
check "run: the report line reads the packed header" \
      "$(grep -c 'allocations; next: memtap summary' "$T/default.err")" 1
for prog in c python killed; do
    case $prog in
        c) cmd=("$PROGS/prog_known") ;;
        python) cmd=("$py" "$MT_ROOT/tests/data/workloads/leaky.py") ;;
        killed) cmd=(sh -c "'$PROGS/prog_forever' & p=\$!; sleep 1; kill -KILL \$p; wait \$p") ;;
    esac
    # one trace, copied and packed: the first process's alone (a copy
    # beside it has no RUN.d, so no tree to compare)
    "$MT" run --no-pack --no-children -o "$T/$prog.memtap" -- "${cmd[@]}" >/dev/null 2>&1
    cp "$T/$prog.memtap" "$T/$prog.packed.memtap"
    "$MT" pack "$T/$prog.packed.memtap" >"$T/$prog.pack.out"
    check "$prog: pack: exit status" "$?" 0
    raw=$(stat -c %s "$T/$prog.memtap")
    packed=$(stat -c %s "$T/$prog.packed.memtap")
    echo "     $prog: $raw bytes as written, $packed packed"
    check_cmp "$prog: the packed trace is smaller" "$packed" -lt "$raw"
    answers "$T/$prog.memtap" "$T/$prog.raw.answers"
    answers "$T/$prog.packed.memtap" "$T/$prog.packed.answers"
    check "$prog: the same answers from both" \
          "$(cmp -s "$T/$prog.raw.answers" "$T/$prog.packed.answers" && echo same || echo differ)" same
    check_cmp "$prog: answers were given" "$(grep -c peak_bytes "$T/$prog.raw.answers")" -gt 0
done
cp "$T/c.packed.memtap" "$T/again.memtap"
"$MT" pack "$T/again.memtap" >/dev/null
check "packing a packed trace leaves it alone" "$(cmp -s "$T/again.memtap" "$T/c.packed.memtap" && echo same)" same
ln -s "$T/c.memtap" "$T/link.memtap"
"$MT" pack "$T/link.memtap" 2>/dev/null
check "pack refuses a symlink" "$?" 1
check "the symlink's target is not packed" "$(( $(od -An -tu4 -j20 -N4 "$T/c.memtap") & 4 ))" 0
size=$(stat -c %s "$T/c.packed.memtap")
head -c $((size - 100)) "$T/c.packed.memtap" >"$T/cut.memtap"
cp "$T/c.packed.memtap" "$T/flipped.memtap"
printf '\x55' | dd of="$T/flipped.memtap" bs=1 seek=$((4096 + size / 2 - 2048)) conv=notrunc 2>/dev/null
for bad in cut flipped; do
    out=$("$MT" summary "$T/$bad.memtap" 2>&1 >/dev/null)
    check_cmp "$bad packed trace: non-zero exit" "$?" -ne 0
    case $out in
        *"packed trace"*) check "$bad packed trace: says so" ok ok ;;
        *) check "$bad packed trace: says so" "$out" "memtap: ...packed trace..." ;;
    esac
done
finish
