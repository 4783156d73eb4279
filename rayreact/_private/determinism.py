"""Deterministic scheduling: the ready set of ``wait`` by logical time, and the warnings.

The driver's submissions are numbered in order (the counter part of each ``ObjectRef`` id it
owns), which is the logical time of a call. In deterministic mode (the default) ``wait``
returns the ``num_returns`` refs that come first in that order (refs borrowed from other
processes come after, in list order), once they are ready, instead of the first ones to
finish; ``ActorPool.get_next_unordered`` and ``map_unordered`` follow from it. So a program
run twice with the same seeds makes the same calls with the same arguments in the same order,
whatever the timing. Constructs outside that subset still run, with one warning each.
"""

import os
import warnings

from rayreact.exceptions import NondeterminismWarning
from rayreact._private.refs import owner_of

_LOW64 = (1 << 64) - 1
# Seconds ``wait`` keeps to logical order after enough later refs are ready (see
# Runtime.wait): long enough for any balanced workload, short enough not to stall a program
# that needs first-finished order to make progress.
GRACE = float(os.environ.get("RAYREACT_WAIT_GRACE", "2.0"))
_warned = set()


def warn_once(key, message, stacklevel=4):
    """Warn once per process and ``key`` (a construct) that the program is nondeterministic.
    ``stacklevel`` counts from this function to the user's line."""
    if key in _warned:
        return
    _warned.add(key)
    warnings.warn(f"rayreact: {message} Pass deterministic=False to rayreact.init() to "
                  "silence this, or filter NondeterminismWarning.", NondeterminismWarning,
                  stacklevel=stacklevel)


def logical_order(refs, me):
    """Indices of ``refs`` sorted by logical time: this process's own refs by submission
    order, then borrowed refs in list order."""
    def key(i):
        oid = refs[i]._id
        return (0, oid & _LOW64) if owner_of(oid) == me else (1, i)

    return sorted(range(len(refs)), key=key)
