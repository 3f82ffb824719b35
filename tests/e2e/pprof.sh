#!/bin/bash
# pprof.sh - memtap flamegraph --format pprof (issue 27.3): Go's own pprof
# (Debian's golang-go) reads the profile, and its figures are memtap's:
# per function, at the heap peak, what `memtap peak --json --by function`
# says, and in total the peak; the leaks view's total is what was live at
# exit, the total view's alloc_space the bytes allocated; the Python
# workload's lines as memtap's sites.
source "$(dirname "$0")/common.bash"
command -v go >/dev/null || skip "go not installed (Debian's golang-go; scripts/install-deps test installs it)"
export HOME=${HOME:-$T} GOCACHE="$T/gocache" GOPATH="$T/gopath" GOFLAGS=-mod=mod

# pprof -top -unit=B, as "NAME BYTES" lines of the flat column (nonzero)
top() { # PROFILE SAMPLE-INDEX [pprof options]
    local f=$1 idx=$2; shift 2
    go tool pprof -top -unit=B -sample_index="$idx" -nodecount=1000 "$@" "$f" 2>/dev/null |
        awk '/^ *flat/ {on = 1; next} on && $1 != "0" { v = $1; sub(/B$/, "", v); $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print $0 "|" v }' |
        sort
}
total() { go tool pprof -top -unit=B -sample_index="$2" "$1" 2>/dev/null | sed -n 's/.*Total samples = \([0-9]*\)B.*/\1/p'; }

"$MT" run -o "$T/c.memtap" -- "$PROGS/prog_sampling" >/dev/null 2>&1
"$MT" flamegraph --format pprof -o "$T/c.pb.gz" "$T/c.memtap" >/dev/null 2>&1
check "pprof: written" $? 0
check "pprof: gzip" "$(head -c 2 "$T/c.pb.gz" | od -An -tx1 | tr -d ' ')" 1f8b
"$MT" peak --json --by function --top 1000 "$T/c.memtap" >"$T/c.peak.json" 2>/dev/null
want=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
for s in d["sites"]:
    print("%s|%d" % (s["function"], s["bytes"]))' "$T/c.peak.json" | sort)
check "go tool pprof: per function at the peak, as memtap peak" "$(top "$T/c.pb.gz" inuse_space)" "$want"
check "go tool pprof: total at the peak" "$(total "$T/c.pb.gz" inuse_space)" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["peak_bytes"])' "$T/c.peak.json")"
check "go tool pprof: alloc_objects per line" "$(top "$T/c.pb.gz" alloc_objects -lines | grep churn)" \
    "churn tests/e2e/prog_sampling.c:38|200000"
"$MT" flamegraph --format pprof --view leaks -o "$T/leaks.pb.gz" "$T/c.memtap" >/dev/null 2>&1
check "leaks view: total live at exit" "$(total "$T/leaks.pb.gz" inuse_space)" \
    "$("$MT" summary --json "$T/c.memtap" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["live_at_exit_bytes"])')"
"$MT" flamegraph --format pprof --view total -o "$T/total.pb.gz" "$T/c.memtap" >/dev/null 2>&1
check "total view: alloc_space is the default and the bytes allocated" "$(total "$T/total.pb.gz" "")" \
    "$("$MT" summary --json "$T/c.memtap" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_allocated"])')"
check "mappings with build-ids" "$(go tool pprof -raw "$T/c.pb.gz" 2>/dev/null | grep -c 'prog_sampling.*[0-9a-f]\{40\}')" 1

find_pythons
py=${pythons[${#pythons[@]} - 1]}
"$MT" run -o "$T/p.memtap" -- "$py" "$WORKLOADS/leaky.py" 20000 >/dev/null 2>&1
"$MT" flamegraph --format pprof --hide-native -o "$T/p.pb.gz" "$T/p.memtap" >/dev/null 2>&1
"$MT" peak --json --top 3 "$T/p.memtap" >"$T/p.peak.json" 2>/dev/null
want=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
for s in d["sites"][:2]:
    print("%s %s:%d|%d" % (s["function"], s["file"], s["line"], s["bytes"]))' "$T/p.peak.json" | sort)
check "Python: the top lines at the peak as memtap's" \
    "$(top "$T/p.pb.gz" inuse_space -lines | grep -F "$(echo "$want" | cut -d'|' -f1 | head -1 | cut -d' ' -f1) " | sort | head -2)" "$want"
"$MT" flamegraph --format pprof --view diff --from 0.1s --to end -o "$T/d.pb.gz" "$T/p.memtap" >/dev/null 2>&1
check "diff view: written" $? 0

finish
