# py_counts.py DIR - work that makes every kind of call to CPython's
# allocator domains (regular expressions whose mark stack grows past
# pymalloc's 512 bytes by realloc, JSON, lists, strings, dicts), counted by
# the countalloc extension (built in DIR) while memtap traces it; prints
# the counts: malloc calloc realloc realloc-of-a-block free.
import json
import re
import sys

sys.path.insert(0, sys.argv[1])
import countalloc  # noqa: E402

pattern = re.compile(r"(?:(a)|(b))*c")


def work():
    out = []
    for i in range(3000):
        text = "ab" * (i % 400) + "c"
        m = pattern.match(text)
        out.append(json.dumps({"i": i, "groups": m.groups(), "l": list(range(i % 30))}))
        out.append(bytearray(i % 2000).hex()[:8])
    return len("".join(out))


countalloc.start()
work()
countalloc.stop()
print(*countalloc.result())
