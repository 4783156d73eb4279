"""How values cross processes: pickle protocol 5 frames with out-of-band buffers.

A *frame* is one serialised value laid out flat so it can be copied into a channel record or a
shared-memory segment with one copy per buffer::

    [u32 nbuf][u32 meta_len][u64 len] * nbuf  [meta: pickle stream] pad8 [buffer 0] pad [buffer 1] ...

Large buffers (NumPy arrays, bytes) travel out of band: the sender copies each straight into the
record or segment, and the receiver unpickles with memoryviews of the received memory, so arrays
come back as read-only zero-copy views. cloudpickle is the pickler, so functions, classes and
lambdas defined in ``__main__`` travel by value, as Ray does.

Refs met while pickling are collected (``contained_refs``) so the runtime can account for every
``ObjectRef`` that leaves a process (see ``runtime.Runtime`` on borrowing).
"""

import copyreg
import io
import os
import pickle
import struct
import threading
import types
import weakref

import cloudpickle
import numpy as np
import psutil

from rayreact._private import shm

_HDR = struct.Struct("<II")
_LEN = struct.Struct("<Q")
SEGMENT_THRESHOLD = 256 << 10  # frames larger than this go to their own segment
_ALIGN = 64

_collecting = []  # stack of lists: refs pickled by the innermost serialize() call


def note_ref(ref):
    """Called by ObjectRef/ActorHandle.__reduce__: record a ref leaving this process."""
    if _collecting:
        _collecting[-1].append(ref)


def _pad(n, a=8):
    return (n + a - 1) & ~(a - 1)


class Frame:
    """A serialised value: pickle stream + out-of-band buffers (+ refs pickled inside it).

    ``segment`` names the shared-memory segment the frame lies in, if any. ``shared`` is set
    on a frame that *owns* its segment (``open_frame(take=True)``): a one-item list, made true
    once the segment's name is handed to another process (which may map it for as long as it
    likes). When the frame and every NumPy view of it are gone, an owned segment that was
    never shared goes back to this process's segment pool; a shared one is unlinked.
    """

    __slots__ = ("meta", "buffers", "refs", "segment", "shared", "__weakref__")

    def __init__(self, meta, buffers, refs=(), segment=None):
        self.meta = meta
        self.buffers = buffers
        self.refs = refs
        self.segment = segment
        self.shared = None

    def mark_shared(self):
        """Another process is given this frame's segment by name (it may keep it mapped)."""
        if self.shared is not None:
            self.shared[0] = True

    @property
    def nbytes(self):
        n = 8 + 8 * len(self.buffers) + _pad(len(self.meta))
        for b in self.buffers:
            n = _pad(n, _ALIGN) + b.nbytes
        return _pad(n)  # as laid out by pieces()

    def pieces(self):
        """The frame as a list of bytes-like pieces, in layout order, and their total size."""
        out = [_HDR.pack(len(self.buffers), len(self.meta))]
        out.extend(_LEN.pack(b.nbytes) for b in self.buffers)
        out.append(self.meta)
        n = 8 + 8 * len(self.buffers) + len(self.meta)
        for b in self.buffers:
            p = _pad(n, _ALIGN) - n
            if p:
                out.append(bytes(p))
            out.append(b)
            n += p + b.nbytes
        if n % 8:
            out.append(bytes(8 - n % 8))
            n = _pad(n)
        return out, n

    def write_into(self, mm, pos=0):
        for p in self.pieces()[0]:
            n = p.nbytes if isinstance(p, memoryview) else len(p)
            mm[pos:pos + n] = p
            pos += n
        return pos

    def to_segment(self, name, pooled=True, keep_map=False):
        """Copy the frame into a shared-memory segment: one from the pool (``pooled``) or a new
        one named ``name``. Returns the segment's name. ``keep_map``: this process will own
        the segment (``own_segment``), so the pool keeps the read-write mapping for its next
        reuse (mapping 800 MiB again costs ~80 ms, against ~100 ms for the copy itself)."""
        need = max(self.nbytes, 1)
        mm = None
        if pooled:
            name_mm = _pool.take(need)
            if name_mm is not None:
                name, mm = name_mm
        if mm is None:
            mm = shm.create_segment(name, need)
        self.write_into(mm)
        if keep_map:
            _pool.keep_map(name, mm)
        else:
            mm.close()
        return name


class _SegmentPool:
    """Segments this process owned and released, kept for its next large frames.

    A new segment costs the kernel allocating and zeroing every page (about 1 GB/s here,
    against ~10 GB/s for copying into pages already mapped: ``bench/floor.py``), so a large
    value that goes back and forth (arguments out, results back, ``ray.put`` in a loop)
    reuses the same pages. Only segments no other process may still map are pooled (see
    ``Frame.shared``). A pool holds at most ``POOL_BYTES`` (``WORKER_POOL_BYTES`` in a
    worker; the oldest go first; a larger segment is not kept), nothing at all once less
    than a quarter of the machine's memory is available, and nothing once its worker has
    been idle for a second (``worker._Loop.idle_wait``): the pages then go back to the
    kernel, as they did before there was a pool. (Ray's object store holds up to 30% of the
    memory for the same reason.) Segments this process owns from the start keep their
    read-write mapping here too (``maps``, see ``own_segment``).
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.free = []  # [(size, name)], oldest first
        self.total = 0
        self.maps = {}  # name -> read-write mmap, kept for segments this process owns

    def take(self, need):
        """(name, read-write mmap) of a pooled segment of ``need`` to 2 x ``need`` bytes."""
        with self.lock:
            fits = [i for i, (size, _) in enumerate(self.free) if need <= size <= 2 * need]
            if not fits:
                return None
            size, name = self.free.pop(min(fits, key=lambda i: self.free[i][0]))
            self.total -= size
            mm = self.maps.pop(name, None)
        if mm is not None:
            if os.path.exists(os.path.join(shm.SHM_DIR, name)):
                return name, mm
            mm.close()  # unlinked with its session (a value held across shutdown)
            return None
        try:
            return name, shm.open_segment(name, populate=True)
        except FileNotFoundError:  # the session is being cleaned up
            return None

    def keep_map(self, name, mm):
        """Keep the read-write mapping of a segment this process owns, for its next reuse."""
        with self.lock:
            self.maps[name] = mm

    def unlink(self, name):
        """The segment goes back to the kernel (with its kept mapping, if any)."""
        with self.lock:
            mm = self.maps.pop(name, None)
        if mm is not None:
            mm.close()
        shm.unlink_segment(name)

    def drain(self):
        """Unlink every pooled segment (a worker that went idle keeps no memory)."""
        with self.lock:
            names = [name for _, name in self.free]
            self.free, self.total = [], 0
        for name in names:
            self.unlink(name)

    def give(self, name, size):
        short = _memory_left_after(size) <= _RESERVE
        if short or size > POOL_BYTES or not os.path.exists(os.path.join(shm.SHM_DIR, name)):
            # (gone: unlinked with its session, and its kept mapping holds the pages)
            self.unlink(name)
            if short:  # keep nothing: the pool goes back to the kernel too
                self.drain()
            return
        with self.lock:
            self.free.append((size, name))
            self.total += size
            evicted = []
            while self.total > POOL_BYTES:
                old_size, old = self.free.pop(0)
                self.total -= old_size
                evicted.append(old)
        for old in evicted:
            self.unlink(old)


def _memory_left_after(size):
    return psutil.virtual_memory().available - size


_PHYS = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
POOL_BYTES = min(2 << 30, _PHYS // 8)  # the driver's (ray.put in a loop), per process
WORKER_POOL_BYTES = 256 << 20  # each worker's (worker.main): there may be dozens of them
_RESERVE = _PHYS // 4  # pool nothing while less than this much memory is available
_pool = _SegmentPool()
os.register_at_fork(after_in_child=_pool.__init__)  # a forked worker starts with none


def drain_segment_pool():
    """Unlink this process's pooled segments (see ``_SegmentPool``)."""
    _pool.drain()


def _release_segment(name, size, shared):
    """The last view of an owned segment is gone: pool it, or unlink it if it was shared."""
    if shared[0]:
        _pool.unlink(name)
    else:
        _pool.give(name, size)


def own_segment(frame, name):
    """``frame`` copied into a segment this process owns (pooled pages, a kept mapping: see
    ``_SegmentPool``), opened as the owned frame that replaces it (``open_frame(take=True)``,
    with ``frame``'s refs): ``ray.put`` of a large value, a large pickled function."""
    g = open_frame(frame.to_segment(name, keep_map=True), take=True)
    g.refs = frame.refs
    return g


def decode(view, refs=()):
    """Frame over the memory ``view`` (bytes, or a memoryview of a mapped segment): no copy."""
    view = memoryview(view)
    nbuf, mlen = _HDR.unpack_from(view, 0)
    lens = [_LEN.unpack_from(view, 8 + 8 * i)[0] for i in range(nbuf)]
    pos = 8 + 8 * nbuf
    meta = view[pos:pos + mlen]
    pos += mlen
    bufs = []
    for n in lens:
        pos = _pad(pos, _ALIGN)
        bufs.append(view[pos:pos + n])
        pos += n
    return Frame(meta, bufs, refs)


def open_frame(name, take):
    """Map the segment ``name`` read-only; ``take``: this process now owns it (it is pooled
    or unlinked once the frame and every NumPy view of it are gone: see ``Frame``)."""
    mm = shm.open_segment(name, readonly=True)
    if take:
        # Every view of the frame (its memoryviews, the arrays unpickled over them) keeps
        # ``owner`` alive, so its finalizer runs when the last of them is gone.
        owner = np.frombuffer(mm, dtype=np.uint8)
        f = decode(owner)
        f.shared = [False]
        weakref.finalize(owner, _release_segment, name, len(mm), f.shared)
    else:
        f = decode(memoryview(mm))
    f.segment = name
    return f


SMALL_ARRAY = 64 << 10  # bytes: NumPy arrays up to this size are pickled in band (see below)
_PLAIN_KINDS = frozenset("biufcmM")  # dtypes whose .str names them fully (no fields, no objects)
_dtype_strs = {}  # dtype -> its .str, or False if .str does not name it fully
_dtypes = {}  # .str -> dtype


def _array(data, dtype, shape):
    """Rebuild a small array pickled by ``_Pickler``: a read-only view of the pickle's bytes."""
    dt = _dtypes.get(dtype)
    if dt is None:
        dt = _dtypes[dtype] = np.dtype(dtype)
    return np.ndarray(shape, dt, data)


def _reduce_array(obj):
    s = _dtype_strs.get(obj.dtype)
    if s is None:
        dt = obj.dtype
        s = _dtype_strs[dt] = dt.str if dt.kind in _PLAIN_KINDS and dt.metadata is None \
            else False
    # (tobytes() copies in C order; a Fortran-ordered array keeps NumPy's path and its order)
    if s and obj.nbytes <= SMALL_ARRAY and (obj.ndim < 2 or obj.flags.c_contiguous):
        return _array, (obj.tobytes(), s, obj.shape)
    return obj.__reduce_ex__(5)


# ``_array`` is pickled as an extension code (4 bytes) instead of its module and name: the
# unpickler then finds it in copyreg's cache instead of importing by name (a third of the cost
# of loading a step's result). Every rayreact process imports this module, so every reader
# knows the code; it is an arbitrary 31-bit number, unlikely to meet another registration.
_ARRAY_EXTENSION = 0x5EA1_A77A
try:
    copyreg.add_extension(__name__, "_array", _ARRAY_EXTENSION)
except ValueError:  # taken (or registered already): pickle it by name
    pass

# The C module (``_compiled.c``, built by setup.py where it can be; RAYREACT_C=0: not used)
# also pickles plain values (builtin types and small arrays, as _Pickler does) in one call
# (``encode``); the pickler handles everything else. slots.py takes its compiled paths.
c_module = None
if os.environ.get("RAYREACT_C", "1") != "0":
    try:
        from rayreact._private import _compiled as c_module
    except ImportError:
        pass
_encode = None
if c_module is not None:
    _ext = _ARRAY_EXTENSION if copyreg._extension_registry.get((__name__, "_array")) \
        == _ARRAY_EXTENSION else 0
    c_module.plain_config(np.ndarray, _dtype_strs, _ext, SMALL_ARRAY)
    _encode = c_module.encode


class _Dispatch(dict):
    """A pickler's own dispatch table replaces copyreg's: types registered there (by the
    program, at any time) are looked up on a miss."""

    def __missing__(self, cls):
        return copyreg.dispatch_table[cls]  # KeyError: no reducer registered


class _Pickler(pickle.Pickler):
    """Plain pickle, plus a cheaper form for small NumPy arrays.

    NumPy's own reduction pickles the dtype as an object (several microseconds per array,
    which dominated the cost of an RL step's result, a few floats). A small C-contiguous array
    of a plain dtype goes as (bytes, dtype string, shape) instead; it comes back as a read-only
    view, as out-of-band arrays do. Large arrays keep the out-of-band path (no copy). A
    ``dispatch_table`` entry (exact type ``np.ndarray``) rather than ``reducer_override``: the
    latter is a Python call for every object pickled, the former for arrays only.
    """

    dispatch_table = _Dispatch({np.ndarray: _reduce_array})


class _PicklerState:
    """One reusable pickler writing into one reusable buffer (building a Pickler per call
    costs more than pickling a small value). Taken from a free list, so nested and
    concurrent serialize() calls each get their own."""

    __slots__ = ("out", "buffers", "pickler")

    def __init__(self):
        self.out = io.BytesIO()
        self.buffers = []
        self.pickler = _Pickler(self.out, protocol=5, buffer_callback=self.buffers.append)

    def dumps(self, value):
        out, p = self.out, self.pickler
        out.seek(0)
        out.truncate()
        p.clear_memo()
        p.dump(value)
        buffers = self.buffers[:]
        self.buffers.clear()
        return out.getvalue(), buffers


_picklers = []


def serialize(value):
    """Pickle ``value`` (protocol 5, out-of-band buffers) into a Frame.

    Raises:
        TypeError: the value cannot be pickled; the message names the value's type.
    """
    if _encode is not None:  # builtin values and small arrays: one C call (see _compiled.c)
        b = _encode(value)
        if b is not None:
            return Frame(b, [], [])
    buffers = []
    refs = []
    _collecting.append(refs)
    state = _picklers.pop() if _picklers else _PicklerState()
    try:
        # Plain pickle is several times cheaper per call than building a CloudPickler. It is
        # right unless the value refers to something defined in __main__ (which the worker
        # cannot import) or to a lambda / local function (plain pickle fails): then cloudpickle,
        # which sends those by value.
        try:
            meta, buffers = state.dumps(value)
            if _MAIN in meta:
                raise pickle.PicklingError("refers to __main__")
        except Exception:
            state = None  # a pickler that failed mid-stream is not reused
            buffers = []
            del refs[:]
            f = io.BytesIO()
            cloudpickle.CloudPickler(f, protocol=5, buffer_callback=buffers.append).dump(value)
            meta = f.getbuffer()
    except Exception as e:
        raise TypeError(
            f"Could not serialize the argument {_short_repr(value)} of type "
            f"{type(value).__name__} to send it to another process: {e}") from e
    finally:
        _collecting.pop()
        if state is not None:
            _picklers.append(state)
    return Frame(meta, [b.raw() for b in buffers], refs)


_MAIN = b"__main__"


def serialize_plain(value):
    """The fast case of ``serialize`` (a compiled step's argument or result, every step):
    the bare pickle stream of ``value`` (bytes) if it has no out-of-band buffer and no ref;
    else the Frame ``serialize`` would make (so nothing is pickled twice); None if it needs
    cloudpickle or does not pickle (``serialize`` then says why)."""
    if _encode is not None:  # values of builtin types and small arrays: one C call
        b = _encode(value)
        if b is not None:
            return b
    return pickle_plain(value)


def pickle_plain(value):
    """``serialize_plain`` by the pickler: for what the C encoder leaves (the actor's C loop
    calls it after its own encoding failed)."""
    refs = []
    _collecting.append(refs)
    state = _picklers.pop() if _picklers else _PicklerState()
    try:
        meta, buffers = state.dumps(value)
    except Exception:  # noqa: BLE001 - serialize() says what failed
        return None
    finally:
        _collecting.pop()
    _picklers.append(state)
    if _MAIN in meta:
        return None
    if buffers or refs:
        return Frame(meta, [b.raw() for b in buffers], refs)
    return meta


_ATOMS = frozenset((str, int, float, bool, type(None), bytes))


def serialize_args(args, kwargs):
    """``serialize_plain((args, kwargs))`` of a call's arguments; for the common call whose
    positional arguments are all str, int, float, bool, None or bytes, ``pickle.dumps``
    straight away (one C call: none of them can hold a ref, an array or a __main__ object)
    where the C encoder is not built, or left them (an int beyond 64 bits)."""
    if _encode is not None:
        b = _encode((args, kwargs))
        if b is not None:
            return b
    if not kwargs:
        for a in args:
            if type(a) not in _ATOMS:
                break
        else:
            return pickle.dumps((args, kwargs), protocol=5)
    return pickle_plain((args, kwargs))


def deserialize(frame):
    return pickle.loads(frame.meta, buffers=frame.buffers)


def dumps(obj):
    """Small internal control tuples (ints, strings): plain pickle, fastest."""
    return pickle.dumps(obj, protocol=5)


def _short_repr(v):
    r = repr(v)
    return r if len(r) < 80 else r[:77] + "..."


# -- functions and classes ---------------------------------------------------------------------
# cloudpickle (3.1 on) names the code of what it pickles by value (functions and classes
# defined in __main__) "<dynamic-code>", so a remote traceback would show no file and no source
# line. Ray's shows them: the frame carries the file, and the worker gives it back.
_DYNAMIC = "<dynamic-code>"


def serialize_code(obj):
    """Frame of a function or class (a remote function, an actor class) and its source file."""
    return serialize((obj, _source_file(obj)))


def deserialize_code(frame):
    """The function or class of a ``serialize_code`` frame, its code named after its file."""
    obj, filename = deserialize(frame)
    if filename:
        _restore_files(obj, filename, set())
    return obj


def _source_file(obj):
    fns = [obj] if isinstance(obj, types.FunctionType) else \
        [_unwrap(v) for v in vars(obj).values()] if isinstance(obj, type) else []
    return next((f.__code__.co_filename for f in fns if isinstance(f, types.FunctionType)), None)


def _unwrap(v):
    return v.__func__ if isinstance(v, (staticmethod, classmethod)) else v


def _restore_files(obj, filename, seen):
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, type):
        for v in vars(obj).values():
            _restore_files(_unwrap(v), filename, seen)
    elif isinstance(obj, types.FunctionType) and obj.__code__.co_filename == _DYNAMIC:
        obj.__code__ = _with_file(obj.__code__, filename)
        g = obj.__globals__
        for name in obj.__code__.co_names:  # helpers it calls, pickled with it
            v = g.get(name)
            if isinstance(v, (types.FunctionType, type)):
                _restore_files(v, filename, seen)


def _with_file(code, filename):
    consts = tuple(_with_file(c, filename) if isinstance(c, types.CodeType) else c
                   for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)
