"""Slots and trigger queues: the preallocated memory of compiled graphs (slots.py)."""

import os

import numpy as np
import pytest

from rayreact._private import serialization as ser
from rayreact._private import shm
from rayreact._private.slots import Slot, TriggerQueue


@pytest.fixture
def name():
    base = f"rr_t{os.getpid():x}_slot"
    yield base
    for path in shm.session_files(f"t{os.getpid():x}"):
        os.unlink(path)


def _value(slot, tag):
    frames, mask = slot.read(tag)
    return ser.deserialize(frames[0]), mask


def test_two_buffers_by_tag_parity(name):
    w = Slot(name, 4096, create=True)
    r = Slot(name)
    w.write(1, [ser.serialize("one")])
    w.write(2, [ser.serialize("two")], mask=1)
    assert r.ready(1) and r.ready(2) and not r.ready(3)
    assert _value(r, 1) == ("one", 0) and _value(r, 2) == ("two", 1)


def test_a_record_mixing_bare_and_buffered_frames_reads_back(name):
    # Frames without out-of-band buffers are stored as bare pickle streams, the others with
    # their frame header: both kinds, of odd lengths, in one record.
    w = Slot(name, 4096, create=True)
    r = Slot(name)
    values = ["a" * 3, np.arange(100_000, dtype=np.uint8), (np.arange(3.0), 1.5), b"xyz" * 7]
    frames = [ser.serialize(v) for v in values]
    assert [bool(f.buffers) for f in frames] == [False, True, False, False]
    w.write(1, frames, mask=0b100)
    got, mask = r.read(1)
    assert mask == 0b100
    back = [ser.deserialize(f) for f in got]
    assert back[0] == values[0] and back[3] == values[3]
    np.testing.assert_array_equal(back[1], values[1])
    np.testing.assert_array_equal(back[2][0], values[2][0])
    assert back[2][1] == 1.5


def test_a_reader_opening_a_grown_slot_by_its_first_name_follows_it(name):
    # Regression: growing unlinked the first segment, so an actor that opened the slot after
    # the driver had grown it failed with FileNotFoundError.
    w = Slot(name, 4096, create=True)
    early = Slot(name)
    big = np.arange(100_000, dtype=np.int64)
    w.write(1, [ser.serialize(big)])
    assert w.capacity > 4096
    late = Slot(name)  # opened by the first name, after the growth
    for r in (early, late):
        assert r.ready(1)
        np.testing.assert_array_equal(_value(r, 1)[0], big)
    w.close(unlink=True)
    assert shm.session_files(f"t{os.getpid():x}") == []


def test_growing_keeps_the_other_buffer(name):
    w = Slot(name, 4096, create=True)
    r = Slot(name)
    w.write(1, [ser.serialize("small")])
    w.write(2, [ser.serialize(b"x" * 50_000)])
    assert _value(r, 1)[0] == "small" and _value(r, 2)[0] == b"x" * 50_000


def test_trigger_queue_is_fifo_and_wraps(name):
    q = TriggerQueue(name + "q", capacity=4, create=True)
    r = TriggerQueue(name + "q")
    out = []
    for i in range(10):
        q.push(1, i, i % 3)
        out.append(r.peek())
        r.pop()
    assert out == [(1, i, i % 3) for i in range(10)] and r.peek() is None
    assert q.free() == 4


def test_the_plain_fast_path_and_the_general_one_store_the_same_record(name):
    # write_plain/read_plain (a compiled step's usual argument and result) must be
    # interchangeable with write/read: a reader of either kind sees the other's records.
    w = Slot(name, 4096, create=True)
    r = Slot(name)
    value = (np.arange(4, dtype=np.float32), 1.0, False, {})
    meta = ser.serialize_plain(value)
    assert meta is not None and w.write_plain(1, meta)
    back, mask = _value(r, 1)
    assert mask == 0 and back[1:] == value[1:]
    np.testing.assert_array_equal(back[0], value[0])
    w.write(2, [ser.serialize("general")])
    assert ser.pickle.loads(r.read_plain(2)) == "general"


def test_read_plain_declines_records_it_cannot_take(name):
    w = Slot(name, 4096, create=True)
    r = Slot(name)
    w.write(1, [ser.serialize("an error")], mask=1)  # an error: the mask must be seen
    w.write(2, [ser.serialize(1), ser.serialize(2)])  # two frames
    assert r.read_plain(1) is None and r.read_plain(2) is None
    w.write(3, [ser.serialize(np.arange(100_000, dtype=np.uint8))])  # out-of-band buffer
    assert r.read_plain(3) is None


def test_write_plain_declines_what_does_not_fit_and_write_grows(name):
    w = Slot(name, 64, create=True)
    meta = ser.serialize_plain(b"x" * 10_000)
    assert not w.write_plain(1, meta)
    w.write(1, [ser.Frame(meta, [])])
    assert ser.pickle.loads(Slot(name).read_plain(1)) == b"x" * 10_000


def test_serialize_plain_declines_buffers_refs_and_main():
    big = np.arange(100_000, dtype=np.uint8)
    f = ser.serialize_plain(big)  # out-of-band: the Frame serialize makes (no second pickling)
    assert type(f) is ser.Frame and f.buffers
    np.testing.assert_array_equal(ser.deserialize(f), big)

    class Local:  # needs cloudpickle (plain pickle cannot find it)
        pass

    assert ser.serialize_plain(Local()) is None
    assert ser.pickle.loads(ser.serialize_plain([1, "a", None])) == [1, "a", None]
