"""Recycled heap buffers for the records a process copies out of shared memory.

A record read from a ring (``Channel``) or a compiled slot (``Slot.read``) is copied out,
since its shared memory is reused, and lives as long as its value does (the frame, and every
NumPy view of it). Copied into a fresh ``bytes``, a record of 100 KB (an Atari frame) costs
more than the copy: glibc gives a freed block that size at the top of the heap back to the
kernel, so the next copy faults its 25 pages in again. In the driver of 15 Pong actors that
was 80-100 us of system time per step, of ~140 us for reading the frame (``/tmp`` script
toggling glibc's trim threshold, 3 pairs, 2026-12-03). So records of ``MIN_BYTES`` or more
are copied into buffers this pool keeps, each reused once nothing refers to it any more:
every memoryview and array over a buffer holds a reference to it, so its reference count
says when the last view is gone, without a finalizer per record.

A process keeps at most ``MAX_BYTES`` of buffers (the driver's loop holds two rounds of
results, 30 frames at 15 actors); a record that finds none free then is copied into
``bytes`` as before. ``drain`` gives them all back (a worker idle for a second).
"""

import os
import sys
import threading

MIN_BYTES = 64 << 10  # below: malloc reuses the block without faults (measured 2.3 us/60 KB)
LARGEST = 4 << 20  # largest buffer kept (frames above 256 KiB travel in segments anyway)
MAX_BYTES = 32 << 20  # per process

_getrefcount = sys.getrefcount
# References to a free buffer while it is looked at: the pool's list, ``b`` and the call's
# argument (``tests/test_buffers.py`` checks a buffer in use is never taken).
_FREE = 3


class _Pool:
    def __init__(self):
        self.lock = threading.Lock()
        self.sizes = {}  # size class (a power of two) -> [bytearray]
        self.next = {}  # size class -> index where the next search starts (round robin)
        self.total = 0

    def copy(self, src, start, stop):
        """A read-only copy of ``src[start:stop]`` (a buffer: mmap, memoryview): a memoryview
        of a recycled buffer, or bytes if the record is small or no buffer is free."""
        n = stop - start
        if n < MIN_BYTES or n > LARGEST:
            return bytes(src[start:stop])
        size = 1 << (n - 1).bit_length()
        with self.lock:
            bufs = self.sizes.setdefault(size, [])
            buf = None
            k = len(bufs)
            first = self.next.get(size, 0)
            for i in range(first, first + k):  # buffers tend to come free in the order taken
                b = bufs[i % k]
                if _getrefcount(b) == _FREE:
                    buf = b
                    self.next[size] = (i + 1) % k
                    break
            b = None
            if buf is None:
                if self.total + size > MAX_BYTES:
                    return bytes(src[start:stop])
                buf = bytearray(size)
                bufs.append(buf)
                self.total += size
            view = memoryview(buf)[:n]  # (a reference to buf from here on: taken)
        view[:] = memoryview(src)[start:stop]
        return view.toreadonly()

    def drain(self):
        """Forget every buffer (those still in use live on with their views)."""
        with self.lock:
            self.sizes, self.next, self.total = {}, {}, 0


_pool = _Pool()
copy = _pool.copy
drain = _pool.drain
os.register_at_fork(after_in_child=_pool.__init__)  # a forked worker starts with none
