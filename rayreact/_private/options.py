"""Validation of ``@remote`` / ``.options()`` keywords, as Ray 2.60.0 does it
(``ray/_common/ray_option_utils.py``): an unknown keyword is a ValueError naming the valid ones,
a wrongly typed value a TypeError."""

import warnings

from rayreact.exceptions import RayDeprecationWarning

_NONE = type(None)
_NUM = (int, float, _NONE)

_COMMON = {
    "label_selector": (dict, _NONE), "fallback_strategy": None, "accelerator_type": (str, _NONE),
    "memory": _NUM, "name": (str, _NONE), "num_cpus": _NUM, "num_gpus": _NUM,
    "object_store_memory": _NUM, "placement_group": None, "placement_group_bundle_index": int,
    "placement_group_capture_child_tasks": (bool, _NONE), "resources": (dict, _NONE),
    "runtime_env": (dict, _NONE), "scheduling_strategy": None, "enable_task_events": bool,
    "_labels": (dict, _NONE),
}
TASK_OPTIONS = dict(_COMMON, **{
    "max_calls": (int, _NONE), "max_retries": (int, _NONE), "num_returns": (int, str, _NONE),
    "retry_exceptions": (bool, list, tuple), "_generator_backpressure_num_objects": None,
    "_num_objects_per_yield": None,
})
ACTOR_OPTIONS = dict(_COMMON, **{
    "concurrency_groups": (list, dict, _NONE), "enable_tensor_transport": (bool, _NONE),
    "lifetime": (str, _NONE), "max_concurrency": (int, _NONE), "max_restarts": (int, _NONE),
    "max_task_retries": (int, _NONE), "max_pending_calls": (int, _NONE),
    "namespace": (str, _NONE), "get_if_exists": bool,
    "allow_out_of_order_execution": (bool, _NONE),
    "_actor_generator_backpressure_num_objects": None,
})


# Counting options: -1 means infinite where Ray allows it (ray_option_utils._counting_option).
_COUNTING = {"max_retries": True, "max_restarts": True, "max_task_retries": True,
             "max_pending_calls": True, "max_calls": False, "max_concurrency": False,
             "object_store_memory": False}


def _check(options, valid, what):
    for k, v in options.items():
        if k not in valid:
            raise ValueError(f"Invalid option keyword {k} for {what}. "
                             f"Valid ones are {list(valid)}.")
        t = valid[k]
        if t is not None and not isinstance(v, t):
            raise TypeError(f"The type of keyword '{k}' must be {t}, but received type {type(v)}")
        if k == "retry_exceptions" and not isinstance(v, bool) and not all(
                isinstance(e, type) and issubclass(e, Exception) for e in v):
            raise ValueError("retry_exceptions must be either a boolean or a list of exceptions")
        if k in ("num_cpus", "num_gpus", "memory") and v is not None and v < 0:
            raise ValueError(f"The keyword '{k}' only accepts None, 0 or a positive number, "
                             f"got {v}.")
        if k in _COUNTING and isinstance(v, int) and v < (-1 if _COUNTING[k] else 0):
            raise ValueError(
                f"The keyword '{k}' only accepts None, 0, -1 or a positive integer, where -1 "
                "represents infinity." if _COUNTING[k] else
                f"The keyword '{k}' only accepts None, 0 or a positive integer.")


_NUM_RETURNS_ERROR = (
    "Default None. When None is passed, The default value is 1 for a task and actor task, and "
    "'streaming' for generator tasks and generator actor tasks. The keyword 'num_returns' only "
    "accepts None, a non-negative integer, 'streaming' (for generators), or 'dynamic'. "
    "'dynamic' flag will be deprecated in the future, and it is recommended to use "
    "'streaming' instead.")
_DYNAMIC_DEPRECATED = ("num_returns='dynamic' is deprecated and will be removed in a future "
                       "Ray release. Use num_returns='streaming' instead.")


def validate_task_options(options, in_options, is_generator=None, stacklevel=4):
    """Raises ValueError/TypeError like ``ray_option_utils.validate_task_options``.

    Args:
        options (dict): the ``@remote`` or ``.options()`` keywords of a remote function.
        in_options (bool): they are ``.options()``'s.
        is_generator (bool | None): the function is a generator; None: do not check
            ``num_returns`` against it (``.options()`` without ``num_returns``).
        stacklevel (int): of the "dynamic" deprecation warning: the user's call.
    Raises:
        ValueError: an unknown keyword, a bad value (``num_returns`` < 0: Ray's long message;
            ``"streaming"``/``"dynamic"`` for a function that is not a generator).
        TypeError: a wrongly typed value; a ``num_returns`` string other than
            ``"streaming"``/``"dynamic"`` (as Ray: ``'>=' not supported between instances of
            'str' and 'int'``).
    """
    _check(options, TASK_OPTIONS, "remote functions")
    if in_options and "max_calls" in options:
        raise ValueError("Setting 'max_calls' is not supported in '.options()'.")
    n = options.get("num_returns")
    # Ray's check, comparison included: another string fails it with Python's TypeError
    if not (n is None or n == "dynamic" or n == "streaming" or n >= 0):
        raise ValueError(_NUM_RETURNS_ERROR)
    if is_generator is not None and n is not None:
        validate_num_returns(is_generator, n, stacklevel=stacklevel)


def validate_num_returns(is_generator, num_returns, stacklevel=3):
    """Check ``num_returns`` of a function or actor method (mirrors Ray 2.60's
    ``ray_option_utils.validate_num_returns``); ``"dynamic"`` issues Ray's
    RayDeprecationWarning.

    Args:
        is_generator (bool): the function or method is a (sync or async) generator.
        num_returns: the value given.
    Raises:
        ValueError: a negative int, or ``"streaming"``/``"dynamic"`` and not a generator.
    """
    if isinstance(num_returns, int) and num_returns < 0:
        raise ValueError(f"num_returns must be >= 0, but got {num_returns}.")
    if num_returns == "dynamic":
        warnings.warn(_DYNAMIC_DEPRECATED, RayDeprecationWarning, stacklevel=stacklevel)
    if num_returns in ("streaming", "dynamic") and not is_generator:
        raise ValueError(f"num_returns='{num_returns}' can only be used with generator "
                         "functions (functions that use 'yield'). The decorated function is "
                         "not a generator function.")


def validate_actor_options(options, in_options):
    """Raises ValueError/TypeError like ``ray_option_utils.validate_actor_options``."""
    _check(options, ACTOR_OPTIONS, "actors")
    if in_options and "concurrency_groups" in options:
        raise ValueError("Setting 'concurrency_groups' is not supported in '.options()'.")
    if options.get("get_if_exists") and not options.get("name"):
        raise ValueError("The actor name must be specified to use `get_if_exists`.")
    lt = options.get("lifetime")
    if lt not in (None, "detached", "non_detached"):
        raise ValueError("actor `lifetime` argument must be one of 'detached', "
                         "'non_detached' and 'None'.")
