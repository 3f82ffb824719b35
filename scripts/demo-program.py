"""demo-program - the example `make demo` traces: a toy image service.

Each request decodes a frame into a bytearray and makes a thumbnail; the
thumbnails go into a cache that is never evicted (the leak). Once, a batch
of 300 frames is held at the same time (the heap peak)."""

try:
    import memtap  # put on the path by `memtap run`: markers for `memtap diff`
except ImportError:
    memtap = None

FRAME = 64 * 1024
_thumbnails = {}


def decode_frame(i):
    return bytearray(FRAME + (i % 7) * 4096)


def thumbnail(frame):
    return bytes(frame[:2048])


def handle_request(i):
    frame = decode_frame(i)
    if i % 4 == 0:
        _thumbnails[i] = thumbnail(frame)  # never evicted: the leak
    return frame[1]


def process_batch(first, count):
    held = [decode_frame(first + i) for i in range(count)]  # the peak
    return sum(f[0] for f in held)


def main():
    total = sum(handle_request(i) for i in range(1000))
    if memtap:
        memtap.marker(b"half-way")
    total += sum(handle_request(i) for i in range(1000, 2000))
    if memtap:
        memtap.marker(b"requests-done")
    total += process_batch(0, 300)
    print(f"demo: 2300 frames, {len(_thumbnails)} thumbnails cached, checksum {total}")


if __name__ == "__main__":
    main()
