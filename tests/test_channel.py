"""The shared-memory channel: order, wrap-around, many producers, full ring."""

import os
import subprocess
import sys
import textwrap

import pytest

from rayreact._private import shm
from rayreact._private.channel import Channel


@pytest.fixture
def session():
    s = f"t{os.getpid():x}"
    yield s
    shm.cleanup_session(s)


def test_records_come_out_in_order_across_wraparound(session):
    ch = Channel(session, "c", create=True, capacity=4096)
    sent = []
    for i in range(2000):  # many times the ring's size, sizes not multiples of 8
        msg = bytes([i % 251]) * (i % 37 + 1)
        ch.send([msg], len(msg))
        sent.append(msg)
        if i % 3 == 2:
            for _ in range(3):
                assert ch.recv_nowait() == sent.pop(0)
    while sent:
        assert ch.recv_nowait() == sent.pop(0)
    assert ch.recv_nowait() is None


def test_record_too_big_is_refused(session):
    ch = Channel(session, "c", create=True, capacity=4096)
    with pytest.raises(ValueError, match="exceeds"):
        ch.send([b"x" * 4096], 4096)


def test_many_producer_processes_keep_each_ones_order(session):
    ch = Channel(session, "c", create=True, capacity=1 << 16)  # small: producers hit "full"
    code = textwrap.dedent(f"""
        import sys
        from rayreact._private.channel import Channel
        ch = Channel({session!r}, "c")
        who = sys.argv[1].encode()
        for i in range(20000):
            m = who + b":%d" % i
            ch.send([m], len(m))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code, w]) for w in ("a", "b", "c")]
    seen = {b"a": -1, b"b": -1, b"c": -1}
    n = 0
    while n < 60000:
        m = ch.recv_nowait()
        if m is None:
            ch.wait(1.0)
            continue
        who, i = m.split(b":")
        assert int(i) == seen[who] + 1  # each producer's records arrive in its order
        seen[who] = int(i)
        n += 1
    for p in procs:
        assert p.wait(30) == 0


def test_send_to_dead_consumer_of_full_ring_raises(session):
    from rayreact._private.channel import ChannelClosed

    ch = Channel(session, "c", create=True, capacity=4096)
    msg = b"x" * 1000
    with pytest.raises(ChannelClosed):
        for _ in range(100):
            ch.send([msg], len(msg), consumer_alive=lambda: False)


def test_doorbell_wakes_a_sleeping_consumer(session):
    ch = Channel(session, "c", create=True)
    assert ch.wait(0.01) is False  # nothing rang
    ch.send([b"hi"], 2)
    assert ch.wait(5) is True
    assert ch.recv_nowait() == b"hi"


def test_readers_never_see_a_torn_or_zeroed_tail(session):
    # Regression: struct.pack_into zeroes a field before writing it, so a reader racing the
    # writer saw tail == 0 and read garbage records. Header words must change in one store.
    ch = Channel(session, "c", create=True, capacity=1 << 20)
    code = textwrap.dedent(f"""
        from rayreact._private.channel import Channel
        ch = Channel({session!r}, "c")
        for i in range(200000):
            ch.send([b"x"], 1)
    """)
    p = subprocess.Popen([sys.executable, "-c", code])
    try:
        _read_all(ch, p)
    finally:
        p.kill()
        p.wait()


def _read_all(ch, p):
    last = 0
    got = 0
    from rayreact._private.channel import _TAIL

    while got < 200000:
        tail = ch._hdr[_TAIL]
        assert tail >= last, (tail, last)
        last = tail
        while ch.recv_nowait() is not None:
            got += 1
    assert p.wait(60) == 0
