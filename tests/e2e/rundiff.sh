# rundiff.sh - `memtap diff A B`: two runs of a program, one site doubled
# and one removed between them (tests/data/py_rundiff.py), compared site by
# site: exactly those two sites above the noise, with their exact changes
# at the peak and at exit, and the unchanged site not among them. Then the
# same on the flamegraph (`flamegraph --base A B`): as folded lines with
# both runs' values, and on the page in Chromium, each frame coloured by
# its change.
. "$(dirname "$0")/common.bash"
find_pythons
py=${pythons[0]}
P=$MT_ROOT/tests/data/py_rundiff.py
"$MT" run --no-children -o "$T/a.memtap" "$py" "$P" a 2>/dev/null
check "run a" "$?" 0
"$MT" run --no-children -o "$T/b.memtap" "$py" "$P" b 2>/dev/null
check "run b" "$?" 0
"$MT" diff --json "$T/a.memtap" "$T/b.memtap" >"$T/diff.json" 2>"$T/diff.err"
check "diff A B: exit 0" "$?" 0
check "diff A B: the two changed sites, largest change first, nothing else above noise" \
    "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(s["function"] for s in d["sites"]), d["sites_above"])' "$T/diff.json")" "doubled removed 2"
check "diff A B: doubled() holds twice as much, at the peak and at exit" \
    "$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["sites"][0]
print(s["peak_b"] == 2 * s["peak_a"] > 0, s["live_at_exit_b"] == 2 * s["live_at_exit_a"] > 0,
      s["peak_delta"] == s["peak_a"])' "$T/diff.json")" "True True True"
check "diff A B: removed() is gone" \
    "$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["sites"][1]
print(s["peak_a"] > 0, s["peak_b"], s["allocated_b"], s["live_at_exit_b"], s["peak_delta"] == -s["peak_a"])' "$T/diff.json")" \
    "True 0 0 0 True"
check "diff A B: the totals are each run's" \
    "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["peak_a"] > 0 and d["peak_b"] > d["peak_a"])' "$T/diff.json")" "True"
# the same figures from each run's own database
dbl=$(q "$T/a.db" "SELECT bytes FROM peak_sites WHERE function = 'doubled'")
check "diff A B: doubled()'s peak in A is A's own figure" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sites"][0]["peak_a"])' "$T/diff.json")" "$dbl"
"$MT" diff "$T/a.memtap" "$T/b.memtap" >"$T/diff.txt" 2>&1
check "diff A B (text): both sites" "$(grep -cE '^ .*(doubled|removed) \(' "$T/diff.txt")" 2
check "diff A B (text): not same()" "$(grep -c 'same (' "$T/diff.txt")" 0
"$MT" diff --json --min-share 0 "$T/a.db" "$T/b.db" >"$T/all.json"
check "diff --min-share 0: every site that changed (databases as input)" \
    "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["sites_above"] == d["changed_sites"] >= 2, "same" not in [s["function"] for s in d["sites"]])' "$T/all.json")" \
    "True True"
"$MT" diff --min-share 200 "$T/a.db" "$T/b.db" >/dev/null 2>&1
check "diff --min-share 200: refused" "$?" 2

# ---- the flamegraph against a base run ----
fold_ab() { # VIEW: "path A B" lines, Python frames only
    "$MT" flamegraph --format folded --hide-native --view "$1" --base "$T/a.db" "$T/b.db"
}
fold_ab peak >"$T/ab.folded"
check "flamegraph --base: exit 0" "$?" 0
check "flamegraph --base (folded): doubled()'s stacks, A and B, are diff's figures" \
    "$(awk '/;doubled \(/ { a += $(NF-1); b += $NF } END { print a, b }' "$T/ab.folded")" \
    "$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["sites"][0]
print(s["peak_a"], s["peak_b"])' "$T/diff.json")"
check "flamegraph --base (folded): removed() in A only" \
    "$(awk '/;removed \(/ { a += $(NF-1); b += $NF } END { print (a > 0), b }' "$T/ab.folded")" "1 0"
check "flamegraph --base (folded): the stacks that changed by 1% of the peak are those two" \
    "$(awk -v peak="$(q "$T/b.db" "SELECT value FROM meta WHERE key = 'peak_bytes'")" '
        { d = $NF - $(NF-1); if (d < 0) d = -d; if (d >= peak / 100) { sub(/ [0-9]+ [0-9]+$/, ""); n = split($0, f, ";"); print f[n] } }' \
        "$T/ab.folded" | sed 's/ (.*//' | sort | tr '\n' ' ')" "doubled removed "
check "flamegraph --base (folded): the unchanged same() equal in both" \
    "$(awk '/;same \(/ && $(NF-1) != $NF { n++ } /;same \(/ { k++ } END { print (k > 0), n + 0 }' "$T/ab.folded")" "1 0"
fold_ab leaks | awk '/;doubled \(/ { a += $(NF-1); b += $NF } END { print a, b }' >"$T/leaks.ab"
check "flamegraph --base --view leaks: doubled() at each run's exit" "$(cat "$T/leaks.ab")" \
    "$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["sites"][0]
print(s["live_at_exit_a"], s["live_at_exit_b"])' "$T/diff.json")"
"$MT" flamegraph --base "$T/a.db" --view diff "$T/b.db" >/dev/null 2>&1
check "flamegraph --base --view diff: refused" "$?" 2
"$MT" flamegraph --base "$T/a.db" --format pprof "$T/b.db" >/dev/null 2>"$T/pprof.err"
check "flamegraph --base --format pprof: refused, pointing to pprof's own -diff_base" \
    "$? $(grep -c diff_base "$T/pprof.err")" "2 1"
"$MT" flamegraph --base "$T/a.db" --hide-native -o "$T/ab.html" "$T/b.db" >/dev/null
check "flamegraph --base: the page, with the base run's model" \
    "$? $(grep -c 'id="memtap-base"' "$T/ab.html")" "0 1"
# FUNCTION's largest stack: its leaf frame, and its bytes in A and in B
largest() { awk -v f="$1" '$0 ~ ";" f " \\(" && $(NF-1) + $NF > best { best = $(NF-1) + $NF; l = $0 } END { print l }' "$T/ab.folded"; }
line() { largest "$1" | awk '{ n = split($0, p, ";"); sub(/ [0-9]+ [0-9]+$/, "", p[n]); print p[n] }'; }
fig() { largest "$1" | awk '{ print $(NF-1) "," $NF }'; }
page_check "flamegraph --base: the page in Chromium (grew red, shrank blue, same grey)" \
    "$T/ab.html" \
    --total "$(q "$T/b.db" "SELECT value FROM meta WHERE key = 'peak_bytes'")" \
    --base "$(q "$T/a.db" "SELECT value FROM meta WHERE key = 'peak_bytes'")" \
    --compare "$(line doubled)=$(fig doubled),grew" \
    --compare "$(line removed)=$(fig removed),shrank" \
    --compare "$(line same)=$(fig same),same"
finish
