from rayreact.util.actor_pool import ActorPool

__all__ = ["ActorPool"]
