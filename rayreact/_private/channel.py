"""A many-producer message channel in shared memory: every process's inbox, and the task queue.

::

    producers (any process)                      consumer(s)
    ----------------------                       -----------
    take write lock                              doorbell.acquire(timeout)   <- sleeps, no spin
    copy record into ring at tail                read record at head
    advance tail, drop write lock                advance head
    doorbell.release()  ---------------------->  (multi-consumer: under the read lock)

The ring lives in one segment: a 64-byte header (head, tail, the owner's pid and a status slot)
then ``capacity`` bytes of records, each ``[u32 length][u32 0][payload]`` padded to 8 bytes. A
record that would cross the end is preceded by a wrap marker. Head and tail only grow; the
offset is ``position % capacity``. The doorbell is a counting semaphore that may run ahead of
the records (a consumer drains every record after a wake), so a wake is never lost and a
spurious one costs one empty check. Why no lock on the consumer side of an inbox: exactly one
process reads it, and only it writes ``head``; producers only read ``head`` to see free space.
"""

import os
import struct
import threading
import time

from rayreact._private import buffers
from rayreact._private import shm

HEADER = 128
_WRAP = 0xFFFFFFFF
_REC = struct.Struct("<II")
# Header words (u64 index): head, tail, pid of the consumer, status slot (3 words), sleeping
# state, awaited, and the task a canceller asks the consumer to interrupt (Runtime.cancel).
# They are read and written through a memoryview cast to "Q": each access is one aligned 8-byte
# copy. (struct.pack_into must not be used on them: it zeroes the field before writing it, and
# another process reading at that moment would see head or tail == 0.)
_HEAD, _TAIL, _PID, _STATUS, _SLEEPING, _AWAITED, _INTERRUPT = 0, 1, 2, 3, 6, 7, 8

DEFAULT_CAPACITY = 8 << 20
# Values of the sleeping word: awake; asleep waiting for something (a reply); asleep idle (a
# pool worker with nothing to do, whose wait also watches the task queue); polling idle, not
# asleep yet (see Runtime.wake_pool). Only the states in _ASLEEP need a ring to wake.
AWAKE, WAITING, IDLE, SPINNING = 0, 1, 2, 4
_ASLEEP = WAITING | IDLE


_FENCE = threading.Lock()


def _forget_fence():
    global _FENCE
    _FENCE = threading.Lock()  # a forked child starts with an unheld lock of its own


os.register_at_fork(after_in_child=_forget_fence)


def _fence():
    """A full memory fence: an uncontended take and release of a private lock. CPython's locks
    are POSIX semaphores here, whose uncontended wait and post are single locked atomic
    instructions (full barriers on x86-64) and make no system call. (A named semaphore did the
    same, but a process killed between creating and unlinking its name left the name behind.)"""
    _FENCE.acquire()
    _FENCE.release()


class ChannelClosed(Exception):
    """The consumer of the channel is gone; the message could not be delivered."""


class Channel:
    """One end of a named channel (producer, consumer, or both).

    Args:
        session: the session id (names every segment and semaphore of one run).
        name: channel name, unique in the session.
        create: create the segment and semaphores (only the process that owns the channel).
        capacity: ring size in bytes (create only).
        multi_consumer: several processes read (the task queue): reads take a read lock.
    """

    def __init__(self, session, name, create=False, capacity=DEFAULT_CAPACITY,
                 multi_consumer=False):
        base = shm.prefix(session) + name
        self.name = name
        self._names = (base, base + "_b", base + "_w", base + "_r")
        if create:
            self._mm = shm.create_segment(base, HEADER + capacity)
            self._doorbell = shm.create_semaphore(base + "_b")
            self._wlock = shm.create_semaphore(base + "_w", 1, 1)
            self._rlock = shm.create_semaphore(base + "_r", 1, 1) if multi_consumer else None
        else:
            self._mm = shm.open_segment(base)
            self._doorbell = shm.open_semaphore(base + "_b")
            self._wlock = shm.open_semaphore(base + "_w", 1)
            self._rlock = shm.open_semaphore(base + "_r", 1) if multi_consumer else None
        self._hdr = memoryview(self._mm)[:HEADER].cast("Q")
        self.capacity = len(self._mm) - HEADER
        self.max_record = self.capacity // 2 - 16

    def reset(self):
        """Empty the ring and forget its consumer, whose process died: a new process takes
        over the same inbox (an actor restart), and every sender's mapping stays valid."""
        self._wlock.acquire()
        try:
            hdr = self._hdr
            hdr[_HEAD] = hdr[_TAIL]
            hdr[_PID] = 0
            hdr[_SLEEPING] = 0
        finally:
            self._wlock.release()
        self.set_status(0, 0, 0)

    # -- header ------------------------------------------------------------------------------
    def set_pid(self, pid):
        self._hdr[_PID] = pid

    @property
    def pid(self):
        return self._hdr[_PID]

    def set_status(self, a, b, c):
        hdr = self._hdr
        hdr[_STATUS], hdr[_STATUS + 1], hdr[_STATUS + 2] = a, b, c

    def status(self):
        hdr = self._hdr
        return hdr[_STATUS], hdr[_STATUS + 1], hdr[_STATUS + 2]

    def request_interrupt(self, task):
        """Ask the consumer to interrupt ``task`` (the low 64 bits of its first object id), if
        it still runs it when the signal that follows arrives (worker.TaskLoop)."""
        self._hdr[_INTERRUPT] = task

    def interrupt_requested(self):
        return self._hdr[_INTERRUPT]

    # -- producer ----------------------------------------------------------------------------
    def send(self, pieces, size, consumer_alive=None, while_full=None):
        """Append one record made of ``pieces`` (bytes-like, ``size`` bytes in all).

        Blocks while the ring is full (sleeping with a growing backoff, never spinning hot),
        calling ``while_full()`` meanwhile (the runtime drains its own inbox there, so two
        processes filling each other's rings cannot deadlock); raises ChannelClosed if
        ``consumer_alive()`` turns false meanwhile.
        """
        if size > self.max_record:
            raise ValueError(f"record of {size} bytes exceeds channel limit {self.max_record}")
        rec = (8 + size + 7) & ~7
        cap, mm, hdr = self.capacity, self._mm, self._hdr
        delay = 0.0002
        while True:
            self._wlock.acquire()
            tail = hdr[_TAIL]
            head = hdr[_HEAD]
            off = tail % cap
            skip = cap - off if off + rec > cap else 0
            if cap - (tail - head) >= skip + rec:
                break
            self._wlock.release()
            if consumer_alive is not None and not consumer_alive():
                raise ChannelClosed(self.name)
            if while_full is not None:
                while_full()
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        try:
            if skip:
                if skip >= 8:
                    _REC.pack_into(mm, HEADER + off, _WRAP, 0)
                tail += skip
                off = 0
            pos = HEADER + off
            _REC.pack_into(mm, pos, size, 0)
            pos += 8
            for p in pieces:
                n = len(p) if not isinstance(p, memoryview) else p.nbytes
                mm[pos:pos + n] = p
                pos += n
            hdr[_TAIL] = tail + rec  # publish: the record is complete
        finally:
            self._wlock.release()  # an atomic read-modify-write: a full fence before the read
        if hdr[_SLEEPING] & _ASLEEP:  # wake the consumer only if it sleeps (a costly syscall)
            self._doorbell.release()

    # -- consumer ----------------------------------------------------------------------------
    def recv_nowait(self):
        """Return the next record (bytes, or a read-only memoryview of a recycled buffer:
        ``buffers``), or None if the ring is empty."""
        if self._rlock is not None:
            self._rlock.acquire()
            try:
                return self._take()
            finally:
                self._rlock.release()
        return self._take()

    def _take(self):
        mm, cap, hdr = self._mm, self.capacity, self._hdr
        head = hdr[_HEAD]
        if head == hdr[_TAIL]:
            return None
        off = head % cap
        if cap - off < 8:
            head += cap - off
            off = 0
        else:
            size = _REC.unpack_from(mm, HEADER + off)[0]
            if size == _WRAP:
                head += cap - off
                off = 0
        size = _REC.unpack_from(mm, HEADER + off)[0]
        start = HEADER + off + 8
        data = buffers.copy(mm, start, start + size)
        hdr[_HEAD] = head + ((8 + size + 7) & ~7)
        return data

    def has_data(self):
        hdr = self._hdr
        return hdr[_HEAD] != hdr[_TAIL]

    def wait(self, timeout=None, spin=0.0, ready=None, state=WAITING):
        """Sleep until the doorbell rings or ``timeout`` seconds pass; True if it rang.

        ``spin`` (seconds): first poll the ring for that long. A reply that comes back within
        a few tens of microseconds is then seen without the cost of sleeping and being woken;
        the poll is bounded, so an idle process still sleeps.
        ``ready``: an extra no-argument predicate (work that arrives without a record, e.g. a
        compiled graph's slots and trigger queues, whose writers call ``notify``).
        ``state``: what the sleeping word says meanwhile (``WAITING`` or ``IDLE``; an idle
        wait says ``SPINNING`` while it polls).
        """
        has_data = self.has_data if ready is None else (lambda: self.has_data() or ready())
        hdr = self._hdr
        if spin:
            if state == IDLE:
                hdr[_SLEEPING] = SPINNING
            end = time.perf_counter() + spin
            while time.perf_counter() < end:
                if has_data():
                    hdr[_SLEEPING] = AWAKE
                    return True
        # Dekker-style handshake with send(): announce the sleep, fence, re-check the ring.
        # Either the producer sees the flag and rings, or we see its record: no lost wake-up.
        hdr[_SLEEPING] = state
        _fence()
        try:
            if has_data():
                return True
            return self._doorbell.acquire(True, timeout)
        finally:
            hdr[_SLEEPING] = AWAKE

    def notify(self):
        """Wake the consumer if it sleeps, after new work was stored without a record (a
        slot or trigger queue write). The fence orders that store before reading the flag."""
        _fence()
        if self._hdr[_SLEEPING] & _ASLEEP:
            self._doorbell.release()

    def state(self):
        """The consumer's sleeping word: AWAKE, WAITING, IDLE or SPINNING."""
        return self._hdr[_SLEEPING]

    def claim(self):
        """A producer counts on the consumer's idle poll (``SPINNING``) to take its work:
        mark it AWAKE, so the next producer wakes another consumer. (A stale mark only
        makes a later producer ring it, which wakes it if it sleeps: nothing is lost.)"""
        self._hdr[_SLEEPING] = AWAKE

    def set_awaited(self, key):
        """The consumer waits for the compiled output ``key`` only (0: for anything)."""
        self._hdr[_AWAITED] = key

    def notify_output(self, key):
        """``notify`` for the compiled output ``key``: wake the consumer only if it sleeps
        waiting for that output or for anything. (The consumer publishes ``key`` before its
        own fence and last look, so one of the two sees the other: no lost wake-up.)"""
        _fence()
        hdr = self._hdr
        if hdr[_SLEEPING] & _ASLEEP and hdr[_AWAITED] in (0, key):
            self._doorbell.release()

    def ring(self):
        """Wake the consumer without a record (it will find nothing new and re-check)."""
        self._doorbell.release()

    def close(self):
        self._hdr.release()
        try:
            self._mm.close()
        except BufferError:  # a memoryview of the ring still lives; the GC will unmap it
            pass

    def unlink(self):
        """Remove the channel's names (the owner does this once, at exit)."""
        shm.unlink_segment(self._names[0])
        for n in self._names[1:]:
            shm.unlink_semaphore(n)

