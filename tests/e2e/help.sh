# help.sh - every option a command takes is in its usage: for each command,
# each long option of its getopt table (read from its source file) shows
# in `memtap COMMAND --help` (exit 0, on stdout), and `memtap help` holds
# each command's usage whole.
. "$(dirname "$0")/common.bash"
"$MT" help >"$T/help" 2>&1
check "memtap help: exit 0" "$?" 0
for pair in run:run load:load_cmd summary:summary peak:peak leaks:leaks diff:diff check:check \
            flamegraph:flamegraph pack:pack_cmd; do
    cmd=${pair%%:*}
    src=$MT_ROOT/analyzer/${pair#*:}.c
    "$MT" "$cmd" --help >"$T/$cmd" 2>"$T/$cmd.err"
    check "$cmd --help: exit 0" "$?" 0
    opts=$(grep -o '{"[a-z-]*", *\(no\|required\|optional\)_argument' "$src" | sed 's/{"\([a-z-]*\)".*/\1/' |
           grep -v '^help$')
    [ "$cmd" = pack ] || # (pack takes none but --help)
        check_cmp "$cmd: options found in its source" "$(echo "$opts" | grep -c .)" -gt 0
    missing=""
    for o in $opts; do
        grep -q -- "--$o\b" "$T/$cmd" || missing="$missing --$o"
    done
    check "$cmd --help: names every option" "${missing:-none missing}" "none missing"
    python3 -c 'import sys; sys.exit(0 if open(sys.argv[1]).read() in open(sys.argv[2]).read() else 1)' \
        "$T/$cmd" "$T/help"
    check "memtap help: holds $cmd's usage whole" "$?" 0
done
finish
