# python_subinterp.sh - subinterpreters with their own GIL (CPython 3.12+)
# allocating at once: the shim's Python hooks run on four threads in
# parallel. Same output and exit status as without memtap, and every
# bytearray buffer of the workers' loop is recorded once, at its line, on
# its own interpreter's thread, with every free matched.
. "$(dirname "$0")/common.bash"
find_pythons
src="$MT_ROOT/tests/data/py_subinterp.py"
line=$(grep -n '# WORK_LINE' "$src" | cut -d: -f1)
# its line in CODE's text, whose line 1 is the one CODE = f""" opens
line=$((line - $(grep -n '^CODE = ' "$src" | cut -d: -f1) + 1))
tested=0
for py in "${pythons[@]}"; do
    v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    if [ "${v#3.}" -lt 12 ]; then
        echo "SKIP-ONE: $py ($v): no subinterpreters with their own GIL before 3.12"
        continue
    fi
    tested=$((tested + 1))
    name=sub${v/./}
    timeout 120 "$py" "$src" >"$T/$name.plain" 2>&1
    want=$?
    timeout 120 "$MT" run -o "$T/$name.memtap" -- "$py" "$src" >"$T/$name.out" 2>"$T/$name.err"
    check "$v exit status" "$?" "$want"
    check "$v same output" "$(cat "$T/$name.out")" "$(cat "$T/$name.plain")"
    "$MT" load --all --quiet "$T/$name.memtap" -o "$T/$name.db"
    check "$v loads" "$?" 0
    buffers=$(sed -n 's/^buffers \([0-9]*\) .*/\1/p' "$T/$name.plain")
    nthreads=$(sed -n 's/.* threads \([0-9]*\)$/\1/p' "$T/$name.plain")
    # run_string's code is "<string>" up to 3.13, "<script>" from 3.14; a
    # bytearray's buffer is a bytes object from 3.15 (33 bytes of header more)
    where="function = 'work' AND file IN ('<string>', '<script>') AND line = $line AND size % 2 = 1 AND size BETWEEN 2001 AND 2082"
    check "$v every buffer at its line" "$(q "$T/$name.db" "SELECT count(*) FROM allocation_sites WHERE $where")" "$buffers"
    check "$v on one thread per interpreter" \
          "$(q "$T/$name.db" "SELECT count(DISTINCT thread_id) FROM allocation_sites WHERE $where")" "$nthreads"
    check "$v each thread its share" \
          "$(q "$T/$name.db" "SELECT count(*) FROM (SELECT thread_id, count(*) c FROM allocation_sites WHERE $where GROUP BY thread_id) WHERE c != $buffers / $nthreads")" 0
    check "$v every buffer freed" \
          "$(q "$T/$name.db" "SELECT count(*) FROM allocation_sites WHERE $where AND free_seq IS NULL")" 0
    check "$v no lost frees" "$(q "$T/$name.db" "SELECT value FROM meta WHERE key = 'lost_frees'")" 0
done
[ $tested -gt 0 ] || skip "no CPython 3.12 or later"
finish
