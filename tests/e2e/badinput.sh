# badinput.sh - truncated, random, empty, newer-version and missing traces;
# each give one clear line on stderr and a non-zero exit, never a crash:
# with the normal build and, when present, the sanitizer build. Then what a
# fuzzer found (ids and a thread index that hung the loader or sized its
# memory) and a database whose stacks hold a cycle.
. "$(dirname "$0")/common.bash"
"$MT" run --no-pack -o "$T/good.memtap" "$PROGS/prog_known" 2>/dev/null
head -c 100000 "$T/good.memtap" >"$T/truncated.memtap"
head -c 2000 "$T/good.memtap" >"$T/short.memtap"
head -c 300000 /dev/urandom >"$T/random.memtap"
: >"$T/empty.memtap"
cp "$T/good.memtap" "$T/newer.memtap"
printf '\x63' | dd of="$T/newer.memtap" bs=1 seek=8 conv=notrunc 2>/dev/null
cp "$T/good.memtap" "$T/garbage-record.memtap"
printf '\xee\xee\xee\xee' | dd of="$T/garbage-record.memtap" bs=1 seek=4112 conv=notrunc 2>/dev/null
bins=("$MT")
[ -x "$MT_ROOT/build-san/memtap" ] && bins+=("$MT_ROOT/build-san/memtap")
for bin in "${bins[@]}"; do
    tag=$(basename "$(dirname "$bin")")
    for f in truncated short random empty newer garbage-record missing; do
        for cmd in load summary; do
            rm -f "$T/$f.db"
            out=$("$bin" $cmd "$T/$f.memtap" 2>&1 >/dev/null)
            rc=$?
            check "$tag $cmd $f: exit 1" "$rc" 1
            check "$tag $cmd $f: one line" "$(printf '%s\n' "$out" | wc -l)" 1
            case "$out" in
                "memtap: "*) check "$tag $cmd $f: message" ok ok ;;
                *) check "$tag $cmd $f: message" "$out" "memtap: ..." ;;
            esac
        done
    done
    out=$("$bin" load "$T/newer.memtap" 2>&1)
    case "$out" in
        *"version 99 is newer"*) check "$tag newer version says so" ok ok ;;
        *) check "$tag newer version says so" "$out" "...version 99 is newer..." ;;
    esac
    "$bin" frobnicate >/dev/null 2>&1
    check "$tag unknown command: usage error" "$?" 2
    "$bin" summary >/dev/null 2>&1
    check "$tag summary without argument: usage error" "$?" 2
done

# Found by a fuzzer (issue 28): ids and a thread index from the file that
# hung the loader (a uint32 doubling loop that wrapped to 0) or made it
# allocate by them. Each is now a clear error, at once, in little memory.
python3 "$MT_ROOT/tests/data/make_hostile.py" "$T"
for f in stack_id pyframe_id thread_index; do
    rss=$(python3 -c '
import resource, subprocess, sys
try:
    r = subprocess.run(sys.argv[1:], capture_output=True, timeout=60)
    print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
    sys.stderr.write(r.stderr.decode(errors="replace"))
except subprocess.TimeoutExpired:
    print("hung", 0)' "$MT" load --quiet "$T/$f.memtap" -o "$T/$f.db" 2>"$T/$f.err")
    read -r rc mib <<<"$rss"
    check_cmp "$f: the load fails, and does not hang (exit status $rc)" "$( [ "$rc" != hung ] && echo "$rc" || echo 0)" -ne 0
    check_cmp "$f: in little memory (MiB)" "${mib:-999}" -lt 200
    check "$f: says the trace is corrupt" "$(grep -c 'corrupt' "$T/$f.err")" 1
done

# A database whose stacks table holds a cycle (hand-edited, or corrupt):
# the reports that walk stacks finish, and say what they can.
"$MT" load --quiet "$T/good.memtap" -o "$T/cycle.db"
leaf=$(q "$T/cycle.db" "SELECT stack_id FROM live_at_exit LIMIT 1")
top=$(q "$T/cycle.db" "WITH RECURSIVE up(id, parent) AS (SELECT id, parent FROM stacks WHERE id = ${leaf:-0}
      UNION ALL SELECT s.id, s.parent FROM up JOIN stacks s ON s.id = up.parent WHERE up.parent != 0)
      SELECT id FROM up WHERE parent = 0")
q "$T/cycle.db" "UPDATE stacks SET parent = ${leaf:-0} WHERE id = ${top:-0}"
check "cycle: made one" "$(q "$T/cycle.db" "SELECT count(*) FROM stacks WHERE id = ${top:-0} AND parent = ${leaf:-0}")" 1
for cmd in "leaks" "peak --by stack" "leaks --json"; do
    # shellcheck disable=SC2086
    timeout 60 "$MT" $cmd "$T/cycle.db" >"$T/cycle.out" 2>&1
    check "cycle: $cmd finishes" "$?" 0
done
finish
