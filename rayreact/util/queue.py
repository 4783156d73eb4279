"""A FIFO queue shared between the driver, tasks and actors.

Mirrors ``ray.util.queue`` (Ray 2.60.0): ``Queue`` with the same methods, arguments and
exceptions (``Empty``/``Full``, subclasses of the standard library's ``queue.Empty`` /
``queue.Full``).

How it differs inside: Ray keeps the items in an *async* actor whose blocking ``put``/``get``
wait in the actor. rayreact actors are synchronous, so here the actor only offers
non-blocking operations and a blocking ``put``/``get`` retries the non-blocking one from the
caller's side with a short, growing pause (0.5 ms doubling up to 20 ms), until it succeeds
or ``timeout`` expires. Consequences: several blocked consumers are not served in arrival
order (Ray does not promise that either), and ``timeout=0`` means "try once" (Ray 2.60 on
Python 3.11 raises ``Empty``/``Full`` for ``timeout=0`` even when an item/slot is there).
"""

import asyncio
import collections
import queue
import time
from collections.abc import Iterable
from typing import Any, Callable, Dict, List, Optional, Tuple

import rayreact

__all__ = ["Queue", "Empty", "Full"]

_FIRST_PAUSE_S = 0.0005
_MAX_PAUSE_S = 0.02


class Empty(queue.Empty):
    """Raised by ``get``-type calls when no item is available (a ``queue.Empty``)."""


class Full(queue.Full):
    """Raised by ``put``-type calls when the queue has no room (a ``queue.Full``)."""


class _QueueActor:
    """Holds the items. Every method returns at once (no blocking in the actor)."""

    # Runs its calls in arrival order even when several processes use the queue (Ray's is an
    # async actor, outside the deterministic subset): producers and consumers that wait for
    # each other by polling need each other's calls as they come.
    __rayreact_arrival_order__ = True

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self.items = collections.deque()

    def qsize(self) -> int:
        return len(self.items)

    def empty(self) -> bool:
        return not self.items

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self.items)

    def try_put(self, item) -> bool:
        if self.full():
            return False
        self.items.append(item)
        return True

    def try_get(self) -> Tuple[bool, Any]:
        if not self.items:
            return False, None
        return True, self.items.popleft()

    def put_batch(self, items) -> Optional[str]:
        """Append all of ``items`` or none; returns an error text when they do not fit."""
        if self.maxsize > 0 and len(items) + len(self.items) > self.maxsize:
            return (
                f"Cannot add {len(items)} items to queue of size "
                f"{len(self.items)} and maxsize {self.maxsize}."
            )
        self.items.extend(items)
        return None

    def get_batch(self, num_items: int) -> Tuple[bool, Any]:
        """Pop ``num_items`` items, or none (then the second value is an error text)."""
        if num_items > len(self.items):
            return False, (
                f"Cannot get {num_items} items from queue of size {len(self.items)}."
            )
        return True, [self.items.popleft() for _ in range(num_items)]


_remote_queue_actor = None


def _queue_actor_class():
    global _remote_queue_actor
    if _remote_queue_actor is None:
        _remote_queue_actor = rayreact.remote(_QueueActor)
    return _remote_queue_actor


def _check_timeout(timeout: Optional[float]) -> None:
    if timeout is not None and timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")


def _retry(attempt: Callable[[], Tuple[bool, Any]], timeout: Optional[float], error):
    """Call ``attempt`` until it succeeds, pausing between tries; raise ``error()`` on
    timeout."""
    ok, value = attempt()
    if ok:
        return value
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = _FIRST_PAUSE_S
    while True:
        if deadline is None:
            time.sleep(pause)
        else:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise error()
            time.sleep(min(pause, remaining))
        pause = min(pause * 2, _MAX_PAUSE_S)
        ok, value = attempt()
        if ok:
            return value


def _actor_error(error_cls, method, *args):
    """A factory of the error Ray's queue raises *inside its actor* (a timeout that expired,
    a batch that does not fit), which therefore reaches the caller as a ``RayTaskError``
    that is also an ``error_cls`` (``except Full`` and ``except RayTaskError`` both catch it).
    Ray raises the non-blocking forms' errors in the caller: those stay plain."""

    def make():
        from rayreact.exceptions import RayTaskError

        cause = error_cls(*args)
        text = f"{error_cls.__module__}.{error_cls.__qualname__}: {cause}".rstrip(": ")
        return RayTaskError(f"_QueueActor.{method}", text, cause,
                            actor_repr="_QueueActor").as_instanceof_cause()

    return make


async def _await_ref(ref):
    """Value of ``ref`` without blocking the event loop."""
    if hasattr(ref, "__await__"):
        return await ref
    pause = _FIRST_PAUSE_S
    while not rayreact.wait([ref], timeout=0)[0]:
        await asyncio.sleep(pause)
        pause = min(pause * 2, _MAX_PAUSE_S)
    return rayreact.get(ref)


async def _retry_async(attempt, timeout: Optional[float], error):
    """Async form of :func:`_retry`; ``attempt`` is a coroutine function."""
    ok, value = await attempt()
    if ok:
        return value
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = _FIRST_PAUSE_S
    while True:
        if deadline is None:
            await asyncio.sleep(pause)
        else:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise error()
            await asyncio.sleep(min(pause, remaining))
        pause = min(pause * 2, _MAX_PAUSE_S)
        ok, value = await attempt()
        if ok:
            return value


class Queue:
    """A first-in, first-out queue whose items live in an actor.

    Mirrors ray.util.queue.Queue (Ray 2.60.0). The object can be passed to tasks and actors
    (it pickles as its actor handle and ``maxsize``); all copies use the same items.

    Args:
        maxsize (int): capacity; ``0`` (or negative) means unbounded.
        actor_options (dict | None): passed to ``.options(...)`` of the queue's actor,
            e.g. ``{"num_cpus": 0}``.

    Attributes:
        maxsize (int): the capacity given.
        actor (ActorHandle | None): the actor holding the items; None after ``shutdown``.
    """

    def __init__(self, maxsize: int = 0, actor_options: Optional[Dict] = None) -> None:
        actor_options = actor_options or {}
        self.maxsize = maxsize
        self.actor = _queue_actor_class().options(**actor_options).remote(self.maxsize)

    # ------------------------------------------------------------------ size
    def __len__(self) -> int:
        return self.size()

    def size(self) -> int:
        """Number of items in the queue.

        Returns:
            int
        """
        return rayreact.get(self.actor.qsize.remote())

    def qsize(self) -> int:
        """Number of items in the queue (same as :meth:`size`).

        Returns:
            int
        """
        return self.size()

    def empty(self) -> bool:
        """Whether the queue holds no item.

        Returns:
            bool
        """
        return rayreact.get(self.actor.empty.remote())

    def full(self) -> bool:
        """Whether the queue is at ``maxsize`` (always False when unbounded).

        Returns:
            bool
        """
        return rayreact.get(self.actor.full.remote())

    # ------------------------------------------------------------------ put
    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        """Append ``item``; when full and ``block``, wait for room up to ``timeout`` seconds.

        Args:
            item (Any): the item (must be serialisable).
            block (bool): wait for room when full; if False, fail at once.
            timeout (float | None): seconds to wait when blocking; ``None`` waits forever.

        Returns:
            None

        Raises:
            Full: the queue is full and ``block`` is False, or (a ``RayTaskError`` that is
                also a ``Full``, as Ray's) it stayed full for ``timeout``.
            ValueError: ``block`` is True and ``timeout`` is negative.
        """
        if not block:
            if not rayreact.get(self.actor.try_put.remote(item)):
                raise Full
            return
        _check_timeout(timeout)
        _retry(lambda: (rayreact.get(self.actor.try_put.remote(item)), None), timeout,
               _actor_error(Full, "put"))

    async def put_async(
        self, item: Any, block: bool = True, timeout: Optional[float] = None
    ) -> None:
        """Coroutine form of :meth:`put` (waits without blocking the event loop).

        Args, Returns and Raises: as for :meth:`put`.
        """
        if not block:
            if not await _await_ref(self.actor.try_put.remote(item)):
                raise Full
            return
        _check_timeout(timeout)

        async def attempt():
            return await _await_ref(self.actor.try_put.remote(item)), None

        await _retry_async(attempt, timeout, _actor_error(Full, "put"))

    def put_nowait(self, item: Any) -> None:
        """Same as ``put(item, block=False)``.

        Raises:
            Full: the queue is full.
        """
        return self.put(item, block=False)

    def put_nowait_batch(self, items: Iterable) -> None:
        """Append all of ``items`` in order, or none of them.

        Args:
            items (Iterable): a sized, serialisable collection (e.g. a list or tuple).

        Returns:
            None

        Raises:
            TypeError: ``items`` is not iterable (or cannot be serialised, e.g. a generator).
            Full: (a ``RayTaskError`` that is also a ``Full``, as Ray's) the items would not
                all fit; nothing is added.
        """
        if not isinstance(items, Iterable):
            raise TypeError("Argument 'items' must be an Iterable")
        error = rayreact.get(self.actor.put_batch.remote(items))
        if error is not None:
            raise _actor_error(Full, "put_nowait_batch", error)()

    # ------------------------------------------------------------------ get
    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        """Remove and return the oldest item; when empty and ``block``, wait for one.

        Args:
            block (bool): wait when empty; if False, fail at once.
            timeout (float | None): seconds to wait when blocking; ``None`` waits forever.

        Returns:
            Any: the item.

        Raises:
            Empty: the queue is empty and ``block`` is False, or (a ``RayTaskError`` that
                is also an ``Empty``, as Ray's) it stayed empty for
                ``timeout``.
            ValueError: ``block`` is True and ``timeout`` is negative.
        """
        if not block:
            ok, item = rayreact.get(self.actor.try_get.remote())
            if not ok:
                raise Empty
            return item
        _check_timeout(timeout)
        return _retry(lambda: rayreact.get(self.actor.try_get.remote()), timeout,
                      _actor_error(Empty, "get"))

    async def get_async(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        """Coroutine form of :meth:`get` (waits without blocking the event loop).

        Args, Returns and Raises: as for :meth:`get`.
        """
        if not block:
            ok, item = await _await_ref(self.actor.try_get.remote())
            if not ok:
                raise Empty
            return item
        _check_timeout(timeout)

        async def attempt():
            return await _await_ref(self.actor.try_get.remote())

        return await _retry_async(attempt, timeout, _actor_error(Empty, "get"))

    def get_nowait(self) -> Any:
        """Same as ``get(block=False)``.

        Raises:
            Empty: the queue is empty.
        """
        return self.get(block=False)

    def get_nowait_batch(self, num_items: int) -> List[Any]:
        """Remove and return the ``num_items`` oldest items, or none of them.

        Args:
            num_items (int): how many; ``0`` returns ``[]``.

        Returns:
            list: the items, oldest first.

        Raises:
            TypeError: ``num_items`` is not an int.
            ValueError: ``num_items`` is negative.
            Empty: (a ``RayTaskError`` that is also an ``Empty``, as Ray's) fewer than
                ``num_items`` items are queued; nothing is removed.
        """
        if not isinstance(num_items, int):
            raise TypeError("Argument 'num_items' must be an int")
        if num_items < 0:
            raise ValueError("'num_items' must be nonnegative")
        ok, result = rayreact.get(self.actor.get_batch.remote(num_items))
        if not ok:
            raise _actor_error(Empty, "get_nowait_batch", result)()
        return result

    # ------------------------------------------------------------------ end
    def shutdown(self, force: bool = False, grace_period_s: int = 5) -> None:
        """End the queue's actor; the items are lost and ``self.actor`` becomes None.

        Args:
            force (bool): kill the actor at once. Otherwise calls already sent to it from
                this handle are given up to ``grace_period_s`` seconds to finish first.
            grace_period_s (float): the grace period when ``force`` is False.

        Returns:
            None. Calling it again does nothing.
        """
        if self.actor is not None:
            if not force:
                # The actor runs one caller's calls in order: once this one is done, every
                # call sent before it is done too.
                rayreact.wait([self.actor.qsize.remote()], timeout=grace_period_s)
            rayreact.kill(self.actor, no_restart=True)
        self.actor = None
