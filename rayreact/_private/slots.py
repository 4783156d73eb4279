"""Preallocated shared memory of a compiled reactor graph: slots (one per port) and trigger queues.

::

    driver                          actor A (reactor)                 actor B
    ------                          -----------------                 -------
    write args -> in-slot(n1)
    push (g, tag, n1) -> queue(A)   pop (g, tag, n1)
    notify A ---------------------> read in-slot(n1), run method
                                    write out-slot(n1) ------------>  (B's n2 reads out-slot(n1))
                                    notify driver, B  ------------->  run n2, write out-slot(n2)
    read out-slot(n1), out-slot(n2) <-------------------------------- notify driver

A **slot** has exactly one writer and any number of readers. It holds two buffers, chosen by
the parity of the logical tag, so the writer can fill tag ``t + 1`` while readers still read
tag ``t``; the driver starts tag ``t + 2`` of a graph only once every reaction of tag ``t`` has
completed (all its reads are done), so a buffer is never overwritten while it is read. Each
buffer has a header (tag, length, flags); the writer stores the data, then the length and
flags, then the tag: x86-64 keeps stores in order, and every header word is one aligned 8-byte
store through a ``memoryview`` cast to ``"Q"``, so a reader that sees the tag sees the data.

A slot holds one *record*: a list of serialised frames (the arguments of a call, or the return
values of a reaction) plus a small bit mask (which return values are errors)::

    [u32 nframes][u32 0][u64 mask] [u64 desc] * nframes  frames, 8-aligned
    desc: frame length, or SEGMENT | length of the name of the segment holding the frame,
          or PLAIN | length of a frame without out-of-band buffers, stored as its bare
          pickle stream (the common case: a step's small result)

A record that does not fit makes the writer *grow* the slot (to 1.25 times the record): it creates a
larger segment, copies the live buffer over, and marks the old one ``MOVED``; readers follow
the mark. The old segment stays until the graph is torn down: a reader that opens the slot
later (an actor still busy when the graph was installed) opens it by its first name. A value keeps its size from one iteration to the next in a loop, so this happens
once and the steady state allocates nothing. Only frames over ``INLINE_MAX`` go to a segment of
their own (readers then map it, zero-copy); the slot unlinks it when it reuses that buffer,
two tags later.

A **trigger queue** is a single-producer single-consumer ring of ``(graph, tag, node)``
entries from the driver to one actor: the order in which that actor runs its reactions. The
driver alone writes ``tail``, the actor alone writes ``head``: no lock is needed.
"""

import itertools
import os
import struct

from rayreact._private import buffers
from rayreact._private import serialization as ser
from rayreact._private import shm

# The hot paths of compiled execution in C (``_compiled.c``; setup.py builds it where it can):
# the actors' reaction loop, the driver's trigger and read of plain records. They work on the
# memory laid out here, as the Python below does; without them (or with RAYREACT_C=0) the
# Python does all of it: the same results, more CPU per call.
c_paths = ser.c_module

_BUF_WORDS = 8  # per buffer: tag, nbytes
_HDR_BYTES = 2 * _BUF_WORDS * 8
_TAG, _NBYTES = 0, 1
_WRITER = 2 * _BUF_WORDS - 3  # word: pid of the writer (readers check it is alive)
_MOVED = 2 * _BUF_WORDS - 2  # word: generation of the grown slot that replaces this one
_DONE = 2 * _BUF_WORDS - 1  # word: last tag whose reaction completed (input slots only)
_SEGMENT = 1 << 63
_PLAIN = 1 << 62  # desc flag: the frame is a bare pickle stream (no out-of-band buffers)
INLINE_MAX = 32 << 20  # bytes: larger frames get a segment of their own
_REC = struct.Struct("<IIQ")  # nframes, 0, mask
_DESC = struct.Struct("<Q")
_PLAIN_HEAD = struct.Struct("<IIQQ")  # a record of one bare pickle stream: nframes, 0, mask, desc


def _round_up(n, a=4096):
    return (n + a - 1) // a * a


def _pad8(n):
    return (n + 7) & ~7


class Slot:
    """One port's memory: a single writer, any readers, two buffers by tag parity.

    Args:
        name: segment name (``rr_<session>_...``); a grown slot is ``name`` + ``.<gen>``.
        capacity: bytes per buffer (create only).
        create: make the segment (the writer does, once).
    """

    def __init__(self, name, capacity=0, create=False, gen=0):
        self.name = name
        self.gen = gen
        seg = name if gen == 0 else f"{name}.{gen}"
        self._seg = seg
        if create:
            self._mm = shm.create_segment(seg, _HDR_BYTES + 2 * _round_up(max(capacity, 64)))
        else:
            self._mm = shm.open_segment(seg)
        self._mv = memoryview(self._mm)
        self.words = self._mv[:_HDR_BYTES].cast("Q")
        self.capacity = (len(self._mm) - _HDR_BYTES) // 2
        self._owned = [[], []]  # per buffer: one-off segments to unlink when it is reused
        self._old = []  # segments this slot grew out of (readers may not have opened them yet)
        self._counter = itertools.count()

    # -- readers ------------------------------------------------------------------------------
    def _follow(self):
        """The writer grew the slot: map the new segment instead (readers only)."""
        while self.words[_MOVED]:
            gen = self.words[_MOVED]
            self._unmap()
            self.__init__(self.name, gen=gen)

    def ready(self, tag):
        w = self.words
        if w[_MOVED]:
            self._follow()
            w = self.words
        return w[(tag & 1) * _BUF_WORDS + _TAG] == tag

    def read(self, tag):
        """The record of ``tag`` (which must be ready): (list of Frame, error mask).

        The bytes are copied out (into a recycled buffer, ``buffers``), since the slot's
        buffer is reused two tags later; frames kept in segments of their own are mapped,
        not copied (nobody writes those again)."""
        if self.words[_MOVED]:
            self._follow()
        o = (tag & 1) * _BUF_WORDS
        base = _HDR_BYTES + (tag & 1) * self.capacity
        data = buffers.copy(self._mv, base, base + self.words[o + _NBYTES])
        n, _, mask = _REC.unpack_from(data, 0)
        pos = 16 + 8 * n
        frames = []
        for i in range(n):
            d = _DESC.unpack_from(data, 16 + 8 * i)[0]
            if d & _PLAIN:
                size = d & ~_PLAIN
                frames.append(ser.Frame(memoryview(data)[pos:pos + size], ()))
            elif d & _SEGMENT:
                size = d & ~_SEGMENT
                frames.append(ser.open_frame(bytes(data[pos:pos + size]).decode(), False))
            else:
                size = d
                frames.append(ser.decode(memoryview(data)[pos:pos + size]))
            pos += (size + 7) & ~7
        return frames, mask

    def read_plain(self, tag):
        """The fast case of ``read``: if the record of ``tag`` is one bare pickle stream and no
        error, a copy of that stream (bytes); else None (use ``read``)."""
        w = self.words
        if w[_MOVED]:
            self._follow()
            w = self.words
        base = _HDR_BYTES + (tag & 1) * self.capacity
        mv = self._mv
        # [u32 nframes = 1][u32 0][u64 mask = 0][u64 desc = PLAIN | size]: words 0..2
        if _REC.unpack_from(mv, base) != (1, 0, 0):
            return None
        d = _DESC.unpack_from(mv, base + 16)[0]
        if not d & _PLAIN:
            return None
        return bytes(mv[base + 24:base + 24 + (d & ~_PLAIN)])

    def done(self):
        return self.words[_DONE]

    @property
    def writer(self):
        """pid of the process that writes this slot (0: not known yet)."""
        return self.words[_WRITER]

    # -- the writer ---------------------------------------------------------------------------
    def write(self, tag, frames, mask=0):
        """Store ``frames`` (serialization.Frame list) as the record of ``tag``."""
        b = tag & 1
        for seg in self._owned[b]:
            shm.unlink_segment(seg)
        owned = self._owned[b] = []
        descs, pieces, size = [], [], 16 + 8 * len(frames)
        for f in frames:
            if not f.buffers and f.segment is None:  # a bare pickle stream
                n = len(f.meta)
                descs.append(_PLAIN | n)
                pieces.append(f.meta)
                pad = (-n) & 7
                if pad:
                    pieces.append(bytes(pad))
                size += n + pad
                continue
            if f.segment is None and f.nbytes > INLINE_MAX:
                seg = f"{self.name}.{tag}.{next(self._counter)}"
                f.to_segment(seg, pooled=False)  # unlinked by this slot two tags later
                owned.append(seg)
                f = _Named(seg)
            if isinstance(f, _Named) or f.segment is not None:
                if not isinstance(f, _Named):
                    f.mark_shared()  # readers map it by name
                name = (f.name if isinstance(f, _Named) else f.segment).encode()
                descs.append(_SEGMENT | len(name))
                pieces.append(name)
                pad = _pad8(len(name)) - len(name)
                n = len(name)
            else:
                ps, n = f.pieces()  # already padded to 8
                pieces.extend(ps)
                descs.append(n)
                pad = 0
            if pad:
                pieces.append(bytes(pad))
            size += n + pad
        if size > self.capacity:
            self._grow(size, b)
        mv = self._mv
        pos = _HDR_BYTES + b * self.capacity
        _REC.pack_into(mv, pos, len(frames), 0, mask)
        for i, d in enumerate(descs):
            _DESC.pack_into(mv, pos + 16 + 8 * i, d)
        pos += 16 + 8 * len(descs)
        for p in pieces:
            n = p.nbytes if isinstance(p, memoryview) else len(p)
            mv[pos:pos + n] = p
            pos += n
        w = self.words
        w[b * _BUF_WORDS + _NBYTES] = size
        w[b * _BUF_WORDS + _TAG] = tag  # publish last

    def write_plain(self, tag, meta):
        """The fast case of ``write``: store one bare pickle stream (no error) as the record
        of ``tag``. False if it does not fit or the buffer still owns one-off segments (then
        call ``write``)."""
        b = tag & 1
        n = len(meta)
        size = 24 + ((n + 7) & ~7)
        if size > self.capacity or self._owned[b]:
            return False
        mv = self._mv
        pos = _HDR_BYTES + b * self.capacity
        _PLAIN_HEAD.pack_into(mv, pos, 1, 0, 0, _PLAIN | n)
        mv[pos + 24:pos + 24 + n] = meta
        w = self.words
        w[b * _BUF_WORDS + _NBYTES] = size
        w[b * _BUF_WORDS + _TAG] = tag  # publish last
        return True

    def set_done(self, tag):
        self.words[_DONE] = tag

    def set_writer(self, pid):
        self.words[_WRITER] = pid

    def _grow(self, need, b):
        """Replace this slot by one that holds ``need`` bytes (writer only; once, usually)."""
        old_words, old_mv, old_cap = self.words, self._mv, self.capacity
        other = 1 - b
        gen = self.gen + 1
        # A quarter more than this record: a loop's values keep their size, and each buffer of
        # each port of a graph is this big (twice as much per port), so no more than that.
        new = Slot(self.name, need + need // 4, create=True, gen=gen)
        # Keep the other buffer (the previous tag, perhaps still being read) and the done word.
        n = old_words[other * _BUF_WORDS + _NBYTES]
        src = _HDR_BYTES + other * old_cap
        dst = _HDR_BYTES + other * new.capacity
        new._mv[dst:dst + n] = old_mv[src:src + n]
        new.words[other * _BUF_WORDS + _NBYTES] = n
        new.words[other * _BUF_WORDS + _TAG] = old_words[other * _BUF_WORDS + _TAG]
        new.words[_DONE] = old_words[_DONE]
        new.words[_WRITER] = old_words[_WRITER]
        new._owned = self._owned
        new._old = self._old + [self._seg]  # kept: a reader that has not opened the slot yet
        old_words[_MOVED] = gen             # opens it by its first name, then follows MOVED
        self._unmap()
        self.__dict__.update(new.__dict__)

    def _unmap(self):
        self.words.release()
        self._mv.release()
        try:
            self._mm.close()
        except BufferError:
            pass

    def close(self, unlink=False):
        if unlink:
            for b in (0, 1):
                for seg in self._owned[b]:
                    shm.unlink_segment(seg)
            for seg in self._old + [self._seg]:
                shm.unlink_segment(seg)
        self._unmap()


class _Named:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


class TriggerQueue:
    """Single-producer single-consumer ring of (graph id, tag, node index) triggers.

    Words: 0 = tail (written by the producer), 8 = head (written by the consumer, on its own
    cache line), then ``capacity`` entries of three words each.
    """

    _ENTRY = 16

    def __init__(self, name, capacity=4096, create=False):
        self.name = name
        if create:
            self._mm = shm.create_segment(name, 8 * (self._ENTRY + 3 * capacity))
        else:
            self._mm = shm.open_segment(name)
        self.w = memoryview(self._mm).cast("Q")
        self.capacity = (len(self.w) - self._ENTRY) // 3

    def free(self):
        return self.capacity - (self.w[0] - self.w[8])

    def push(self, graph, tag, node):
        """Append one trigger (producer only). The caller ensures there is room."""
        w = self.w
        tail = w[0]
        i = self._ENTRY + 3 * (tail % self.capacity)
        w[i], w[i + 1], w[i + 2] = graph, tag, node
        w[0] = tail + 1  # publish

    def peek(self):
        """The oldest trigger (consumer only), or None."""
        w = self.w
        head = w[8]
        if head == w[0]:
            return None
        i = self._ENTRY + 3 * (head % self.capacity)
        return w[i], w[i + 1], w[i + 2]

    def pop(self):
        self.w[8] += 1

    def close(self, unlink=False):
        self.w.release()
        try:
            self._mm.close()
        except BufferError:
            pass
        if unlink:
            shm.unlink_segment(self.name)
