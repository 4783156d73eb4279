"""``ray.util.as_completed``, ``ray.util.map_unordered`` (mirror ``ray/util/helpers.py``, Ray
2.60.0) and ``ray.util.list_named_actors``, on rayreact's public API (refs of both backends)."""

import os

import rayreact

DEFAULT_CHUNK_SIZE = 10
DEFAULT_BACKPRESSURE_SIZE = 100


def _wait_and_get_single_batch(refs, *, chunk_size, yield_obj_refs=False, **kwargs):
    if chunk_size < 1:
        raise ValueError("`chunk_size` must be >= 1")
    ready, refs = rayreact.wait(refs, num_returns=min(chunk_size, len(refs)), **(kwargs or {}))
    if not yield_obj_refs:
        return rayreact.get(ready), refs
    return ready, refs


def as_completed(refs, *, chunk_size=DEFAULT_CHUNK_SIZE, yield_obj_refs=False, **kwargs):
    """Yield the results of ``refs`` (or the refs, with ``yield_obj_refs``) in batches of up to
    ``chunk_size`` as they become ready; ``kwargs`` go to ``wait`` (``timeout``...)."""
    if chunk_size < 1:
        raise ValueError("`chunk_size` must be >= 1")
    if "num_returns" in kwargs:
        raise ValueError("Use the `chunksize` argument instead of `num_returns`.")
    refs = list(refs)
    while refs:
        results, refs = _wait_and_get_single_batch(refs, chunk_size=chunk_size,
                                                   yield_obj_refs=yield_obj_refs, **kwargs)
        yield from results


def map_unordered(fn, items, *, backpressure_size=DEFAULT_BACKPRESSURE_SIZE,
                  chunk_size=DEFAULT_CHUNK_SIZE, yield_obj_refs=False, **kwargs):
    """``fn.remote(item)`` for each item, at most ``backpressure_size`` in flight; yields the
    results as they complete (no order promised, as in Ray)."""
    if backpressure_size is None:
        backpressure_size = float("inf")
    elif backpressure_size <= 0:
        raise ValueError("backpressure_size must be positive.")
    if chunk_size < 1:
        raise ValueError("`chunk_size` must be >= 1")
    if "num_returns" in kwargs:
        raise ValueError("Use the `chunk_size` argument instead of `num_returns`.")
    refs = []
    for item in items:
        refs.append(fn.remote(item))
        if len(refs) >= backpressure_size:
            results, refs = _wait_and_get_single_batch(refs, chunk_size=chunk_size,
                                                       yield_obj_refs=yield_obj_refs, **kwargs)
            yield from results
    yield from as_completed(refs, chunk_size=chunk_size, yield_obj_refs=yield_obj_refs,
                            **kwargs)


def list_named_actors(all_namespaces=False):
    """Names of the live named actors (mirrors ``ray.util.list_named_actors``): of the current
    namespace, or ``[{"name", "namespace"}]`` of every namespace with ``all_namespaces``.
    Actors that fell back to Ray are listed too."""
    from rayreact._private import api, fallback, shm
    from rayreact._private.actor import _lookup_named

    rt = api._runtime_or_init()
    if rt is None:  # the program runs on Ray
        return fallback.call_util("list_named_actors", all_namespaces=all_namespaces)
    head = shm.prefix(rt.session) + "name_"
    out = []
    for f in sorted(os.listdir(shm.SHM_DIR)):
        if not f.startswith(head):
            continue
        try:
            ns_hex, name_hex = f[len(head):].split("_", 1)
            ns, name = bytes.fromhex(ns_hex).decode(), bytes.fromhex(name_hex).decode()
        except ValueError:
            continue
        if _lookup_named(rt, name, ns) is None:  # dead
            continue
        if all_namespaces:
            out.append({"name": name, "namespace": ns})
        elif ns == (rt.namespace or ""):
            out.append(name)
    if fallback.active:
        theirs = fallback.call_util("list_named_actors", all_namespaces=all_namespaces)
        out.extend(x for x in theirs if x not in out)
    return out
