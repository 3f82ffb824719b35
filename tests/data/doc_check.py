"""doc_check.py MEMTAP DB SCHEMA_MD - runs every `-- check: NAME` query of
docs/schema.md against DB and compares its rows with what the memtap CLI's
--json reports say for the same database. Prints ok/FAIL per check; exits
with the number of failures (and 1 when a documented check is missing)."""
import json
import re
import sqlite3
import subprocess
import sys

memtap, db_path, doc = sys.argv[1:4]
failures = 0


def cli(*args):
    out = subprocess.run([memtap, *args, "--json", db_path], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def queries():
    text = open(doc, encoding="utf-8").read()
    found = {}
    for block in re.findall(r"```sql\n(.*?)```", text, re.S):
        m = re.match(r"-- check: (\w+)\n", block)
        if m:
            found[m.group(1)] = block
    return found


def same(name, got, want):
    global failures
    if got == want:
        print(f"ok   doc {name}: {len(got) if isinstance(got, list) else got} match")
    else:
        failures += 1
        print(f"FAIL doc {name}:\n  sql {got!r:.600}\n  cli {want!r:.600}")


def null_first(row):
    """A sort key for rows with NULLs (the site of blocks without a stack)."""
    return tuple((v is not None, v) for v in row)


def site_rows(sites, *keys):
    return sorted((tuple(s.get(k) for k in keys) for s in sites), key=null_first)


con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
q = queries()
expected = {"peaks", "peak_sites", "peak_by_function", "unfreed", "growing", "diff", "timeline"}
missing = expected - set(q)
if missing:
    print(f"FAIL doc: checks missing from {doc}: {sorted(missing)}")
    sys.exit(1)
rows = {name: con.execute(sql).fetchall() for name, sql in q.items()}

summary = cli("summary")
peak = cli("peak", "--top", "100000")
same("peaks", [rows["peaks"][0][0], round(rows["peaks"][0][1], 6), rows["peaks"][0][2]],
     [summary["peak_bytes"], round(summary["peak_time_s"], 6), summary["peak_rss_bytes"]])
same("peak json = summary json", [peak["peak_bytes"], peak["peak_rss_bytes"]],
     [summary["peak_bytes"], summary["peak_rss_bytes"]])
same("peak_sites", sorted(rows["peak_sites"], key=null_first),
     site_rows(peak["sites"], "function", "file", "line", "bytes", "count"))
same("peak_sites add up to the peak", sum(r[3] for r in rows["peak_sites"]), summary["peak_bytes"])
by_fn = cli("peak", "--by", "function", "--top", "100000")
same("peak_by_function", sorted(rows["peak_by_function"], key=null_first),
     site_rows(by_fn["sites"], "function", "file", "bytes", "count"))
leaks = cli("leaks", "--top", "100000")
same("unfreed", sorted(rows["unfreed"], key=null_first),
     site_rows(leaks["unfreed"], "stack_id", "function", "file", "line", "bytes", "count"))
same("growing", [r[:4] + (round(r[4], 3),) for r in rows["growing"]],
     [(s["function"], s["file"], s["line"], s["growth_bytes"], round(s["steadiness"], 3))
      for s in leaks["growing"]])
diff = cli("diff", "--from", "before", "--to", "after", "--top", "100000")
same("diff", sorted(rows["diff"], key=null_first),
     site_rows(diff["sites"], "function", "file", "line", "bytes_from", "bytes_to", "delta_bytes"))
# The same query from the start to the exit: every site that holds blocks
# at exit (the markers' diff above has one site), and the CLI's order, which the
# documented query leaves open among equal deltas, is by delta then name.
sql = q["diff"].replace("(SELECT min(seq) FROM markers WHERE label = 'before')",
                        "0")
sql = sql.replace("(SELECT min(seq) FROM markers WHERE label = 'after')",
                  "(SELECT value FROM meta WHERE key = 'exit_seq')")
wide = cli("diff", "--from", "start", "--to", "end", "--top", "100000")
same("diff start..end", sorted(con.execute(sql).fetchall(), key=null_first),
     site_rows(wide["sites"], "function", "file", "line", "bytes_from", "bytes_to", "delta_bytes"))
ordered = [(s["delta_bytes"], s["delta_count"]) for s in wide["sites"]]
same("diff start..end in order", ordered, sorted(ordered, key=lambda d: (-d[0], -d[1])))
same("timeline has samples", len(rows["timeline"]) > 2, True)
sys.exit(failures)
