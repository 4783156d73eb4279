"""``ray.util.placement_group`` on rayreact: placement groups are Ray's (the reactor runtime
has no resource bundles). Creating one starts, or joins, the fallback Ray (a
``RayFallbackWarning``; ``UnsupportedPatternError`` with backend "reactor"); actors and tasks
scheduled into it run on Ray. Mirrors ``ray/util/placement_group.py`` (Ray 2.60.0)."""


def _ray_pg():
    import importlib

    from rayreact._private import fallback

    fallback.ray_module()
    return importlib.import_module("ray.util.placement_group")


def _with_ray(fn_name, what):
    def call(*args, **kwargs):
        from rayreact._private import api, fallback

        if not fallback.whole:
            fallback.fallback("placement_group", what, detail=f"ray.util.{fn_name}()")
            if api._runtime_or_init() is not None:
                fallback.ensure_ray()
        return getattr(_ray_pg(), fn_name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = fn_name
    call.__doc__ = f"Ray's ``ray.util.{fn_name}`` (see the module docstring)."
    return call


placement_group = _with_ray("placement_group", "the placement group (with the actors and "
                            "tasks scheduled into it)")
get_placement_group = _with_ray("get_placement_group", "the placement group")
remove_placement_group = _with_ray("remove_placement_group", "the placement group")
placement_group_table = _with_ray("placement_group_table", "the placement group table")


def get_current_placement_group():
    """The placement group the current actor or task runs in: None on the reactor runtime
    (its actors and tasks are never in one); Ray's answer inside Ray."""
    from rayreact._private import fallback

    if fallback.whole or fallback.in_ray_worker():
        return _ray_pg().get_current_placement_group()
    return None


def __getattr__(name):  # PlacementGroup, validate_placement_group...: Ray's
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(_ray_pg(), name)
