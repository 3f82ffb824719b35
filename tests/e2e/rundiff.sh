# rundiff.sh - `memtap diff A B`: two runs of a program, one site doubled
# and one removed between them (tests/data/py_rundiff.py), compared site by
# site: exactly those two sites above the noise, with their exact changes
# at the peak and at exit, and the unchanged site not among them.
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
finish
