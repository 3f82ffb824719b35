# debuginfo.sh - frames of a stripped module get their names from its
# debug file: installed (a .gnu_debuglink beside it, or by build-id under
# /usr/lib/debug when that is writable here), or fetched from a debuginfod
# server named by DEBUGINFOD_URLS (a local stand-in serving the protocol's
# /buildid/ID/debuginfo); with none, the load says once which build-id
# lacks symbols, and asks no server when DEBUGINFOD_URLS is unset.
. "$(dirname "$0")/common.bash"
cd "$T"
cat >foo.c <<'EOC'
#include <stdlib.h>
static __attribute__((noinline)) void *hidden_maker(size_t n)
{
    void *p = malloc(n);
    __asm__ volatile("" ::: "memory");
    return p;
}
void *foo_make(size_t n) { void *p = hidden_maker(n); __asm__ volatile("" ::: "memory"); return p; }
EOC
cat >main.c <<'EOC'
#include <stdlib.h>
void *foo_make(size_t n);
int main(void) { void *v[100]; for (int i = 0; i < 100; i++) v[i] = foo_make(10000); return v[3] == 0; }
EOC
cc -g -O1 -fno-omit-frame-pointer -shared -fPIC -Wl,--build-id foo.c -o libfoo.so &&
    objcopy --only-keep-debug libfoo.so libfoo.debug && strip --strip-all libfoo.so &&
    cc -g -O1 main.c -L. -lfoo -Wl,-rpath,"$T" -o main
check "stripped library and its debug file built" "$?" 0
id=$(readelf -n libfoo.so | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p')
check_cmp "build-id read" "${#id}" -ge 16
"$MT" run --native --no-pack -o t.memtap ./main 2>/dev/null
check "traced" "$?" 0
site() { "$MT" peak --native "$1" 2>/dev/null | awk '/%/ && !/total/ { print $5, $6; exit }'; }

# nothing to find: named by module+offset, and said once with the build-id
unset DEBUGINFOD_URLS
"$MT" load --all -o none.db t.memtap 2>none.err
check "no debug file: loads" "$?" 0
check "no debug file: the site is libfoo.so+offset" "$(site none.db | grep -c '^libfoo.so+0x')" 1
check "no debug file: said once, with the build-id" "$(grep -c "no symbols.*libfoo.so (build-id $id)" none.err)" 1
check "no debug file: modules.unnamed_frames" \
    "$(q none.db "SELECT unnamed_frames > 0 FROM modules WHERE path LIKE '%libfoo.so'")" 1

# a debuginfod server: the debug file fetched by build-id
mkdir -p "srv/buildid/$id" cache
cp libfoo.debug "srv/buildid/$id/debuginfo"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd srv && exec python3 -m http.server "$port" --bind 127.0.0.1 >"$T/http.log" 2>&1) &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do grep -q Serving http.log 2>/dev/null && break; sleep 0.1; done
"$MT" load --all -o unset.db t.memtap 2>/dev/null
check "DEBUGINFOD_URLS unset: no server asked" "$(grep -c 'GET /buildid' http.log)" 0
DEBUGINFOD_URLS="http://127.0.0.1:$port" DEBUGINFOD_CACHE_PATH="$T/cache" \
    "$MT" load --all -o fetched.db t.memtap 2>fetched.err
check "debuginfod: loads" "$?" 0
check "debuginfod: the server was asked for this build-id" "$(grep -c "GET /buildid/$id/debuginfo" http.log)" 1
check "debuginfod: the site named, with its line" "$(site fetched.db)" "hidden_maker ($T/foo.c:4)"
check "debuginfod: no note of missing symbols" "$(grep -c 'no symbols' fetched.err)" 0
kill $server 2>/dev/null

# installed beside the library: a debug link
objcopy --add-gnu-debuglink=libfoo.debug libfoo.so
"$MT" load --all -o link.db t.memtap 2>link.err
check "debug link beside it: the site named" "$(site link.db)" "hidden_maker ($T/foo.c:4)"

# installed by build-id under /usr/lib/debug (needs write access there)
dir=/usr/lib/debug/.build-id/${id:0:2}
if mkdir -p "$dir" 2>/dev/null && [ -w "$dir" ]; then
    cc -g -O1 -fno-omit-frame-pointer -shared -fPIC -Wl,--build-id foo.c -o libfoo.so && strip --strip-all libfoo.so
    cp libfoo.debug "$dir/${id:2}.debug"
    "$MT" load --all -o byid.db t.memtap 2>byid.err
    check "installed by build-id: the site named" "$(site byid.db)" "hidden_maker ($T/foo.c:4)"
    rm -f "$dir/${id:2}.debug"
    rmdir "$dir" 2>/dev/null
else
    echo "SKIP: installed by build-id: /usr/lib/debug is not writable here"
fi
finish
