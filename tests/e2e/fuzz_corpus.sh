#!/bin/bash
# fuzz_corpus.sh - the fuzz targets (tests/fuzz, built by `make fuzz-build`
# with clang's fuzzer, address and undefined-behaviour sanitizers) run
# once over the seed corpus (real traces of every record kind, raw and
# packed) and every input that ever crashed (tests/fuzz/crashes), with a
# memory limit: none may crash, leak, hang or pass 2 GB. Then each seed
# cut short at a few places and with a few bytes flipped, as a smoke
# test that a bad trace is an error. `make fuzz` is the long run.
source "$(dirname "$0")/common.bash"
FB="$MT_ROOT/build-fuzz"
[ -x "$FB/fuzz_trace" ] && [ -x "$FB/fuzz_load" ] || skip "fuzz targets not built (make fuzz-build: Debian's clang)"
for t in trace load; do
    "$FB/fuzz_$t" -runs=0 -rss_limit_mb=2048 -timeout=60 "$MT_ROOT/tests/fuzz/corpus" \
        "$MT_ROOT/tests/fuzz/crashes" >"$T/$t.log" 2>&1
    check "fuzz_$t: the corpus and past crashes run clean" $? 0
    check "fuzz_$t: inputs run" "$(grep -c 'Running: \|INITED' "$T/$t.log" | awk '{print ($1 > 0)}')" 1
done
# mutants of each seed: cut at a few places, bytes flipped in the header,
# a segment header and the records
mkdir -p "$T/mut"
python3 - "$MT_ROOT/tests/fuzz/corpus" "$T/mut" <<'PY'
import os, sys, random
src, dst = sys.argv[1:3]
r = random.Random(7)
for name in sorted(os.listdir(src)):
    data = open(os.path.join(src, name), "rb").read()
    for k, cut in enumerate((17, 4096, 4096 + 40, len(data) // 2, len(data) - 1)):
        open(os.path.join(dst, f"{name}.cut{k}"), "wb").write(data[:cut])
    for k in range(12):
        b = bytearray(data)
        for _ in range(1 + k % 4):
            at = r.choice((r.randrange(0, 64), r.randrange(4096, 4096 + 32),
                           r.randrange(min(len(b) - 1, 4096), len(b))))
            b[at] ^= 1 << r.randrange(8)
        open(os.path.join(dst, f"{name}.flip{k}"), "wb").write(bytes(b))
PY
for t in trace load; do
    "$FB/fuzz_$t" -runs=0 -rss_limit_mb=2048 -timeout=60 "$T/mut" >"$T/mut-$t.log" 2>&1
    check "fuzz_$t: $(ls "$T/mut" | wc -l) mutants run clean" $? 0
done
finish
