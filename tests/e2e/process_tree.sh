# process_tree.sh - memtap run traces every process a command starts
# (issue 24): forks (a forked child's heap starts as its parent's, exactly,
# with no unmatched frees), fork + exec (shell pipelines, subprocess),
# multiprocessing under each start method on every CPython present, a
# prefork server whose workers end three ways, --no-children; and the
# programs behave and exit as untraced (a C++ program, make -j2).
. "$(dirname "$0")/common.bash"

# the database of the process with pid $2 in run database $1
proc_db() { q "$1" "SELECT db_path FROM processes WHERE pid = $2"; }
# thousands of bytes in blocks of 1000 or more live at exit at file $2,
# line $3 in process database $1, allocated by that process (not
# inherited: seq 0). In thousands: bytearray(n) asks for n + 1 bytes, and
# from 3.15 its object's header too, in the same block.
held_at() {
    q "$1" "SELECT coalesce(sum(a.size), 0) / 1000 FROM live_at_exit a JOIN allocation_sites s
            ON s.id = a.id WHERE s.file = '$2' AND s.line = $3 AND a.size >= 1000
            AND a.alloc_seq > 0"
}
# the same, blocks of every size (the objects beside the buffers)
all_at() {
    q "$1" "SELECT coalesce(sum(a.size), 0) FROM live_at_exit a JOIN allocation_sites s
            ON s.id = a.id WHERE s.file = '$2' AND s.line = $3 AND a.alloc_seq > 0"
}
# run_and_load NAME CMD... - trace_and_load with the compact database (the
# default: faster to load, and what a user gets)
run_and_load() {
    local name=$1; shift
    "$MT" run -o "$T/$name.memtap" -- "$@" >"$T/$name.out" 2>"$T/$name.err"
    run_rc=$?
    "$MT" load --quiet "$T/$name.memtap" -o "$T/$name.db" 2>"$T/$name.load.err"
    load_rc=$?
    [ $load_rc -eq 0 ] || { echo "load failed:"; cat "$T/$name.load.err"; }
}

# ---- a C tree: fork, fork again, exact heaps -----------------------------
trace_and_load tree "$PROGS/prog_tree"
check "tree: exit status" "$run_rc" 0
check "tree: loads" "$load_rc" 0
db=$T/tree.db
check "tree: three processes, each under its parent" \
      "$(q "$db" "SELECT group_concat(coalesce(parent_id, 0) || ':' || forked, ' ') FROM processes ORDER BY id")" \
      "0:0 1:1 2:1"
child=$(q "$db" "SELECT pid FROM processes WHERE parent_id = 1")
grand=$(q "$db" "SELECT pid FROM processes WHERE parent_id = 2")
cdb=$(proc_db "$db" "$child"); gdb=$(proc_db "$db" "$grand")
check "tree: how each ended" "$(q "$db" "SELECT group_concat(coalesce(exit_status, '?'), ' ') FROM processes ORDER BY id")" "0 3 0"
# The child inherits the parent's heap at the fork (parent_keep's 100 x
# 1000 and whatever libc had), allocates 60000, then frees half of
# parent_keep's: its peak is what it inherited + 60000, exactly.
inh=$(q "$cdb" "SELECT value FROM meta WHERE key = 'inherited_bytes'")
check_cmp "child: inherited at least parent_keep's" "$inh" -ge 100000
check "child: parent_keep inherited, under the parent's stack" \
      "$(q "$cdb" "SELECT count(*) || ' ' || sum(size) || ' ' || max(alloc_seq) FROM allocation_sites WHERE function = 'parent_keep'")" "100 100000 0"
check "child: half of it freed in the child" \
      "$(q "$cdb" "SELECT count(*) FROM allocation_sites WHERE function = 'parent_keep' AND free_seq IS NOT NULL")" 50
check "child: no unmatched frees" "$(q "$cdb" "SELECT value FROM meta WHERE key = 'unmatched_frees'")" 0
check "child: heap peak exact" "$(q "$cdb" "SELECT value FROM meta WHERE key = 'peak_bytes'")" $((inh + 60000))
check "child: live at the peak sums to it" "$(q "$cdb" "SELECT sum(size) FROM live_at_peak")" $((inh + 60000))
check "child: its own blocks" "$(q "$cdb" "SELECT count(*) || ' ' || sum(size) FROM allocation_sites WHERE function = 'child_own' AND alloc_seq > 0")" "6 60000"
check "grandchild: inherits the child's heap (a fork of a fork)" \
      "$(q "$gdb" "SELECT group_concat(function || ':' || n || ':' || b, ' ') FROM (SELECT function, count(*) n, sum(size) b FROM allocation_sites WHERE function IN ('parent_keep', 'child_own') AND alloc_seq = 0 GROUP BY function ORDER BY function)")" \
      "child_own:6:60000 parent_keep:50:50000"
check "grandchild: its leak" "$(q "$gdb" "SELECT count(*) || ' ' || sum(size) FROM allocation_sites WHERE function = 'grand_leak' AND free_seq IS NULL")" "5 5000"
check "grandchild: no unmatched frees" "$(q "$gdb" "SELECT value FROM meta WHERE key = 'unmatched_frees'")" 0
check "summary --pid: the child's peak" \
      "$("$MT" summary --json --pid "$child" "$T/tree.memtap" | python3 -c 'import json,sys; print(json.load(sys.stdin)["peak_bytes"])')" $((inh + 60000))
json=$("$MT" summary --json "$T/tree.memtap")
check "summary --json: the processes" \
      "$(echo "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join("%d:%d:%s" % (p["ppid"] == d["processes"][0]["pid"] or p["depth"] == 0 or p["depth"], p["depth"], p["exit"] and p["exit"].get("status")) for p in d["processes"]), d["tree_peak_rss_bytes"] > 0)')" \
      "1:0:0 1:1:3 2:2:0 True"
"$MT" summary --pid 1 "$T/tree.memtap" >/dev/null 2>"$T/nopid.err"
check "summary --pid: a pid not in the run is an error" "$?" 1
check "summary --pid: says so" "$(grep -c 'no process 1 in this run' "$T/nopid.err")" 1
"$MT" leaks --json "$T/tree.memtap" >"$T/leaks.json"
check "leaks --json: each process, its leaks" \
      "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["processes"]), d["tree_unfreed_bytes"] == sum(p["unfreed_bytes"] for p in d["processes"]))' "$T/leaks.json")" "3 True"
"$MT" flamegraph -o "$T/tree.html" "$T/tree.memtap" >/dev/null 2>"$T/fg.err"
check "flamegraph: the tree's page" "$?" 0
check "flamegraph: a model for each other process" "$(grep -c 'id="memtap-data-' "$T/tree.html")" 2
page_check "flamegraph: the page's process selector, in Chromium" "$T/tree.html" \
    --total "$(q "$db" "SELECT peak_bytes FROM processes WHERE id = 1")" \
    --stacked "$child" --stacked "$grand" \
    --process "$child=$((inh + 60000))" \
    --process "$grand=$(q "$db" "SELECT peak_bytes FROM processes WHERE id = 3")"
"$MT" flamegraph --format folded --pid "$grand" "$T/tree.memtap" >"$T/grand.folded"
check "flamegraph --pid: the grandchild's own stacks" "$(grep -c 'grand_leak' "$T/grand.folded")" 1
check "peak --json: each process's sites at its own peak" \
      "$("$MT" peak --json "$T/tree.memtap" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(str(sum(s["bytes"] for s in p["sites"]) + p["other"]["bytes"]) for p in d["processes"]))')" \
      "$(q "$db" "SELECT group_concat(peak_bytes, ' ') FROM (SELECT peak_bytes FROM processes ORDER BY start_ns, id)")"
"$MT" check --max-leak 1MB "$T/tree.memtap" >/dev/null
check "check: the tree within its limits" "$?" 0
"$MT" check --max-peak 150000 "$T/tree.memtap" >/dev/null 2>"$T/check.err"
check "check --max-peak: the child's peak is over" "$?" 1

# ---- --no-children: the first process alone, as before ------------------
"$MT" run --no-children -o "$T/nc.memtap" -- "$PROGS/prog_tree" 2>"$T/nc.err"
check "--no-children: exit status" "$?" 0
check "--no-children: no RUN.d" "$([ -e "$T/nc.memtap.d" ] && echo yes || echo no)" no
"$MT" load -q "$T/nc.memtap"
check "--no-children: one process" "$(q "$T/nc.db" "SELECT count(*) FROM processes")" 1

# ---- fork + exec: a shell pipeline of two C programs ---------------------
trace_and_load pipe sh -c "'$PROGS/prog_known' | '$PROGS/prog_bigblock'"
check "pipeline: exit status" "$run_rc" 0
db=$T/pipe.db
check "pipeline: both programs, with their command lines" \
      "$(q "$db" "SELECT group_concat(command, ' | ') FROM (SELECT command FROM processes WHERE command LIKE '%prog_%' AND id > 1 ORDER BY command)")" \
      "$PROGS/prog_bigblock | $PROGS/prog_known"
check "pipeline: prog_known's exact heap peak" \
      "$(q "$db" "SELECT peak_bytes FROM processes WHERE command = '$PROGS/prog_known'")" 1006277
check "pipeline: prog_bigblock's exact heap peak" \
      "$(q "$db" "SELECT peak_bytes FROM processes WHERE command = '$PROGS/prog_bigblock'")" $((64 * 1048576 + 16))
check "pipeline: each under the shell" \
      "$(q "$db" "SELECT count(*) FROM processes p JOIN processes s ON s.id = p.parent_id WHERE p.command LIKE '%prog_%' AND p.id > 1 AND s.id = 1")" 2

# ---- a child memtap cannot trace (a static binary) is listed, with why ----
printf '#include <stdlib.h>\nint main(void) { return malloc(10) ? 4 : 1; }\n' >"$T/static.c"
if gcc -static -o "$T/static" "$T/static.c" 2>/dev/null; then
    run_and_load static sh -c "'$T/static'; '$T/static'; exec '$T/static'"
    check "static: exit status as untraced" "$run_rc" 4
    db=$T/static.db
    check "static: the shell exec'd it, and says so" \
          "$(q "$db" "SELECT exec_path || ' ' || closed || ' ' || exit_status FROM processes WHERE id = 1")" "$T/static 1 4"
    check "static: each child run, listed as not traced, with its exit status" \
          "$(q "$db" "SELECT group_concat(traced || ':' || exit_status, ' ') FROM processes WHERE id > 1")" "0:4 0:4"
    check "static: summary says why" "$("$MT" summary "$T/static.memtap" | grep -c 'no trace: a static or setuid program')" 3
else
    echo "SKIP-ONE: no static libc (libc6-dev's libc.a) to build a static program"
fi

# ---- Python: prefork workers, a subprocess, Pools under each method ------
find_pythons
pre="$MT_ROOT/tests/data/py_prefork.py"
pool="$MT_ROOT/tests/data/py_pool.py"
kid="$MT_ROOT/tests/data/py_child.py"
held_line=$(grep -n '# HELD_LINE' "$pool" | cut -d: -f1)
kid_line=$(grep -n '# CHILD_HELD' "$kid" | cut -d: -f1)
for py in "${pythons[@]}"; do
    tag=$(py_tag "$py")
    "$py" "$pre" >"$T/pre$tag.plain" 2>&1
    run_and_load "pre$tag" "$py" "$pre"
    check "$tag prefork: exit status" "$run_rc" 0
    check "$tag prefork: same output" "$(sed 's/^[0-9]* //' "$T/pre$tag.out")" "$(cat "$T/pre$tag.plain")"
    db=$T/pre$tag.db
    check "$tag prefork: four processes" "$(q "$db" "SELECT count(*) FROM processes")" 4
    got=""
    for n in 1 2 3; do
        line=$(grep -n "# LEAK_$n" "$pre" | cut -d: -f1)
        for p in $(q "$db" "SELECT db_path FROM processes WHERE id > 1 ORDER BY pid"); do
            b=$(held_at "$p" "$pre" "$line")
            [ "$b" != 0 ] && got="$got $n:$b"
        done
    done
    check "$tag prefork: each worker's leak (KB), at its line, in its process" \
          "$got" " 1:1100 2:2200 3:3300"
    # The two that leave at once free nothing they inherited without
    # matching it; the one that leaves by sys.exit tears the interpreter
    # down, and frees, as its parent does at its own exit, the blocks the
    # interpreter made before memtap's hooks were in (never seen allocated)
    parent_unmatched=$(q "$db" "SELECT unmatched_frees FROM processes WHERE id = 1")
    check "$tag prefork: no unmatched frees in the workers that _exit or die" \
          "$(q "$db" "SELECT group_concat(unmatched_frees, ' ') FROM (SELECT unmatched_frees FROM processes WHERE id > 1 ORDER BY pid LIMIT 2 OFFSET 1)")" "0 0"
    check_cmp "$tag prefork: the sys.exit worker's unmatched frees: at most its parent's" \
              "$(q "$db" "SELECT unmatched_frees FROM processes WHERE id > 1 ORDER BY pid LIMIT 1")" -le "$parent_unmatched"
    check "$tag prefork: how each worker ended (the killed one: by its parent's wait)" \
          "$(q "$db" "SELECT group_concat(coalesce(exit_status, 'signal ' || exit_signal) || '/' || closed, ' ') FROM (SELECT * FROM processes WHERE id > 1 ORDER BY pid)")" \
          "5/1 7/1 signal 9/0"

    run_and_load "sub$tag" "$py" -c "import subprocess, sys; subprocess.run([sys.executable, '$kid'], check=True)"
    check "$tag subprocess: exit status" "$run_rc" 0
    sdb=$(q "$T/sub$tag.db" "SELECT db_path FROM processes WHERE command LIKE '%py_child.py'")
    check "$tag subprocess: the exec'd script's block (KB), in its process" "$(held_at "${sdb:-/dev/null}" "$kid" "$kid_line")" 4400

    for method in fork spawn forkserver; do
        run_and_load "pool$tag$method" "$py" "$pool" "$method"
        check "$tag pool $method: exit status" "$run_rc" 0
        db=$T/pool$tag$method.db
        got=$(for p in $(q "$db" "SELECT db_path FROM processes WHERE id > 1"); do
                  b=$(held_at "$p" "$pool" "$held_line"); [ "$b" != 0 ] && echo "$b"
              done | sort -n | paste -sd' ')
        check "$tag pool $method: each worker's KB at the line, in its own process" \
              "$got" "1000 2000 3000 4000"
        all=$(for p in $(q "$db" "SELECT db_path FROM processes WHERE id > 1"); do
                  b=$(all_at "$p" "$pool" "$held_line"); [ "$b" != 0 ] && echo "$b"
              done | sort -n | paste -sd' ')
        "$MT" leaks --json --top 100000 "$T/pool$tag$method.memtap" >"$T/pool$tag$method.json" 2>/dev/null
        check "$tag pool $method: and in the tree's answer" \
              "$(python3 - "$T/pool$tag$method.json" "$pool" "$held_line" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
found = sorted(sum(s["bytes"] for s in p["unfreed"]
                   if s["file"] == sys.argv[2] and s["line"] == int(sys.argv[3]))
               for p in d["processes"])
print(" ".join(str(b) for b in found if b))
PY
)" "$all"
    done
done

# ---- programs behave as untraced: C++ and make -j2 -----------------------
"$PROGS/prog_cxx" >"$T/cxx.plain" 2>"$T/cxx.plain.err"; want=$?
trace_and_load cxx "$PROGS/prog_cxx"
check "C++: exit status as untraced" "$run_rc" "$want"
check "C++: output as untraced" "$(cat "$T/cxx.out")" "$(cat "$T/cxx.plain")"
check "C++: stderr as untraced, but the launcher's lines" \
      "$(grep -vE '^memtap: (trace |and [0-9]+ other process)' "$T/cxx.err")" "$(cat "$T/cxx.plain.err")"
mkdir -p "$T/proj"
printf 'int two(void) { return 2; }\n' >"$T/proj/two.c"
printf 'int two(void);\nint main(void) { return two() + 40; }\n' >"$T/proj/main.c"
printf 'app: main.o two.o\n\t$(CC) -o $@ main.o two.o\n%%.o: %%.c\n\t$(CC) -c -o $@ $<\n' >"$T/proj/Makefile"
cp -r "$T/proj" "$T/proj2"
make -s -j2 -C "$T/proj" >"$T/make.plain" 2>&1; want=$?
"$MT" run -o "$T/make.memtap" -- make -s -j2 -C "$T/proj2" >"$T/make.out" 2>"$T/make.err"
check "make -j2: exit status as untraced" "$?" "$want"
check "make -j2: output as untraced" "$(cat "$T/make.out")" "$(cat "$T/make.plain")"
"$T/proj2/app"
check "make -j2: the program it built runs" "$?" 42
"$MT" load -q "$T/make.memtap" 2>"$T/make.load.err"
check "make -j2: the tree loads" "$?" 0
check_cmp "make -j2: the compiler's processes are in it" \
          "$(q "$T/make.db" "SELECT count(*) FROM processes WHERE executable LIKE '%cc1%' OR executable LIKE '%/as' OR executable LIKE '%ld%'")" -ge 3
finish
