"""Ray's ID types, as the deprecated ``RuntimeContext`` properties (``job_id``, ``task_id``...)
and ``ActorHandle._actor_id`` return them (mirror ``ray._raylet.JobID`` etc., Ray 2.60.0).

An ID is its bytes, shown in hex: ``JobID(01000000)``. IDs of the same type and bytes are equal
(an ID never equals its hex string, as in Ray). A *nil* ID is all ``ff`` bytes, as Ray's.
These are rayreact's classes: ``rayreact.JobID`` and the like are Ray's (forwarded), so
``isinstance`` against them does not hold.
"""


class BaseID:
    """An ID: ``hex()``, ``binary()``, ``size()``, ``is_nil()``; ``nil()`` makes the nil one."""

    __slots__ = ("_hex",)
    SIZE = 0  # bytes

    def __init__(self, hex_id: str):
        self._hex = hex_id

    @classmethod
    def nil(cls):
        return cls("ff" * cls.SIZE)

    def hex(self) -> str:
        return self._hex

    def binary(self) -> bytes:
        return bytes.fromhex(self._hex)

    def size(self) -> int:
        return len(self._hex) // 2

    def is_nil(self) -> bool:
        return self._hex == "ff" * self.size()

    def __eq__(self, other):
        return type(other) is type(self) and other._hex == self._hex

    def __hash__(self):
        return hash((type(self).__name__, self._hex))

    def __repr__(self):
        return f"{type(self).__name__}({self._hex})"

    __str__ = __repr__

    def __reduce__(self):
        return type(self), (self._hex,)


class JobID(BaseID):
    __slots__ = ()
    SIZE = 4


class NodeID(BaseID):
    __slots__ = ()
    SIZE = 28


class ActorID(BaseID):
    __slots__ = ()
    SIZE = 16


class TaskID(BaseID):
    __slots__ = ()
    SIZE = 24


class PlacementGroupID(BaseID):
    __slots__ = ()
    SIZE = 18
