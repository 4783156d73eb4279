"""Frames: out-of-band buffers, read-only zero-copy arrays, __main__ by value, clear errors."""

import threading

import numpy as np
import pytest

from rayreact._private import serialization as ser


def roundtrip(value):
    f = ser.serialize(value)
    ps, n = f.pieces()
    data = b"".join(ps)
    assert len(data) == n
    return ser.deserialize(ser.decode(data))


def test_numpy_travels_out_of_band_and_comes_back_read_only():
    a = np.arange(100_000, dtype=np.float64)
    f = ser.serialize({"a": a})
    assert len(f.buffers) == 1 and f.buffers[0].nbytes == a.nbytes
    assert len(f.meta) < 1000  # the array's bytes are not in the pickle stream
    b = roundtrip({"a": a})["a"]
    np.testing.assert_array_equal(a, b)
    assert b.flags.writeable is False
    assert b.ctypes.data % 8 == 0  # buffers stay aligned for any dtype


def test_plain_values_roundtrip():
    v = [1, "x", (2.5, None), {"k": b"bytes"}, {1, 2}]
    assert roundtrip(v) == v


def test_lambda_goes_by_value():
    f = roundtrip(lambda x: x + 41)
    assert f(1) == 42


def test_unpicklable_value_is_a_type_error_naming_the_type():
    with pytest.raises(TypeError, match="lock"):
        ser.serialize(threading.Lock())


def test_segment_frames_are_mapped_read_only(tmp_path):
    import os

    from rayreact._private import shm

    name = f"rr_t{os.getpid():x}_seg"
    try:
        ser.serialize(np.ones(100_000)).to_segment(name, pooled=False)
        f = ser.open_frame(name, take=True)
        arr = ser.deserialize(f)
        assert arr.sum() == 100_000 and arr.flags.writeable is False
        del f  # the array still views the segment: it stays
        assert os.path.exists(f"/dev/shm/{name}") and arr.sum() == 100_000
    finally:
        shm.unlink_segment(name)


def _segment(tag, n=100_000):
    import os

    name = f"rr_t{os.getpid():x}_{tag}"
    return ser.serialize(np.full(n, 7.0)).to_segment(name, pooled=False), name


def test_an_owned_segment_is_reused_once_its_last_view_is_gone():
    import gc
    import os

    from rayreact._private import shm

    name, _ = _segment("own")
    try:
        arr = ser.deserialize(ser.open_frame(name, take=True))
        # While a view lives, the segment is not handed out again.
        assert ser.serialize(np.zeros(100_000)).to_segment(f"rr_t{os.getpid():x}_new1") != name
        del arr
        gc.collect()
        # Now its pages are reused for the next large frame of about its size, in place.
        again = ser.serialize(np.arange(100_000.0))
        assert again.to_segment(f"rr_t{os.getpid():x}_new2") == name
        np.testing.assert_array_equal(ser.deserialize(ser.open_frame(name, take=False)),
                                      np.arange(100_000.0))
    finally:
        for path in shm.session_files(f"t{os.getpid():x}"):
            os.unlink(path)


def test_a_shared_segment_is_unlinked_not_reused():
    import gc
    import os

    from rayreact._private import shm

    name, _ = _segment("shared")
    try:
        f = ser.open_frame(name, take=True)
        f.mark_shared()  # its name went to another process, which may still map it
        del f
        gc.collect()
        assert not os.path.exists(f"/dev/shm/{name}")
    finally:
        for path in shm.session_files(f"t{os.getpid():x}"):
            os.unlink(path)


def test_an_owned_segment_keeps_its_mapping_for_its_next_use():
    # ray.put of a large value: its segment's read-write mapping stays with the pool, so
    # reusing the pages does not map them again.
    import gc
    import os

    from rayreact._private import shm

    n = 100_000
    name = f"rr_t{os.getpid():x}_owned"
    try:
        arr = ser.deserialize(ser.own_segment(ser.serialize(np.full(n, 7.0)), name))
        assert name in ser._pool.maps
        np.testing.assert_array_equal(arr, np.full(n, 7.0))
        del arr
        gc.collect()
        mm = ser._pool.maps[name]
        again = ser.own_segment(ser.serialize(np.arange(float(n))), f"rr_t{os.getpid():x}_x")
        assert again.segment == name and ser._pool.maps[name] is mm  # same pages, same map
        np.testing.assert_array_equal(ser.deserialize(again), np.arange(float(n)))
        del again
        gc.collect()
        ser.drain_segment_pool()
        assert name not in ser._pool.maps and not os.path.exists(f"/dev/shm/{name}")
    finally:
        ser.drain_segment_pool()
        for path in shm.session_files(f"t{os.getpid():x}"):
            os.unlink(path)


def test_large_segments_are_pooled_up_to_the_pool_size(monkeypatch):
    # ray.put of a 100 MiB array in a loop reuses its pages (a new segment costs the kernel
    # zeroing every page); a segment larger than the whole pool goes back to the kernel.
    import gc
    import os

    from rayreact._private import shm

    monkeypatch.setattr(ser, "POOL_BYTES", 150 << 20)
    n = (100 << 20) // 8
    kept, _ = _segment("big", n)
    too_big, _ = _segment("huge", 2 * n)
    try:
        for name in (kept, too_big):
            arr = ser.deserialize(ser.open_frame(name, take=True))
            del arr
            gc.collect()
        assert os.path.exists(f"/dev/shm/{kept}")
        assert not os.path.exists(f"/dev/shm/{too_big}")
        assert ser.serialize(np.ones(n)).to_segment(f"rr_t{os.getpid():x}_next") == kept
    finally:
        ser.drain_segment_pool()
        for path in shm.session_files(f"t{os.getpid():x}"):
            os.unlink(path)


@pytest.mark.parametrize("n", [1000, 1001, 1003])
def test_frames_of_any_buffer_length_fit_their_segment(n):
    # Regression: Frame.nbytes left out the final 8-byte padding that pieces() writes, so a
    # buffer whose length is not a multiple of 8 overflowed a segment sized by nbytes.
    import os

    from rayreact._private import shm

    name = f"rr_t{os.getpid():x}_odd{n}"
    try:
        f = ser.serialize(np.arange(n, dtype=np.uint8))
        assert f.nbytes == f.pieces()[1]
        f.to_segment(name)
        assert (ser.deserialize(ser.open_frame(name, take=True)) == np.arange(n) % 256).all()
    finally:
        shm.unlink_segment(name)


@pytest.mark.parametrize("a", [
    np.arange(4, dtype=np.float32),
    np.arange(12, dtype=np.int16).reshape(3, 4),
    np.array(2.5),  # 0-d
    np.zeros((0, 3)),
    np.array([True, False]),
    np.array([1 + 2j]),
    np.array(["2020-01-01"], dtype="datetime64[D]"),
    np.arange(6, dtype=">i4"),  # byte order kept
])
def test_small_arrays_pickle_in_band_and_come_back_equal_and_read_only(a):
    f = ser.serialize(a)
    assert not f.buffers  # in the pickle stream: no out-of-band buffer
    b = roundtrip(a)
    assert type(b) is np.ndarray and b.dtype == a.dtype and b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    assert b.flags.writeable is False


@pytest.mark.parametrize("a", [
    np.arange(12.0).reshape(3, 4).T,  # not C-contiguous
    np.zeros(3, dtype=[("x", "i4"), ("y", "f8")]),  # fields
    np.array([{"k": 1}, None], dtype=object),
    np.array(["ab", "c"]),  # unicode: NumPy's own reduction
])
def test_other_small_arrays_keep_numpys_own_pickling(a):
    b = roundtrip(a)
    assert b.dtype == a.dtype and b.shape == a.shape
    assert all(x == y for x, y in zip(a.ravel().tolist(), b.ravel().tolist()))


def test_an_array_met_twice_in_a_value_comes_back_as_one_object():
    a = np.arange(5)
    x, y = roundtrip([a, a])
    assert x is y


def test_serialize_is_reentrant():
    # A value whose pickling serialises another value (nested calls share no pickler state).
    class Outer:
        def __reduce__(self):
            inner = ser.serialize([np.arange(3), "inner"])
            return (list, (ser.deserialize(inner),))

    v = roundtrip([Outer(), np.arange(2)])
    np.testing.assert_array_equal(v[0][0], np.arange(3))
    assert v[0][1] == "inner"
    np.testing.assert_array_equal(v[1], np.arange(2))


def test_nothing_is_pooled_while_memory_is_short(monkeypatch):
    import gc
    import os

    from rayreact._private import shm

    monkeypatch.setattr(ser, "_memory_left_after", lambda size: 0)
    name, _ = _segment("short")
    try:
        arr = ser.deserialize(ser.open_frame(name, take=True))
        del arr
        gc.collect()
        assert not os.path.exists(f"/dev/shm/{name}")  # unlinked, not kept
    finally:
        for path in shm.session_files(f"t{os.getpid():x}"):
            os.unlink(path)


class _Registered:
    def __init__(self, x):
        self.x = x


def _reduce_registered(obj):
    return _Registered, (obj.x * 2,)


def test_reducers_registered_with_copyreg_are_used(monkeypatch):
    # The pickler has its own dispatch table (for small arrays): copyreg's still applies.
    import copyreg

    monkeypatch.setitem(copyreg.dispatch_table, _Registered, _reduce_registered)
    assert roundtrip([_Registered(3)])[0].x == 6


class _Sub(np.ndarray):
    pass


def test_array_subclasses_keep_their_type():
    a = np.arange(3.0).view(_Sub)
    b = roundtrip(a)
    assert type(b) is _Sub
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("args, kwargs", [
    (("CartPole-v1", 3, 2.5, True, None, b"x"), {}),  # atoms only: the short cut
    ((np.arange(3),), {}),
    (("a",), {"k": 1}),
    (([1, 2],), {}),
])
def test_serialize_args_makes_the_bytes_serialize_plain_makes(args, kwargs):
    fast = ser.serialize_args(args, kwargs)
    assert type(fast) is bytes and fast == ser.serialize_plain((args, kwargs))


_needs_c = pytest.mark.skipif(ser._encode is None, reason="the C module is not built")
_PLAIN = [None, True, False, 0, 255, 256, 65535, 65536, -1, -129, 2**31, -2**31 - 1, 2**63 - 1,
          -2**63, 0.0, -0.0, 1.5, float("inf"), "", "CartPole-v1", "é" * 300, b"", b"x" * 300,
          (), (1,), (1, "a"), (1, 2, 3), (1, 2, 3, 4), [], [1, [2, (3,)]], {}, {"a": 1, 2: [3.5]},
          np.arange(4, dtype=np.float32), np.arange(6, dtype=">i4").reshape(2, 3),
          np.array(2.5), np.zeros((0, 3)), np.array(["2020-01-01"], dtype="datetime64[D]"),
          (np.zeros(4, np.float32), 1.0, False, False)]


def _same(a, b):
    if isinstance(a, np.ndarray):
        return type(b) is np.ndarray and a.dtype == b.dtype and a.shape == b.shape and \
            (a == b).all() and not b.flags.writeable
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and repr(a) == repr(b)  # (repr: -0.0 is not 0.0)


@_needs_c
@pytest.mark.parametrize("v", _PLAIN, ids=lambda v: type(v).__name__)
def test_the_c_encoder_pickles_plain_values_as_the_pickler_does(v):
    import pickle

    ser._PicklerState().dumps(v)  # (the first array of a dtype fills the dtype cache)
    b = ser._encode(v)
    assert type(b) is bytes
    assert _same(v, pickle.loads(b)) and _same(pickle.loads(ser._PicklerState().dumps(v)[0]),
                                               pickle.loads(b))


class _Float(float):
    pass


_shared = [1]
_loop = []
_loop.append(_loop)


@_needs_c
@pytest.mark.parametrize("v", [
    [_shared, _shared],  # shared: the pickler's memo keeps it one object
    _loop,  # recursive
    2**64, np.float64(1.0), _Float(2.0), "\ud800", {1}, object(),
    np.zeros(ser.SMALL_ARRAY // 8 + 1),  # out of band
    np.arange(9.0).reshape(3, 3).T,  # not C-contiguous
    np.arange(3).view(_Sub),
], ids=lambda v: type(v).__name__)
def test_what_the_c_encoder_leaves_to_the_pickler(v):
    import pickle

    ser._PicklerState().dumps(v)
    assert ser._encode(v) is None
    f = ser.serialize_plain(v)
    assert f is not None  # the pickler's bytes or Frame, as before
    if v is _loop:
        w = pickle.loads(f)
        assert w[0] is w
    if isinstance(v, list) and v and v[0] is _shared:
        x, y = pickle.loads(f)
        assert x is y
