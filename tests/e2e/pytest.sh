#!/bin/bash
# pytest.sh - memtap tests (issue 27.2): a pytest suite with known
# allocations (tests/data/pytest_suite) run under `memtap run -m pytest`,
# with nothing installed but pytest: memtap's plugin marks each test. The
# per-test figures against the known sizes (a bytearray(n) is one block of
# n + 1 bytes beside its object of sys.getsizeof(bytearray()) bytes), the
# limit_memory breach named with the test's id by `memtap tests --check`,
# and pytest's own verdict and output as without memtap.
source "$(dirname "$0")/common.bash"

py=
for p in /usr/bin/python3.11 /usr/bin/python3; do
    if [ -x "$p" ] && "$p" -c 'import pytest' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || skip "no Python with pytest (Debian's python3-pytest; scripts/install-deps test installs it)"
suite="$MT_ROOT/tests/data/pytest_suite"
cp -r "$suite" "$T/suite"

(cd "$T/suite" && "$py" -m pytest -q -p no:cacheprovider . >"$T/plain.out" 2>&1)
plain_rc=$?
(cd "$T/suite" && "$MT" run -o "$T/run.memtap" -- "$py" -m pytest -q -p no:cacheprovider . \
    >"$T/traced.out" 2>"$T/traced.err")
traced_rc=$?
check "pytest's exit status as untraced (one test fails by itself)" "$traced_rc" "$plain_rc"
# (untraced, pytest warns of the limit_* markers no plugin registered)
verdict() { tail -1 "$1" | sed 's/ in .*//; s/, [0-9]* warnings\{0,1\}//'; }
check "pytest's verdict as untraced" "$(verdict "$T/traced.out")" "$(verdict "$T/plain.out")"
check "the plugin loaded through pytest's entry points" \
    "$(cd "$T/suite" && "$MT" run -o "$T/plugins.memtap" -- "$py" -m pytest -p no:cacheprovider --co -q . 2>/dev/null | grep -c 'test_known.py::')" 6

"$MT" tests --json "$T/run.memtap" >"$T/tests.json" 2>"$T/tests.err"
check "tests --json: exit status" $? 0
obj=$("$py" -c 'import sys; print(sys.getsizeof(bytearray()))')
fig() { # TEST FIELD
    python3 -c 'import json, sys
for t in json.load(open(sys.argv[1]))["tests"]:
    if t["id"].endswith("::" + sys.argv[2]):
        print(t.get(sys.argv[3], "none"))' "$T/tests.json" "$1" "$2"
}
in_range() { # NAME GOT LOW HIGH
    if [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then
        echo "ok   $1: $2 in [$3, $4]"
    else
        echo "FAIL $1: $2 not in [$3, $4]"; failures=$((failures + 1))
    fi
}
check "six tests" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["tests"]))' "$T/tests.json")" 6
# leaks: exact. The buffer, its object, and the 4-slot array the module
# list gets at its first append.
check "test_leaks_2mb: leaked bytes, exact" "$(fig test_leaks_2mb leaked_bytes)" $((2000001 + obj + 32))
check "test_leaks_2mb: leaked blocks" "$(fig test_leaks_2mb leaked_count)" 3
for t in test_nothing test_peak_3mb test_over_limit test_under_limits; do
    check "$t: leaked nothing" "$(fig $t leaked_bytes)" 0
done
# peaks: the test's blocks at its highest point, and a few hundred bytes of
# pytest's own call of it (its frame and result: test_nothing's whole peak)
base=$(fig test_nothing peak_bytes)
in_range "test_nothing: peak (pytest's call of a test)" "$base" 0 1024
in_range "test_peak_3mb: peak" "$(fig test_peak_3mb peak_bytes)" $((3000002 + 2 * obj)) $((3000002 + 2 * obj + 1024))
in_range "test_over_limit: peak" "$(fig test_over_limit peak_bytes)" $((5000001 + obj)) $((5000001 + obj + 1024))
in_range "test_peak_3mb: allocated" "$(fig test_peak_3mb allocated_bytes)" $((3000002 + 2 * obj)) $((3000002 + 2 * obj + 2048))
check "test_over_limit: its limit read (4 MB = 4 MiB, as pytest-memray reads it)" "$(fig test_over_limit limit_memory)" 4194304
check "test_over_limit: over it" "$(fig test_over_limit over_limit_memory)" True
check "test_under_limits: limits read" "$(fig test_under_limits limit_memory) $(fig test_under_limits limit_leaks)" "8388608 1048576"
check "test_under_limits: within them" "$(fig test_under_limits over_limit_memory) $(fig test_under_limits over_limit_leaks)" "False False"

"$MT" tests --check "$T/run.memtap" >"$T/check.out" 2>&1
check "tests --check: exits 1" $? 1
check "tests --check: names the test over its limit" "$(grep -c '^FAIL test_known.py::test_over_limit: heap peak .* over its limit_memory 4.0 MiB' "$T/check.out")" 1
check "tests --check: and no other" "$(grep -c '^FAIL' "$T/check.out")" 1
"$MT" tests "$T/run.memtap" >"$T/table.out" 2>&1
check "table: most leaked first" "$(sed -n 3p "$T/table.out" | grep -c 'test_leaks_2mb')" 1
check "table: the breach shown" "$(grep -c 'test_over_limit  \[over limit_memory' "$T/table.out")" 1

# a run without pytest has no tests
"$MT" run -o "$T/none.memtap" -- "$py" -c 'x = 1' >/dev/null 2>&1
"$MT" tests "$T/none.memtap" >/dev/null 2>&1
check "no tests: exit 1" $? 1

finish
