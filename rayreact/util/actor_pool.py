"""A fixed pool of actors that work is spread over.

Mirrors ``ray.util.ActorPool`` (Ray 2.60.0): same public methods, same arguments, same
results and the same exceptions, built on the public ``rayreact.get`` / ``rayreact.wait``.
"""

import time
from typing import Any, Callable, Dict, Hashable, List, Optional, Tuple, TypeVar

import rayreact

__all__ = ["ActorPool"]

V = TypeVar("V")

_TIMEOUT_MSG = "Timed out waiting for result"


def _key(future) -> Hashable:
    """Dictionary key of a submitted future (a list of refs becomes a tuple)."""
    return tuple(future) if isinstance(future, list) else future


def _refs(future) -> list:
    """The object refs a submitted future consists of."""
    return list(future) if isinstance(future, (list, tuple)) else [future]


class ActorPool:
    """Spread work over a fixed set of actors, one call per actor at a time.

    Mirrors ray.util.ActorPool (Ray 2.60.0).

    A submitted value goes to an idle actor at once; when every actor is busy it waits in a
    FIFO backlog and is handed to the next actor that is returned to the pool, which happens
    when that actor's result is collected with ``get_next``/``get_next_unordered``.

    Args:
        actors (list): actor handles the pool owns (copied; the list itself is not kept).

    Example:
        >>> pool = ActorPool([Doubler.remote(), Doubler.remote()])
        >>> list(pool.map(lambda a, v: a.double.remote(v), [1, 2, 3, 4]))
        [2, 4, 6, 8]
    """

    def __init__(self, actors: list):
        self._idle_actors: List[Any] = list(actors)
        # key of an in-flight future -> (its submission index, the actor running it)
        self._future_to_actor: Dict[Hashable, Tuple[int, Any]] = {}
        # submission index -> future (an ObjectRef, or the list fn returned)
        self._index_to_future: Dict[int, Any] = {}
        self._next_task_index = 0
        self._next_return_index = 0
        # (fn, value) pairs waiting for a free actor, oldest first
        self._pending_submits: List[Tuple[Callable, Any]] = []

    # ------------------------------------------------------------------ bulk helpers
    def map(self, fn: Callable[[Any, V], Any], values: List[V]):
        """Apply ``fn`` over ``values`` using the actors; results come back in input order.

        Results of earlier submissions that were never collected are dropped first. The work
        runs lazily as the returned iterator is consumed: iterate it to completion.

        Args:
            fn (Callable[[ActorHandle, V], ObjectRef]): called as ``fn(actor, value)``; must
                start the work (e.g. ``actor.method.remote(value)``) and return its
                ``ObjectRef`` (or a list of refs). The actor stays busy until it completes.
            values (Iterable[V]): the inputs.

        Returns:
            Iterator: yields the results in the order of ``values``.

        Raises:
            Whatever ``rayreact.get`` raises for a result (e.g. ``RayTaskError``), when that
            result is reached by the iterator.
        """
        self._drop_uncollected(ordered=True)
        for v in values:
            self.submit(fn, v)

        def _results():
            while self.has_next():
                yield self.get_next()

        return _results()

    def map_unordered(self, fn: Callable[[Any, V], Any], values: List[V]):
        """Like :meth:`map`, but yields each result as soon as it is ready.

        Args:
            fn (Callable[[ActorHandle, V], ObjectRef]): as for :meth:`map`.
            values (Iterable[V]): the inputs.

        Returns:
            Iterator: yields the results in completion order (not input order).

        Raises:
            Whatever ``rayreact.get`` raises for a result, when that result is reached.
        """
        self._drop_uncollected(ordered=False)
        for v in values:
            self.submit(fn, v)

        def _results():
            while self.has_next():
                yield self.get_next_unordered()

        return _results()

    def _drop_uncollected(self, ordered: bool) -> None:
        # Results of earlier submit() calls that were never fetched are thrown away before a
        # new map starts, as in Ray: map() drops unfinished ones at once (their actors go back
        # to the pool), map_unordered() waits for each of them. Ray polls with timeout=0 in a
        # loop for the latter; a blocking wait gives the same outcome without spinning. An
        # error of a finished dropped task propagates, as in Ray.
        while self.has_next():
            if ordered:
                try:
                    self.get_next(timeout=0, ignore_if_timedout=True)
                except TimeoutError:
                    pass
            else:
                self.get_next_unordered()

    # ------------------------------------------------------------------ single items
    def submit(self, fn: Callable[[Any, V], Any], value: V) -> None:
        """Schedule ``fn(actor, value)`` on an idle actor, or queue it until one is free.

        Args:
            fn (Callable[[ActorHandle, V], ObjectRef]): as for :meth:`map`.
            value (V): the input.

        Returns:
            None. Fetch the result with :meth:`get_next` or :meth:`get_next_unordered`.
        """
        if not self._idle_actors:
            self._pending_submits.append((fn, value))
            return
        actor = self._idle_actors.pop()
        future = fn(actor, value)
        index = self._next_task_index
        self._future_to_actor[_key(future)] = (index, actor)
        self._index_to_future[index] = future
        self._next_task_index += 1

    def has_next(self) -> bool:
        """Whether a submitted result is still waiting to be fetched.

        Returns:
            bool: True if some dispatched task's result has not been returned yet. (Values
            still waiting for a free actor do not count, exactly as in Ray.)
        """
        return bool(self._future_to_actor)

    def get_next(self, timeout: Optional[float] = None, ignore_if_timedout: bool = False):
        """Return the result of the oldest submission not yet returned (submission order).

        Args:
            timeout (float | None): seconds to wait for it; ``None`` waits forever.
            ignore_if_timedout (bool): on timeout, also drop that submission (its actor is
                returned to the pool at once) before raising, so the next call moves on.

        Returns:
            Any: the value of the task's ``ObjectRef`` (a list for a list of refs).

        Raises:
            StopIteration: nothing is left to fetch ("No more results to get").
            ValueError: :meth:`get_next_unordered` already returned a later result, so the
                ordered position is gone.
            TimeoutError: the result was not ready within ``timeout`` (the builtin
                ``TimeoutError``, as in Ray).
            rayreact.exceptions.RayTaskError / ActorDiedError / ...: as raised by
                ``rayreact.get`` for the result. An actor found dead is removed from the pool.
        """
        if not self.has_next():
            raise StopIteration("No more results to get")
        if self._next_return_index >= self._next_task_index:
            raise ValueError(
                "It is not allowed to call get_next() after get_next_unordered()."
            )
        future = self._index_to_future[self._next_return_index]
        timed_out = False
        if timeout is not None:
            refs = _refs(future)
            ready, _ = rayreact.wait(refs, num_returns=len(refs), timeout=timeout)
            if len(ready) < len(refs):
                if not ignore_if_timedout:
                    raise TimeoutError(_TIMEOUT_MSG)
                timed_out = True
        del self._index_to_future[self._next_return_index]
        self._next_return_index += 1
        _, actor = self._future_to_actor.pop(_key(future))
        if timed_out:
            # As in Ray, the actor goes back to the pool although its call still runs.
            self._return_actor(actor)
            raise TimeoutError(f"{_TIMEOUT_MSG}. The task {future} has been ignored.")
        return self._get_result(future, actor)

    def get_next_unordered(
        self, timeout: Optional[float] = None, ignore_if_timedout: bool = False
    ):
        """Return the result of any finished submission (the first ready one found).

        Args:
            timeout (float | None): seconds to wait for some result; ``None`` waits forever.
            ignore_if_timedout (bool): on timeout, drop the oldest outstanding submission
                (its actor is returned to the pool) before raising. (Ray 2.60 raises
                ``UnboundLocalError`` here because of a bug; this drops the oldest instead.)

        Returns:
            Any: the value of a finished task.

        Raises:
            StopIteration: nothing is left to fetch ("No more results to get").
            TimeoutError: no result was ready within ``timeout`` (the builtin one).
            rayreact.exceptions.RayTaskError / ActorDiedError / ...: as raised by
                ``rayreact.get`` for the result. An actor found dead is removed from the pool.
        """
        if not self.has_next():
            raise StopIteration("No more results to get")
        key = self._first_ready(timeout)
        timed_out = key is None
        if timed_out:
            if not ignore_if_timedout:
                raise TimeoutError(_TIMEOUT_MSG)
            key = min(self._future_to_actor, key=lambda k: self._future_to_actor[k][0])
        index, actor = self._future_to_actor.pop(key)
        future = self._index_to_future.pop(index)
        self._next_return_index = max(self._next_return_index, index + 1)
        if timed_out:
            self._return_actor(actor)
            raise TimeoutError(f"{_TIMEOUT_MSG}. The task {future} has been ignored.")
        return self._get_result(future, actor)

    def _first_ready(self, timeout: Optional[float]) -> Optional[Hashable]:
        """Key of a completed in-flight future (oldest first among ready), None on timeout."""
        keys = list(self._future_to_actor)
        if not any(isinstance(k, tuple) for k in keys):
            ready, _ = rayreact.wait(keys, num_returns=1, timeout=timeout)
            return ready[0] if ready else None
        # Some futures are lists of refs: one is complete when all of its refs are.
        flat = list(dict.fromkeys(r for k in keys for r in _refs(k)))
        deadline = None if timeout is None else time.monotonic() + timeout
        want = 1
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _ = rayreact.wait(flat, num_returns=want, timeout=remaining)
            done = set(ready)
            for k in keys:
                if all(r in done for r in _refs(k)):
                    return k
            if len(ready) < want:
                return None
            want = len(ready) + 1

    def _get_result(self, future, actor):
        from rayreact.exceptions import ActorDiedError

        alive = True
        try:
            return rayreact.get(future)
        except ActorDiedError:
            alive = False
            raise
        finally:
            self._return_actor(actor, alive=alive)

    def _return_actor(self, actor, alive: bool = True) -> None:
        # A dead actor is not put back: submit() would keep choosing it.
        if alive:
            self._idle_actors.append(actor)
        if self._pending_submits and self._idle_actors:
            self.submit(*self._pending_submits.pop(0))

    # ------------------------------------------------------------------ membership
    def has_free(self) -> bool:
        """Whether an actor is idle and no submission is waiting for one.

        Returns:
            bool: True if :meth:`submit` would start work at once.
        """
        return bool(self._idle_actors) and not self._pending_submits

    def pop_idle(self):
        """Remove an idle actor from the pool and return it.

        Returns:
            ActorHandle | None: an idle actor, or None when :meth:`has_free` is False.
        """
        if self.has_free():
            return self._idle_actors.pop()
        return None

    def push(self, actor) -> None:
        """Add an actor to the pool (it may start a waiting submission at once).

        Args:
            actor (ActorHandle): the actor to add.

        Raises:
            ValueError: the actor is already in the pool, idle or busy
                ("Actor already belongs to current ActorPool").
        """
        busy = [a for _, a in self._future_to_actor.values()]
        if actor in self._idle_actors or actor in busy:
            raise ValueError("Actor already belongs to current ActorPool")
        self._return_actor(actor)
