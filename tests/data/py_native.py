"""py_native - for --native: a Python function whose allocations are made
by C code (json's C encoder, bytes()), so mixed stacks must show the C
frames under the Python line that called them."""
import json


def encode(doc):
    return json.dumps(doc)  # ENCODE_LINE


def make_buffers():
    return [bytes(300000) for _ in range(20)]  # BUFFER_LINE


def main():
    doc = {"k%d" % i: list(range(50)) for i in range(200)}
    text = encode(doc)
    bufs = make_buffers()
    print(len(text), len(bufs))


main()
