"""``RemoteFunction``: what ``@rayreact.remote`` makes of a function (mirrors
``ray.remote_function.RemoteFunction``, Ray 2.60.0)."""

import functools
import inspect
import random

from rayreact._private import fallback as _fb
from rayreact._private import options as opts
from rayreact._private import serialization as ser


class RemoteFunction:
    """A function that runs as a task on the worker pool.

    ``f.remote(*args, **kwargs)`` returns an ``ObjectRef`` (a list of ``num_returns`` refs when
    ``num_returns`` > 1, None when it is 0). Calling ``f(...)`` directly raises TypeError.
    """

    def __init__(self, function, options):
        self._function = function
        self._function_name = f"{function.__module__}.{function.__qualname__}"
        self._is_generator = inspect.isgeneratorfunction(function) or \
            inspect.isasyncgenfunction(function)
        self._default_options = options
        self._key = random.getrandbits(63)
        self._frame = None  # the pickled function, made once on first use
        self._may_fall_back = _fb.maybe_task(function, options)  # options name a pattern?
        try:
            from rayreact._private.actor import CallCheck

            self._signature = CallCheck(inspect.signature(function))
        except (TypeError, ValueError):
            self._signature = None
        functools.update_wrapper(self, function)

    def __call__(self, *args, **kwargs):
        raise TypeError(
            "Remote functions cannot be called directly. Instead "
            f"of running '{self._function_name}()', "
            f"try '{self._function_name}.remote()'.")

    def options(self, **task_options):
        """Return a handle to this function with ``task_options`` overriding the defaults.

        Raises:
            ValueError: an unknown option, or a bad value (as Ray does: ``num_returns`` < 0,
                or ``"streaming"``/``"dynamic"`` for a function that is not a generator).
            TypeError: a wrongly typed value (a ``num_returns`` string other than those two).
        """
        opts.validate_task_options(task_options, in_options=True,
                                   is_generator=self._is_generator
                                   if "num_returns" in task_options else None)
        merged = dict(self._default_options, **task_options)
        parent = self

        class _Bound:
            def remote(self, *args, **kwargs):
                return parent._remote(args, kwargs, merged)

            def bind(self, *args, **kwargs):
                from rayreact import dag

                return dag.FunctionNode(self, args, kwargs)

        return _Bound()

    def remote(self, *args, **kwargs):
        return self._remote(args, kwargs, self._default_options)

    def bind(self, *args, **kwargs):
        """A graph node calling this function (mirrors ``RemoteFunction.bind``); see
        ``rayreact.dag``."""
        from rayreact import dag

        return dag.FunctionNode(self, args, kwargs)

    def _remote(self, args, kwargs, options):
        from rayreact._private import api

        from rayreact._private.actor import check_call

        check_call(self._signature, args, kwargs, self._function_name)
        if api._rt is None or _fb.active or self._may_fall_back or \
                options is not self._default_options and _fb.options_may_fall_back(options):
            out, args, kwargs = _fb.route_task(self, args, kwargs, options)
            if out is not _fb.REACTOR:  # the task runs on Ray
                return out
        rt = api._runtime_or_init()
        if self._frame is None:
            self._frame = _function_frame(rt, self._function)
        n = options.get("num_returns", 1)
        if n is None:
            n = 1
        if not isinstance(n, int):
            raise ValueError(f"num_returns={n!r} is not supported by rayreact yet; use an int.")
        retries = options.get("max_retries", 3)  # Ray's default for tasks
        refs = rt.submit(None, self._function_name, args, kwargs, n, self._frame, self._key,
                         name=options.get("name"), retries=3 if retries is None else retries)
        if n == 1:
            return refs[0]
        if n == 0:
            return None
        return refs

    def __getstate__(self):
        d = self.__dict__.copy()
        d["_frame"] = None
        return d


def _function_frame(rt, function):
    """The pickled function. A big one (closures over large arrays) is put in a segment once
    and every task names it, instead of copying it into each task's record."""
    f = ser.serialize_code(function)
    if f.nbytes > ser.SEGMENT_THRESHOLD:
        f = ser.own_segment(f, f"{rt._seg_prefix()}fn{random.getrandbits(32):x}")
    return f
