"""``ObjectRef``: what the user holds for a value that is, or will be, somewhere.

An object id is an int: ``(owner process id << 64) | counter``. The owner is the process that
created the ref (the caller of ``.remote()`` or of ``put``); it keeps the value (or knows it is
pending) and answers other processes that borrow the ref. Creating and dropping a ref counts up
and down in the local runtime's table; the count reaching zero frees the value.
"""

from rayreact._private import serialization

_runtime = None  # the process's Runtime, set by runtime.set_runtime()


def owner_of(oid: int) -> int:
    return oid >> 64


class ObjectRef:
    """A reference to a (possibly pending) object (mirrors ``ray.ObjectRef``, Ray 2.60.0).

    Hashable and comparable; pass it to ``get``, ``wait``, ``cancel``, or as an argument to
    ``.remote()`` calls (top-level: replaced by its value; nested in a container: stays a ref).
    """

    __slots__ = ("_id", "__weakref__")

    def __init__(self, oid: int):
        self._id = oid
        _runtime._incref(oid)

    def __del__(self):
        rt = _runtime
        if rt is not None:
            try:
                rt._decref(self._id)
            except Exception:  # interpreter shutdown: nothing left to free
                pass

    def __reduce__(self):
        serialization.note_ref(self._id)
        return (_rebuild_ref, (self._id,))

    def binary(self) -> bytes:
        """28 bytes, as Ray's object ids (the id, zero-padded in front)."""
        return self._id.to_bytes(28, "big")

    def hex(self) -> str:
        """56 hex digits, as Ray's."""
        return self.binary().hex()

    def task_id(self):
        """The id of the call that makes this object: a ``TaskID``, the first 24 of the
        object id's 28 bytes (as Ray 2.60's ObjectRef.task_id)."""
        from rayreact._private.ids import TaskID

        return TaskID(self.binary()[:24].hex())

    def job_id(self):
        """The ``JobID`` of the program this object belongs to (as Ray 2.60's
        ObjectRef.job_id): on one machine, the running program's."""
        from rayreact._private.ids import JobID

        return JobID(_runtime.job_id)

    def size(self) -> int:
        """28: the bytes of an object id (as Ray's)."""
        return 28

    def is_nil(self) -> bool:
        """False: every ObjectRef names an object (Ray's nil id is all ff bytes)."""
        return False

    def __hash__(self):
        return hash(self._id)

    def __eq__(self, other):
        return isinstance(other, ObjectRef) and other._id == self._id

    def __repr__(self):
        return f"ObjectRef({self.hex()})"

    def future(self):
        """A ``concurrent.futures.Future`` completed with the value (or error) of this ref."""
        import concurrent.futures
        import threading

        fut = concurrent.futures.Future()

        def run():
            try:
                value = _runtime.get([self], None)[0]
            except BaseException as e:  # noqa: BLE001 - forwarded to the future
                value, error = None, e
            else:
                error = None
            try:
                if error is None:
                    fut.set_result(value)
                else:
                    fut.set_exception(error)
            except concurrent.futures.InvalidStateError:
                pass  # the waiter gave up and cancelled it (asyncio.wait_for's timeout)

        threading.Thread(target=run, daemon=True).start()
        return fut

    def as_future(self):
        """An ``asyncio.Future`` of this ref's value, on the running event loop (mirrors
        ``ray.ObjectRef.as_future``, Ray 2.x: ``asyncio.wrap_future(ref.future())``).
        Cancelling it does not cancel the task."""
        import asyncio

        return asyncio.wrap_future(self.future())

    def __await__(self):
        return self.as_future().__await__()


def _rebuild_ref(oid):
    return ObjectRef(oid)


class CompiledDAGRef:
    """The result of one ``CompiledDAG.execute`` (mirrors Ray 2.60's
    ``ray.experimental.compiled_dag_ref.CompiledDAGRef``): ``ray.get`` it once (alone, or in a
    list of CompiledDAGRefs only). As in Ray, it cannot be copied or pickled (so not passed to
    a task or an actor), and ``ray.wait`` does not take it: a program written against it runs
    on Ray's compiled graphs too.

    Raises (``get``):
        ValueError: ``get`` was called on it before.
    """

    __slots__ = ("_ref", "_got")

    def __init__(self, ref):
        self._ref = ref  # the ObjectRef of the graph's output slot for this tag
        self._got = False

    def __repr__(self):
        return f"CompiledDAGRef({self._ref.hex()})"

    def __copy__(self):
        raise ValueError("CompiledDAGRef cannot be copied.")

    def __deepcopy__(self, memo):
        raise ValueError("CompiledDAGRef cannot be deep copied.")

    def __reduce__(self):
        raise ValueError("CompiledDAGRef cannot be pickled.")

    def get(self, timeout=None):
        """The output's value (``ray.get(ref, timeout=...)`` calls this); seconds."""
        if self._got:
            raise ValueError("ray.get() can only be called once on a CompiledDAGRef, and it "
                             "was already called.")
        self._got = True
        return _runtime.get([self._ref], timeout)[0]
