# make_hostile.py - writes hand-built traces that a fuzzer found to hang or
# balloon the loader (badinput.sh): OUT_DIR/stack_id.memtap (a STACK
# record with id 2^31), pyframe_id.memtap (a PYFRAME record with id
# 2^32-1), thread_index.memtap (a segment of thread index 2^24-1 in a
# one-segment file). Layout: include/mt_trace_format.h.
import struct
import sys

HEADER, SEGMENT = 4096, 65536
REC_STACK, REC_PYFRAME = 0x30, 0x33


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def trace(records, thread=0):
    head = bytearray(HEADER)
    struct.pack_into("<8sIIII", head, 0, b"MEMTAPv\0", 6, HEADER, SEGMENT, 1)  # closed
    seg = bytearray(SEGMENT)
    struct.pack_into("<IIQ", seg, 0, 0x4753544D, thread, 0)
    seg[16:16 + len(records)] = records
    return bytes(head) + bytes(seg)


out = sys.argv[1]
with open(f"{out}/stack_id.memtap", "wb") as f:
    f.write(trace(bytes([REC_STACK]) + varint(1 << 31) + varint(0) + varint(0x401000)))
with open(f"{out}/pyframe_id.memtap", "wb") as f:
    f.write(trace(bytes([REC_PYFRAME]) + varint((1 << 32) - 1) + varint(7) +
                  varint(4) + b"x.py" + varint(1) + b"f"))
with open(f"{out}/thread_index.memtap", "wb") as f:
    f.write(trace(b"", thread=(1 << 24) - 1))
