"""memtap - markers from Python, with nothing to install.

`memtap run` puts this file's directory on PYTHONPATH, so a traced program
can write

    import memtap
    memtap.marker("after-load")      # a named snapshot point in the trace

and `memtap diff TRACE --from after-load --to end` compares the two points;

    memtap.stop()                    # allocations from here are not recorded
    memtap.start()                   # and from here they are again

make recording windows (`memtap run --paused` starts with recording off).
The call goes to mt_marker() in the preloaded libmemtap.so; without the shim
(the program run on its own, with this module copied along) every function
here is a no-op, so the calls can stay in the code.
"""
import ctypes as _ctypes

__all__ = ["marker", "is_traced", "start", "stop", "recording"]

try:
    _shim = _ctypes.CDLL(None)
    _mt_marker = _shim.mt_marker  # no argtypes: a bytes argument then costs no allocation
    _mt_marker.restype = _ctypes.c_int
    _mt_is_traced = _shim.mt_is_traced
    _mt_is_traced.argtypes = []
    _mt_is_traced.restype = _ctypes.c_int
    _mt_window_start = _shim.mt_window_start
    _mt_window_start.argtypes = []
    _mt_window_start.restype = _ctypes.c_int
    _mt_window_stop = _shim.mt_window_stop
    _mt_window_stop.argtypes = []
    _mt_window_stop.restype = _ctypes.c_int
    _mt_window_recording = _shim.mt_window_recording
    _mt_window_recording.argtypes = []
    _mt_window_recording.restype = _ctypes.c_int
except (OSError, AttributeError):
    _mt_marker = _mt_is_traced = None
    _mt_window_start = _mt_window_stop = _mt_window_recording = None


def is_traced():
    """True when this process is being traced by memtap."""
    return _mt_is_traced is not None and _mt_is_traced() == 1


def marker(label):
    """Records a named marker (str or bytes, cut at 255 bytes) in the trace.

    Returns True when it was recorded, False when the process is not traced.
    A str label is encoded first, and that bytes object is live at the
    marker (a few dozen bytes under this module's line); a bytes label
    costs no allocation."""
    if _mt_marker is None:
        return False
    if isinstance(label, str):
        label = label.encode("utf-8", "surrogateescape")
    if not isinstance(label, bytes) or b"\0" in label:
        raise ValueError("memtap.marker wants a str or bytes label without NUL")
    return _mt_marker(label) == 0


def start():
    """Starts recording allocations (a marker memtap:window-start), after
    stop() or under `memtap run --paused`. True when traced."""
    return _mt_window_start is not None and _mt_window_start() == 0


def stop():
    """Stops recording allocations until start() (a marker
    memtap:window-stop); frees are still recorded. True when traced."""
    return _mt_window_stop is not None and _mt_window_stop() == 0


def recording():
    """True while allocations are being recorded."""
    return _mt_window_recording is not None and _mt_window_recording() == 1
