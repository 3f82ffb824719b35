# hide_frames.sh - flamegraph's --hide-imports and --hide-interpreter leave
# out the frames they name and nothing else: on a --native trace of a
# program that imports modules, each folded output is the full one with
# exactly those frames taken out of every stack (the same bytes, lines that
# become one summed), the frames named from the database's own facts (a
# Python frame of importlib's bootstrap or zipimport; a native frame of
# libpython, of the python executable, or the C start-up). And they do
# something: the full output has both kinds of frames.
. "$(dirname "$0")/common.bash"
find_pythons
py=
for p in "${pythons[@]}"; do case $(py_tag "$p") in *-debian) ;; *) py=$p; break ;; esac; done
[ -n "$py" ] || skip "no CPython with symbols (pyenv)"
cat >"$T/prog.py" <<'PY'
import json, email.mime.text, decimal
kept = [bytearray(1000) for _ in range(2000)]
PY
"$MT" run --native -o "$T/p.memtap" -- "$py" "$T/prog.py" >/dev/null 2>"$T/p.err"
check "exit status" "$?" 0
"$MT" load --quiet "$T/p.memtap" -o "$T/p.db"
q "$T/p.db" "SELECT n.name FROM frame_names n JOIN frames f ON f.id = n.id WHERE f.kind = 'python' AND
             (f.file LIKE '<frozen importlib.%' OR f.file = '<frozen zipimport>'
              OR f.file LIKE '%/importlib/_bootstrap%' OR f.file LIKE '%/zipimport.py')" >"$T/imports.names"
q "$T/p.db" "SELECT n.name FROM frame_names n JOIN frames f ON f.id = n.id LEFT JOIN modules m ON m.id = f.module_id
             WHERE f.kind = 'native' AND (m.path LIKE '%/libpython%'
              OR (m.path GLOB '*/python[0-9]*' AND m.path NOT GLOB '*/python[0-9]*/*')
              OR f.function IN ('_start', '__libc_start_main', '__libc_start_call_main'))" >"$T/interp.names"
check_cmp "import machinery frames in the trace" "$(wc -l <"$T/imports.names")" -gt 0
check_cmp "interpreter frames in the trace" "$(wc -l <"$T/interp.names")" -gt 0
for view in total peak; do
    "$MT" flamegraph --view $view --format folded "$T/p.db" >"$T/$view.all"
    for hide in imports interpreter both; do
        case $hide in
            imports) flags=(--hide-imports); names=("$T/imports.names") ;;
            interpreter) flags=(--hide-interpreter); names=("$T/interp.names") ;;
            both) flags=(--hide-imports --hide-interpreter); names=("$T/imports.names" "$T/interp.names") ;;
        esac
        "$MT" flamegraph --view $view --format folded "${flags[@]}" "$T/p.db" >"$T/$view.$hide"
        # what the full output becomes with those names taken out
        python3 - "$T/$view.all" "${names[@]}" >"$T/$view.$hide.want" <<'PY'
import collections, sys
hidden = set()
for path in sys.argv[2:]:
    hidden |= {l.rstrip("\n").replace(";", ",") for l in open(path, encoding="utf-8", errors="replace")}
out = collections.Counter()
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    stack, value = line.rstrip("\n").rsplit(" ", 1)
    kept = [f for f in stack.split(";") if f not in hidden]
    out[";".join(kept) if kept else "(hidden frames only)"] += int(value)
for stack in sorted(out):
    print(stack, out[stack])
PY
        sort "$T/$view.$hide" >"$T/$view.$hide.sorted"
        sort "$T/$view.$hide.want" >"$T/$view.$hide.want.sorted"
        check "$view --hide-$hide: the full graph without exactly those frames" \
              "$(cmp -s "$T/$view.$hide.sorted" "$T/$view.$hide.want.sorted" && echo same || echo differs)" same
        check_cmp "$view --hide-$hide: fewer lines than the full graph" \
                  "$(wc -l <"$T/$view.$hide")" -lt "$(wc -l <"$T/$view.all")"
    done
done
finish
