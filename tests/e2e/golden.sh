# golden.sh - traces written by every earlier format version's release
# (tests/data/golden, README there) still load, with the figures their
# program is known to have: a reader change that breaks an old trace fails
# here.
. "$(dirname "$0")/common.bash"
G=$MT_ROOT/tests/data/golden
want="allocations=11 frees=6 bytes_allocated=42500 peak_bytes=36000 live_at_exit_bytes=25000 live_at_exit_count=5"
for f in "$G"/format*; do
    name=$(basename "$f" .gz)
    case $f in
    *.gz) gunzip -c "$f" >"$T/$name" ;;
    *) cp "$f" "$T/$name" ;;
    esac
    version=$(od -An -tu4 -j8 -N4 "$T/$name" | tr -d ' ')
    "$MT" summary --json "$T/$name" 2>"$T/$name.err" >"$T/$name.json"
    check "$name (format $version): loads" "$?" 0
    got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s=%s" % (k, d[k]) for k in ("allocations", "frees", "bytes_allocated",
      "peak_bytes", "live_at_exit_bytes", "live_at_exit_count")))' "$T/$name.json" 2>&1)
    check "$name (format $version): the program's figures" "$got" "$want"
done
check "every format version has a golden trace" \
    "$(for f in "$G"/format*; do basename "$f" | sed 's/format\([0-9]*\).*/\1/'; done | sort -un | tr '\n' ' ')" \
    "$(seq -s ' ' 1 "$(sed -n 's/^#define MT_FORMAT_VERSION \([0-9]*\)u.*/\1/p' "$MT_ROOT/include/mt_trace_format.h")") "
finish
