# rss.sh - the RSS memtap reports is the program's: memtap's own resident
# memory (its tables, the trace pages mapped in) is
# measured by the shim and left out. For each shared workload (copies in
# tests/data/workloads), the reported RSS peak is within 2 MiB of the
# untraced run's maxrss, measured in this test; without leaving memtap's
# share out it is 4-6 MiB over. threads.py (four threads, each with its own
# malloc arena) is within 3 MiB: the 1-2 MiB memtap still adds there is
# not all measured (see the note on issue 25). The peak's anonymous,
# file-backed and shared-memory parts add up to it.
. "$(dirname "$0")/common.bash"
W=$MT_ROOT/tests/data/workloads
py=/usr/bin/python3.11
if [ ! -x "$py" ]; then
    find_pythons
    py=${pythons[0]}
    echo "SKIP-ONE: Debian python3.11 not installed; $(py_tag "$py") instead"
fi
cc -O2 -g -o "$T/native_c" "$W/native_c.c" || { echo "FAIL: native_c does not build"; exit 1; }
mib=1048576
for w in objects strings_json leaky threads native_c; do
    case $w in
        native_c) cmd=("$T/native_c") ;;
        *) cmd=("$py" "$W/$w.py") ;;
    esac
    untraced=$(python3 "$MT_ROOT/tests/data/maxrss.py" "${cmd[@]}")
    "$MT" run -o "$T/$w.memtap" -- "${cmd[@]}" >/dev/null 2>"$T/$w.err"
    check "$w: exit status" "$?" 0
    "$MT" summary --json "$T/$w.memtap" >"$T/$w.json" 2>"$T/$w.sum.err"
    read -r peak anon file shmem own < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(s["peak_rss_bytes"], s["peak_rss_anon_bytes"], s["peak_rss_file_bytes"],
      s["peak_rss_shmem_bytes"], s["memtap_rss_max_bytes"])' "$T/$w.json")
    # 2 MiB, tighter than 5% of the larger ones: memtap's own share (4-6 MiB)
    # must not come back into any of them
    tolerance=$((2 * mib))
    [ $w = threads ] && tolerance=$((3 * mib))
    diff=$(( ${peak:-0} - untraced ))
    echo "     $w: untraced maxrss $untraced, reported peak $peak (${diff#-} apart), memtap's own at most $own"
    check_cmp "$w: reported RSS peak within $tolerance bytes of the untraced maxrss" "${diff#-}" -le "$tolerance"
    check_cmp "$w: memtap's own RSS measured" "${own:-0}" -gt 0
    check "$w: anonymous + file-backed + shared = the RSS peak" "$(( ${anon:-0} + ${file:-0} + ${shmem:-0} ))" "${peak:--1}"
done
finish
