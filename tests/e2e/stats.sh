#!/bin/bash
# stats.sh - memtap stats (issue 27.5): the histograms of sizes and
# lifetimes against programs of known ones. prog_sampling.c: sites of
# 64-, 200-, 1000-, 128-, 16/48-byte blocks and 2 MiB ones, the 128-byte
# ones freed at once (temporaries); prog_lifetimes.c: blocks that live
# ~50 ms and ~300 ms, 10 and 5 events.
source "$(dirname "$0")/common.bash"

"$MT" run -o "$T/s.memtap" -- "$PROGS/prog_sampling" >/dev/null 2>&1
"$MT" stats --json --top 6 "$T/s.memtap" >"$T/s.json" 2>"$T/s.err"
check "stats --json: exit status" $? 0
j() { python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print($2)" "$1"; }
bucket() { # JSON KEY-EXPR -> "min:count ..." of the histogram
    j "$1" "' '.join(f\"{b['min_bytes'] if 'min_bytes' in b else b.get('min_events', b.get('min_ms'))}:{b['count']}\" for b in $2)"
}
check "sizes of all allocations" "$(bucket "$T/s.json" "d['sizes']")" \
    "16:20000 32:20000 64:100000 128:240000 512:10000 2097152:8"
site() { echo "[s for s in d['sites'] if s['function'] == '$1'][0]"; }
check "churn: its sizes" "$(bucket "$T/s.json" "$(site churn)['sizes']")" "128:200000"
check "churn: lifetimes, 1 event each" "$(bucket "$T/s.json" "$(site churn)['lifetimes_events']")" "1:200000"
check "small_c: sizes" "$(bucket "$T/s.json" "$(site small_c)['sizes']")" "512:10000"
check "small_c: never freed, no lifetimes" "$(bucket "$T/s.json" "$(site small_c)['lifetimes_events']")" ""
check "temporaries: churn first, all of its blocks" \
    "$(j "$T/s.json" "(d['temporaries'][0]['function'], d['temporaries'][0]['count'], d['temporaries'][0]['site_allocations'])")" \
    "('churn', 200000, 200000)"
check "temporaries: no site of kept blocks" \
    "$(j "$T/s.json" "sorted(t['function'] for t in d['temporaries'] if t['function'].startswith('small'))")" "[]"
"$MT" stats "$T/s.memtap" >"$T/s.txt" 2>&1
check "text: the sizes' histogram" "$(grep -c '^  128 B - 255 B  *240000  61.5%' "$T/s.txt")" 1

"$MT" run -o "$T/l.memtap" -- "$PROGS/prog_lifetimes" >/dev/null 2>&1
"$MT" stats --json --top 5 "$T/l.memtap" >"$T/l.json" 2>/dev/null
check "short_wait: 10 events each" "$(bucket "$T/l.json" "$(site short_wait)['lifetimes_events']")" "4:10"
check "short_wait: 10 - 100 ms" "$(bucket "$T/l.json" "$(site short_wait)['lifetimes_time']")" "10:10"
check "long_wait: 5 events each" "$(bucket "$T/l.json" "$(site long_wait)['lifetimes_events']")" "4:5"
check "long_wait: 0.1 - 1 s" "$(bucket "$T/l.json" "$(site long_wait)['lifetimes_time']")" "100:5"
check "long_wait: sizes" "$(bucket "$T/l.json" "$(site long_wait)['sizes']")" "4096:5"

finish
