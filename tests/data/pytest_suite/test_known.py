"""A pytest suite with known allocations, for memtap tests (tests/e2e/pytest.sh).
Each test allocates bytearrays of known sizes: a bytearray(n) is one block of
n + 1 bytes beside its object. Five tests: one keeps nothing, one holds 3 MB
at its peak and frees it, one leaks 2 MB into a module list, one goes over
its limit_memory, one stays under its limits; one more fails on its own
assertion (the suite's own verdict must not change)."""
import pytest

KEPT = []


def test_nothing():
    x = 1 + 1
    assert x == 2


def test_peak_3mb():
    a = bytearray(1_000_000)
    b = bytearray(2_000_000)
    assert len(a) + len(b) == 3_000_000
    del a, b


def test_leaks_2mb():
    KEPT.append(bytearray(2_000_000))


@pytest.mark.limit_memory("4 MB")
def test_over_limit():
    big = bytearray(5_000_000)
    assert big[0] == 0


@pytest.mark.limit_memory("8 MB")
@pytest.mark.limit_leaks("1 MB")
def test_under_limits():
    tmp = bytearray(6_000_000)
    assert tmp[-1] == 0


def test_fails_by_itself():
    assert 1 == 2
