"""The recycled heap buffers records are copied into (rayreact._private.buffers)."""

import mmap
import pickle

import numpy as np
import pytest

from rayreact._private import buffers


@pytest.fixture
def pool(monkeypatch):
    p = buffers._Pool()
    monkeypatch.setattr(buffers, "_pool", p)
    return p


def _shared(fill, n=200_000):
    m = mmap.mmap(-1, n)
    m[:] = bytes([fill]) * n
    return m


def test_a_copy_in_use_is_never_overwritten(pool):
    held = [pool.copy(_shared(i), 0, 100_000) for i in range(8)]
    for i in range(8, 40):
        pool.copy(_shared(i), 0, 100_000)  # dropped at once: its buffer comes free
    assert [bytes(v[:3]) for v in held] == [bytes([i]) * 3 for i in range(8)]
    assert all(v.readonly and v.nbytes == 100_000 for v in held)


def test_a_buffer_is_reused_once_its_last_view_is_gone(pool):
    src = _shared(7)
    v = pool.copy(src, 0, 100_000)
    part = v[10:20]  # a view of the view keeps the buffer too
    del v
    pool.copy(src, 0, 100_000)
    assert pool.total == 2 * 128 << 10  # the first was still held
    del part
    for _ in range(10):
        pool.copy(src, 0, 100_000)
    assert pool.total == 2 * 128 << 10


def test_an_array_unpickled_over_a_copy_holds_it():
    a = np.arange(20_000, dtype=np.float64)  # 160 KB out of band
    bufs = []
    meta = pickle.dumps(a, protocol=5, buffer_callback=bufs.append)
    raw = bufs[0].raw()
    src = mmap.mmap(-1, raw.nbytes)
    src[:] = raw
    p = buffers._Pool()
    b = pickle.loads(meta, buffers=[p.copy(src, 0, raw.nbytes)])
    src[:] = bytes(raw.nbytes)
    for _ in range(5):
        p.copy(src, 0, raw.nbytes)
    assert (b == a).all() and not b.flags.writeable


def test_small_large_and_overflowing_records_are_bytes(pool, monkeypatch):
    src = _shared(1, 6 << 20)
    assert type(pool.copy(src, 0, 1000)) is bytes
    assert type(pool.copy(src, 0, 5 << 20)) is bytes  # above LARGEST
    monkeypatch.setattr(buffers, "MAX_BYTES", 256 << 10)
    held = [pool.copy(src, 0, 100_000) for _ in range(3)]
    assert [type(v) for v in held] == [memoryview, memoryview, bytes]
    assert bytes(held[2][:2]) == b"\x01\x01"
