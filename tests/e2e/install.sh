# install.sh - `make install` puts memtap and its shim where the installed
# memtap finds them (relative to itself, so DESTDIR staging works too).
. "$(dirname "$0")/common.bash"
make -s -C "$MT_ROOT" install PREFIX=/usr DESTDIR="$T/root" >"$T/install.log" 2>&1
check "make install" "$?" 0
check "binary installed" "$(test -x "$T/root/usr/bin/memtap" && echo yes)" yes
check "shim installed" "$(test -f "$T/root/usr/lib/memtap/libmemtap.so" && echo yes)" yes
check "header installed" "$(test -f "$T/root/usr/include/memtap.h" && echo yes)" yes
"$T/root/usr/bin/memtap" run -o "$T/i.memtap" "$PROGS/prog_known" 2>"$T/i.err"
check "installed memtap runs a trace" "$?" 0
"$T/root/usr/bin/memtap" summary --json "$T/i.memtap" >"$T/i.json" 2>/dev/null
check "installed memtap summarizes" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["peak_bytes"])' "$T/i.json")" 1006277
finish
