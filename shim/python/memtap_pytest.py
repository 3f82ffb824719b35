"""memtap_pytest - a pytest plugin that marks each test in the trace.

`memtap run` names it in PYTEST_PLUGINS (and puts this directory on
PYTHONPATH), so pytest loads it through its own plugin mechanism, and only
pytest does: `memtap run -m pytest ...` or `memtap run pytest ...` needs
nothing installed. Around each test function's call it writes two markers,
pytest:start:N:NODEID and pytest:end:N:NODEID, after its teardown a third,
pytest:after:N, and before them the test's limits, pytest:limits:N:memory=BYTES;leaks=BYTES, from the markers
pytest-memray's users already write:

    @pytest.mark.limit_memory("24 MB")   # the test's heap peak above its start
    @pytest.mark.limit_leaks("1 MB")     # bytes it allocated, still live at its end

`memtap tests RUN` then gives one row per test, and `memtap tests --check
RUN` fails naming each test over its limit (the figures are exact only
once the trace is loaded: the run itself cannot know its heap without a
cost on every free). Without memtap (the module copied along) the markers
are registered and do nothing.
"""
import re

import pytest

try:
    import memtap as _memtap
except ImportError:  # pragma: no cover - run without memtap's directory
    _memtap = None

_UNITS = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4, "PB": 1024**5,
          "K": 1024, "M": 1024**2, "G": 1024**3, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3}
_count = 0


def parse_size(text):
    """'24 MB', '1.5GB', '100 KiB' or a number of bytes -> bytes (units of
    1024, as pytest-memray reads them). ValueError when malformed."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return int(text)
    m = re.fullmatch(r"\s*\+?\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(text))
    if not m or m.group(2).upper() not in _UNITS:
        raise ValueError(f"not a memory size: {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "limit_memory(size): memtap tests --check fails the test when its heap "
        "peak above its start exceeds size (e.g. '24 MB')")
    config.addinivalue_line(
        "markers", "limit_leaks(size): memtap tests --check fails the test when the bytes it "
        "allocated and left live exceed size")


def _limits(item):
    out = []
    for name, key in (("limit_memory", "memory"), ("limit_leaks", "leaks")):
        mark = item.get_closest_marker(name)
        if mark is not None and mark.args:
            out.append(f"{key}={parse_size(mark.args[0])}")
    return ";".join(out)


@pytest.hookimpl(hookwrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    global _count
    if _memtap is None or not _memtap.is_traced():
        yield
        return
    _count += 1
    n = _count
    # Both labels are bytes made before the start marker: a bytes label
    # costs no allocation, so nothing of the markers' own lies in the test.
    start = f"pytest:start:{n}:{pyfuncitem.nodeid}".encode("utf-8", "replace")[:255]
    end = f"pytest:end:{n}:{pyfuncitem.nodeid}".encode("utf-8", "replace")[:255]
    limits = _limits(pyfuncitem)
    if limits:
        _memtap.marker(f"pytest:limits:{n}:{limits}".encode())
    pyfuncitem._memtap_after = f"pytest:after:{n}".encode()
    _memtap.marker(start)
    try:
        yield
    finally:
        _memtap.marker(end)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    # After the test's teardown and reports: what it allocated and is
    # still live here is what it leaked (pytest's own objects of the call,
    # and fixtures torn down, are gone by now).
    yield
    after = getattr(item, "_memtap_after", None)
    if after is not None and _memtap is not None:
        _memtap.marker(after)
