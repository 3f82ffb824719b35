# compact.sh - the compact database (the default) and `memtap load --all`
# give the same answers, byte for byte after sorting: summary, peak (by
# line, function, file, stack; --native), leaks, diff between markers,
# times, start, peak and end, the flamegraph's folded views and its page,
# on C and Python programs with known answers. And the compact database
# keeps fewer rows: it is the point of it.
. "$(dirname "$0")/common.bash"

# same NAME CMD... - runs CMD (a memtap report, its database last) on both
# databases of $name and compares the sorted outputs.
same() {
    local what=$1; shift
    "$@" "$T/$name.db" 2>&1 | sort >"$T/$name.compact.out"
    "$@" "$T/$name.all.db" 2>&1 | sort >"$T/$name.all.out"
    if [ ! -s "$T/$name.all.out" ]; then
        check "$name: $what gives an answer" "empty" "some"
    elif cmp -s "$T/$name.compact.out" "$T/$name.all.out"; then
        check "$name: $what" same same
    else
        check "$name: $what" "differs" same
        diff "$T/$name.compact.out" "$T/$name.all.out" | head -n 10
    fi
}

# folded WHAT FLAMEGRAPH-OPTIONS... - the folded flamegraph of both.
folded() {
    local what=$1; shift
    "$MT" flamegraph --format folded -o "$T/$name.c.folded" "$@" "$T/$name.db" >/dev/null 2>&1
    "$MT" flamegraph --format folded -o "$T/$name.a.folded" "$@" "$T/$name.all.db" >/dev/null 2>&1
    sort -o "$T/$name.c.folded" "$T/$name.c.folded"
    sort -o "$T/$name.a.folded" "$T/$name.a.folded"
    if [ ! -s "$T/$name.a.folded" ] && [ "$what" != "flamegraph --view leaks" ]; then
        check "$name: $what gives an answer" "empty" "some"
    else
        check "$name: $what" "$(cmp -s "$T/$name.c.folded" "$T/$name.a.folded" && echo same)" same
    fi
}

# compare NAME TRACE [MARKER MARKER] - loads TRACE both ways, compares.
compare() {
    name=$1
    local trace=$2
    "$MT" load --quiet "$trace" -o "$T/$name.db"
    check "$name: loads compact" "$?" 0
    "$MT" load --quiet --all "$trace" -o "$T/$name.all.db"
    check "$name: loads --all" "$?" 0
    local rows all
    rows=$(q "$T/$name.db" "SELECT count(*) FROM allocations")
    all=$(q "$T/$name.all.db" "SELECT count(*) FROM allocations")
    check "$name: --all keeps a row per allocation" "$all" \
        "$(q "$T/$name.all.db" "SELECT value FROM meta WHERE key = 'allocations'")"
    check_cmp "$name: compact keeps fewer rows ($rows of $all)" "$rows" -lt "$all"
    same "summary" "$MT" summary --json --top 1000
    for by in line function file stack; do
        same "peak --by $by" "$MT" peak --json --top 1000 --by "$by"
    done
    same "peak --native" "$MT" peak --json --top 1000 --native
    same "leaks" "$MT" leaks --json --top 1000
    same "leaks --native" "$MT" leaks --json --top 1000 --native
    same "diff start..peak" "$MT" diff --json --top 1000 --from start --to peak
    same "diff peak..end" "$MT" diff --json --top 1000 --from peak --to end
    same "diff 10ms..end" "$MT" diff --json --top 1000 --from 10ms --to end
    same "diff 5ms..30ms" "$MT" diff --json --top 1000 --from 5ms --to 30ms
    if [ $# -ge 4 ]; then
        same "diff $3..$4" "$MT" diff --json --top 1000 --from "$3" --to "$4"
        folded "flamegraph diff $3..$4" --view diff --from "$3" --to "$4"
    fi
    for view in peak leaks total; do
        folded "flamegraph --view $view" --view "$view"
    done
    "$MT" flamegraph -o "$T/$name.html" "$T/$name.db" >/dev/null 2>&1
    "$MT" flamegraph -o "$T/$name.all.html" "$T/$name.all.db" >/dev/null 2>&1
    check "$name: flamegraph page" "$(cmp -s "$T/$name.html" "$T/$name.all.html" && echo same)" same
    same "check" "$MT" check --max-peak 1MB --max-leak 1KB
    for view in site_totals growth_sites site_lifetimes peak_sites unfreed_at_exit timeline; do
        q "$T/$name.db" "SELECT * FROM $view" | sort >"$T/$name.compact.out"
        q "$T/$name.all.db" "SELECT * FROM $view" | sort >"$T/$name.all.out"
        check "$name: view $view" "$(cmp -s "$T/$name.compact.out" "$T/$name.all.out" && echo same)" same
    done
}

"$MT" run --snapshot-signal USR2 -o "$T/answers.memtap" -- "$PROGS/prog_answers" signal \
    >/dev/null 2>&1
compare answers "$T/answers.memtap" before after
for prog in known stress manystacks bigblock samestack; do
    [ -x "$PROGS/prog_$prog" ] || { echo "FAIL: prog_$prog not built"; failures=$((failures + 1)); continue; }
    "$MT" run -o "$T/$prog.memtap" -- "$PROGS/prog_$prog" >/dev/null 2>&1
    compare "$prog" "$T/$prog.memtap"
done

# A killed program: its trace was not closed, and its exit is the end.
"$MT" run -o "$T/killed.memtap" "$PROGS/prog_forever" 2>/dev/null &
sleep 0.7
pkill -KILL -f "$PROGS/prog_forever"
wait
compare killed "$T/killed.memtap"
check "killed: the growth slices reach the end" \
    "$(q "$T/killed.db" "SELECT max(slice) + 1 = (SELECT value FROM meta WHERE key = 'growth_slices')
                         AND (SELECT value FROM meta WHERE key = 'growth_slices') BETWEEN 33 AND 64
                         FROM stack_slices")" 1

find_pythons
for py in "${pythons[0]}" "${pythons[${#pythons[@]} - 1]}"; do
    tag=$(py_tag "$py")
    "$MT" run --snapshot-signal USR2 -o "$T/pyanswers$tag.memtap" -- "$py" \
        "$MT_ROOT/tests/data/py_answers.py" >/dev/null 2>&1
    compare "pyanswers$tag" "$T/pyanswers$tag.memtap" before after
    "$MT" run -o "$T/pyknown$tag.memtap" -- "$py" "$MT_ROOT/tests/data/py_known.py" >/dev/null 2>&1
    compare "pyknown$tag" "$T/pyknown$tag.memtap"
    "$MT" run --native -o "$T/pynative$tag.memtap" -- "$py" "$MT_ROOT/tests/data/py_native.py" \
        >/dev/null 2>&1
    compare "pynative$tag" "$T/pynative$tag.memtap"
done
finish
