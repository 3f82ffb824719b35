# deps.sh - the quick start's dependency step: `make demo` installs what
# building and running need before it builds, and no browser; `make check`
# installs the tests' packages on top. Checked with the Makefile in dry-run
# mode and install-deps in its own dry-run mode, on a machine where
# dpkg-query (a stub first on PATH) says nothing is installed; and as a
# normal user with no sudo, the clear message and exit 1.
. "$(dirname "$0")/common.bash"
ID=$MT_ROOT/scripts/install-deps

# make -n: the dependency step comes before anything is compiled
make -n -C "$MT_ROOT" demo B="$T/nobuild" >"$T/demo.n" 2>&1
check "make -n demo: exit 0" "$?" 0
first=$(grep -n -m1 'install-deps' "$T/demo.n" | cut -d: -f1)
check "make demo: runs scripts/install-deps build" "$(grep -c 'install-deps build' "$T/demo.n")" 1
make -n -C "$MT_ROOT" check B="$T/nobuild" >"$T/check.n" 2>&1
check "make check: runs scripts/install-deps test" "$(grep -c 'install-deps test' "$T/check.n")" 1
compile=$(grep -n -m1 -- '-c .*\.c' "$T/demo.n" | cut -d: -f1)
[ -n "$compile" ] || compile=$(grep -n -m1 'MAKE\|make' "$T/demo.n" | cut -d: -f1)
check_cmp "make demo: dependencies before the build (line $first, build at ${compile:-?})" \
    "${first:-999}" -lt "${compile:-0}"

# a machine with nothing installed: stubs say so, and id says root
mkdir -p "$T/bin"
printf '#!/bin/sh\nexit 1\n' >"$T/bin/dpkg-query"
printf '#!/bin/sh\necho 0\n' >"$T/bin/id"
chmod +x "$T/bin/dpkg-query" "$T/bin/id"
PATH="$T/bin:$PATH" MEMTAP_DEPS_DRY_RUN=1 sh "$ID" build >"$T/build.out" 2>&1
check "install-deps build: exit 0" "$?" 0
for p in gcc make libunwind-dev libsqlite3-dev libdw-dev libelf-dev libzstd-dev libncurses-dev libprotobuf-c-dev protobuf-c-compiler zlib1g-dev python3; do
    check "install-deps build: installs $p" "$(grep 'apt-get install' "$T/build.out" | grep -cw -- "$p")" 1
done
for p in chromium libcmocka-dev; do
    check "install-deps build: no $p" "$(grep -cw -- "$p" "$T/build.out")" 0
done
check "install-deps build: fetches no CPython" "$(grep -c fetch-python "$T/build.out")" 0
PATH="$T/bin:$PATH" MEMTAP_DEPS_DRY_RUN=1 sh "$ID" test >"$T/test.out" 2>&1
check "install-deps test: exit 0" "$?" 0
for p in libunwind-dev libcmocka-dev sqlite3 tmux chromium chromium-driver patchelf; do
    check "install-deps test: installs $p" "$(grep 'apt-get install' "$T/test.out" | grep -cw -- "$p")" 1
done
check "install-deps test: fetches CPythons" "$(grep -c 'would run: .*fetch-python' "$T/test.out")" 1

# everything installed: nothing said, nothing run
printf '#!/bin/sh\necho "install ok installed"\n' >"$T/bin/dpkg-query"
PATH="$T/bin:$PATH" MEMTAP_DEPS_DRY_RUN=1 sh "$ID" build >"$T/quiet.out" 2>&1
check "install-deps build, all present: exit 0" "$?" 0
check "install-deps build, all present: silent" "$(wc -c <"$T/quiet.out")" 0

# a normal user without sudo: what is missing, and how to install it
printf '#!/bin/sh\nexit 1\n' >"$T/bin/dpkg-query"
printf '#!/bin/sh\necho 1000\n' >"$T/bin/id"
mkdir -p "$T/nosudo"
for tool in sh grep dirname; do ln -sf "$(command -v $tool)" "$T/nosudo/$tool"; done
PATH="$T/bin:$T/nosudo" MEMTAP_DEPS_DRY_RUN=1 "$T/nosudo/sh" "$ID" build >"$T/user.out" 2>&1
check "install-deps as a user without sudo: exit 1" "$?" 1
check "install-deps as a user without sudo: says why" \
    "$(grep -c 'run this as root, or install sudo' "$T/user.out")" 1
check "install-deps as a user without sudo: names the packages" \
    "$(grep -c 'apt-get install .*libunwind-dev' "$T/user.out")" 1
finish
