# known.sh - prog_known's exact allocation pattern (see its header table):
# counts, bytes and frees per function, totals, the exact heap peak and
# what was live at it, live at exit.
. "$(dirname "$0")/common.bash"
trace_and_load known "$PROGS/prog_known"
check "exit status" "$run_rc" 0
check "load" "$load_rc" 0
db=$T/known.db
per() { q "$db" "SELECT count(*) || ' ' || coalesce(sum(size),0) || ' ' || sum(free_seq IS NOT NULL)
                FROM allocation_sites WHERE function = '$1'"; }
check make_sizes "$(per make_sizes)" "10 5500 10"
check realloc_chain "$(per realloc_chain)" "5 496 5"
check calloc_block "$(per calloc_block)" "1 1000 1"
check aligned_blocks "$(per aligned_blocks)" "3 5632 3"
check cxx_new "$(per cxx_new)" "1 5000 1"
check leak_one "$(per leak_one)" "1 777 0"
check big_block "$(per big_block)" "1 1000000 1"
check thread_worker "$(per thread_worker)" "4040 296000 4040"
check "allocators used" "$(q "$db" "SELECT group_concat(allocator, ',') FROM (SELECT DISTINCT a.allocator FROM allocations_v a JOIN allocation_sites s ON s.id = a.id WHERE s.function IN ('realloc_chain','calloc_block','aligned_blocks') ORDER BY a.allocator)")" \
      "aligned_alloc,calloc,malloc,memalign,posix_memalign,realloc"
check "realloc chain allocators" "$(q "$db" "SELECT group_concat(allocator, ',') FROM (SELECT v.allocator FROM allocations_v v JOIN allocation_sites s ON s.id = v.id WHERE s.function='realloc_chain' ORDER BY v.alloc_seq)")" \
      "malloc,realloc,realloc,realloc,realloc"
check "threads allocating in thread_worker" "$(q "$db" "SELECT count(DISTINCT thread_id) FROM allocation_sites WHERE function='thread_worker'")" 4
check "each worker thread's allocations" "$(q "$db" "SELECT group_concat(n) FROM (SELECT count(*) n FROM allocation_sites WHERE function='thread_worker' GROUP BY thread_id)")" "1010,1010,1010,1010"
# Everything else the process allocated: glibc's pthread_create (thread
# control data) and nothing more. The total is exact: nothing lost, nothing
# counted twice.
other=$(q "$db" "SELECT count(*) FROM allocation_sites WHERE function NOT IN
  ('make_sizes','realloc_chain','calloc_block','aligned_blocks','cxx_new','leak_one','big_block','thread_worker')")
via_pthread=$(q "$db" "SELECT count(DISTINCT a.id) FROM allocations a JOIN stack_frames sf ON sf.stack_id = a.stack_id
  JOIN frames f ON f.id = sf.frame_id WHERE f.function LIKE 'pthread_create%' OR f.function LIKE 'allocate_stack%'")
check "other allocations all come from pthread_create" "$other" "$via_pthread"
check "total allocations" "$(q "$db" "SELECT value FROM meta WHERE key='allocations'")" "$((10+5+1+3+1+1+1+4040+other))"
check "unmatched frees" "$(q "$db" "SELECT value FROM meta WHERE key='unmatched_frees'")" 0
check "heap peak" "$(q "$db" "SELECT value FROM meta WHERE key='peak_bytes'")" 1006277
check "live at peak sums to the peak" "$(q "$db" "SELECT sum(size) FROM live_at_peak")" 1006277
check "sites live at the peak" "$(q "$db" "SELECT group_concat(function || ':' || bytes, ' ') FROM peak_sites")" \
      "big_block:1000000 make_sizes:5500 leak_one:777"
check "leak live at exit" "$(q "$db" "SELECT count(*) || ' ' || sum(size) FROM allocation_sites WHERE free_seq IS NULL AND function='leak_one'")" "1 777"
# summary --json agrees with the database
json=$("$MT" summary --json "$db")
check "summary json peak" "$(echo "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["peak_bytes"], d["top_sites"][0]["function"], d["top_sites"][0]["bytes"], d["allocations"], d["live_at_exit_bytes"] >= 777)')" \
      "1006277 big_block 1000000 $((10+5+1+3+1+1+1+4040+other)) True"
# With no thread to be had (a stack limit that no thread's stack can meet),
# the loader inserts its rows on its own thread instead of failing: the same
# rows. prog_samestack shows that threads cannot start under that limit.
rows() { q "$1" "SELECT * FROM allocations ORDER BY id" | md5sum; }
check "no thread starts under a 95 GiB stack limit" \
      "$( (ulimit -s 100000000 && "$PROGS/prog_samestack") >/dev/null 2>&1; echo $?)" 1
(ulimit -s 100000000 && "$MT" load --all -o "$T/known-nothread.db" "$T/known.memtap") 2>"$T/known-nothread.err"
check "load with no thread to be had" "$?" 0
check "same rows with no thread" "$(rows "$T/known-nothread.db")" "$(rows "$db")"
check "no Python hooks in a C++ program" "$(q "$db" "SELECT count(*) FROM allocations_v WHERE allocator LIKE 'Py%'")" 0
# the trace file is private
check "trace mode" "$(stat -c %a "$T/known.memtap")" 600
# A stripped program (most of a distribution's binaries): its frames have no
# symbol, yet its sites stay apart, each named by module and offset (before,
# all of them merged into one row called "no stack"), and the offset is the
# one addr2line takes (less one, for the call) on the unstripped binary.
strip -o "$T/prog_known_stripped" "$PROGS/prog_known"
trace_and_load stripped "$T/prog_known_stripped"
check "stripped: load" "$load_rc" 0
sites=$(q "$T/stripped.db" "SELECT function || ':' || bytes FROM peak_sites")
check "stripped: sites live at the peak, by size" "$(echo "$sites" | sed 's/^[^:]*://' | tr '\n' ' ')" "1000000 5500 777 "
check "stripped: each named module+offset" \
      "$(echo "$sites" | grep -cE '^prog_known_stripped\+0x[0-9a-f]+:[0-9]+$')" 3
resolved=""
for site in $(echo "$sites" | sed 's/:.*//; s/^prog_known_stripped+//'); do
    resolved+="$(addr2line -f -e "$PROGS/prog_known" "$(printf '0x%x' $((site - 1)))" | head -n 1) "
done
check "stripped: the offsets are the unstripped program's functions" "$resolved" "big_block make_sizes leak_one "
check "stripped: summary names the site" "$("$MT" summary "$T/stripped.db" | grep -c 'no stack')" 0
# C++ frames are demangled: prog_cxx's shapes::Grid::build(int) news 100
# vectors of 24 bytes; no frame keeps a mangled name
trace_and_load cxx "$PROGS/prog_cxx"
check "c++: load" "$load_rc" 0
check "c++: demangled method" "$(q "$T/cxx.db" "SELECT count(*) || ' ' || sum(size) FROM allocation_sites WHERE function = 'shapes::Grid::build(int)'")" "100 2400"
check "c++: operator new by name" "$(q "$T/cxx.db" "SELECT count(*) FROM frames WHERE function = 'operator new(unsigned long)'")" 1
check "c++: no mangled names left" "$(q "$T/cxx.db" "SELECT count(*) FROM frames WHERE substr(function, 1, 2) = '_Z'")" 0
finish
