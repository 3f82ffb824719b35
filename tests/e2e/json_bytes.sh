# json_bytes.sh - output that never breaks a parser. A Python program in a
# folder whose name holds a quote, a backslash, `</script>`, a control
# character and a byte that is not UTF-8, with a function of a non-ASCII
# name, sets markers whose labels are invalid UTF-8 and quotes. The --json
# output of summary, peak, leaks, diff (between the markers) and check is
# UTF-8 and parses with a strict JSON parser, and the names come back
# (bytes that are not UTF-8 as U+FFFD); the flamegraph page is UTF-8, its
# embedded JSON parses, and nothing in it closes its <script> early.
. "$(dirname "$0")/common.bash"
py=/usr/bin/python3.11
[ -x "$py" ] || { find_pythons; py=${pythons[0]}; }
dir=$T/$'we"ird\\dir</script>\x01\xe9'
mkdir -p "$dir" || skip "the file system refuses the folder name"
cat >"$dir/prog.py" <<'PY'
import memtap

def naïve():
    return [bytearray(100_000) for _ in range(20)]

memtap.marker(b'caf\xe9 "one"')
kept = naïve()
memtap.marker(b'two</script>\x02\xff')
PY
"$MT" run -o "$T/p.memtap" -- "$py" "$dir/prog.py" >"$T/p.out" 2>"$T/p.err"
check "exit status" "$?" 0
"$MT" load --quiet "$T/p.memtap" -o "$T/p.db"
from=$(q "$T/p.db" "SELECT seq FROM markers ORDER BY seq LIMIT 1")
strict() { # FILE WHAT: UTF-8 and strict JSON; prints what the check asks for
    python3 -c '
import json, sys
raw = open(sys.argv[1], "rb").read()
doc = json.loads(raw.decode("utf-8"), strict=True)
def names(x):
    if isinstance(x, dict):
        for k, v in x.items():
            if k in ("file", "function", "label", "from", "to") and isinstance(v, str):
                yield v
            yield from names(v)
    elif isinstance(x, list):
        for v in x:
            yield from names(v)
print(sum(1 for n in names(doc) if "we\"ird\\dir</script>\x01\ufffd" in n or "naïve" in n
          or "caf\ufffd \"one\"" in n))' "$1" 2>&1
}
for cmd in "summary --json" "peak --json" "leaks --json" "check --json --max-peak 1GB" \
           "diff --json --from 1 --to end"; do
    name=${cmd%% *}
    # shellcheck disable=SC2086
    "$MT" $cmd "$T/p.db" >"$T/$name.json" 2>"$T/$name.err"
    n=$(strict "$T/$name.json")
    check_cmp "$name --json: UTF-8, strict JSON, the names there (count: $n)" "$n" -ge 0
done
check_cmp "summary --json: the site's file and function come back" "$(strict "$T/summary.json")" -gt 0
"$MT" diff --json --from "caf" --to end "$T/p.db" >"$T/diffm.json" 2>"$T/diffm.err" ||
    "$MT" diff --json --from "$from" --to end "$T/p.db" >"$T/diffm.json" 2>>"$T/diffm.err"
check_cmp "diff --json from the marker: strict JSON" "$(strict "$T/diffm.json")" -ge 0
"$MT" flamegraph -o "$T/p.html" "$T/p.db" >/dev/null 2>"$T/fg.err"
check "flamegraph: exit status" "$?" 0
check "flamegraph page: UTF-8, its JSON strict, one </script> per script" "$(python3 -c '
import json, re, sys
page = open(sys.argv[1], "rb").read().decode("utf-8")
scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, re.S)
opened = len(re.findall(r"<script", page))
ok = opened == len(scripts)
for body in scripts:
    body = body.strip()
    if body.startswith("{"):
        json.loads(body, strict=True)
print("ok" if ok else "scripts %d, closed %d" % (opened, len(scripts)))' "$T/p.html" 2>&1 | tail -n 1)" ok
finish
