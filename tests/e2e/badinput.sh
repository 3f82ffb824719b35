# badinput.sh - truncated, random, empty, newer-version and missing traces
# each give one clear line on stderr and a non-zero exit, never a crash:
# with the normal build and, when present, the sanitizer build.
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
finish
