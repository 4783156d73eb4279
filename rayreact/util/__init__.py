"""``ray.util`` on rayreact: ``ActorPool``, ``queue``, ``as_completed``, ``map_unordered``,
``list_named_actors``, ``get_node_ip_address`` run on rayreact; placement groups and Ray's other ``ray.util`` names
(``ray.util.__all__``, and modules such as ``ray.util.scheduling_strategies``) are forwarded to
real Ray, with the fallback they imply (``ray.util.collective`` and ``ray.util.multiprocessing``
are Ray libraries: the program runs on Ray)."""

from rayreact._private.api import get_node_ip_address
from rayreact.util.actor_pool import ActorPool
from rayreact.util.helpers import as_completed, list_named_actors, map_unordered
from rayreact.util.placement_group import (
    get_current_placement_group,
    get_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)

__all__ = ["ActorPool", "as_completed", "get_current_placement_group", "get_node_ip_address",
           "get_placement_group", "list_named_actors", "map_unordered", "placement_group",
           "placement_group_table", "remove_placement_group"]


def __getattr__(name):
    import importlib
    import importlib.util

    if not name.startswith("__") and importlib.util.find_spec(f"rayreact.util.{name}"):
        return importlib.import_module(f"rayreact.util.{name}")  # ours (e.g. queue)
    from rayreact._private import fallback

    return fallback.ray_attribute(name, util=True)
