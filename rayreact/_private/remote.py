"""``remote``: the decorator that makes remote functions and actor classes (mirrors
``ray.remote``, Ray 2.60.0)."""

import inspect

from rayreact._private import options as opts
from rayreact._private.actor import ActorClass
from rayreact._private.remote_function import RemoteFunction


def _make_remote(target, options):
    if inspect.isfunction(target) or inspect.isbuiltin(target):
        generator = inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target)
        opts.validate_task_options(options, in_options=False, is_generator=generator,
                                   stacklevel=5)  # (the user's @remote(...))
        return RemoteFunction(target, options)
    if inspect.isclass(target):
        opts.validate_actor_options(options, in_options=False)
        return ActorClass(target, options)
    raise TypeError("The @ray.remote decorator must be applied to either a function or a class.")


def remote(*args, **kwargs):
    """Make a function a remote function or a class an actor class.

    Forms: ``@remote``, ``@remote(num_cpus=1, ...)``, ``remote(fn_or_class)``,
    ``remote(**options)(fn_or_class)``.

    Returns:
        RemoteFunction or ActorClass.
    Raises:
        TypeError: applied to something that is neither a function nor a class, or called with
            positional arguments and options at once.
        ValueError: an unknown option, or a bad value (``num_returns`` < 0, or
            ``"streaming"``/``"dynamic"`` for a function that is not a generator).
    """
    if len(args) == 1 and not kwargs and callable(args[0]):
        return _make_remote(args[0], {})
    if args or not kwargs:  # Ray 2.60 checks this with an assert, so: AssertionError
        raise AssertionError(
            "The @ray.remote decorator must be applied either with no arguments and no "
            "parentheses, for example '@ray.remote', or it must be applied using some of the "
            "arguments in the list ['max_calls', 'max_restarts', 'max_task_retries', "
            "'max_retries', 'num_cpus', 'num_gpus', 'num_returns', 'resources', ...], for "
            "example '@ray.remote(num_returns=2, resources={\"CustomResource\": 1})'.")
    return lambda target: _make_remote(target, kwargs)
