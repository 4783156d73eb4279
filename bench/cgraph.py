"""Compiled graphs held across the measurements of one turn (used by the programs' ``cg_measure``).

A Ray compiled graph's actors spin while the graph exists, which would starve every other
contender on a small machine, and each compile leaves object-store memory behind. So a graph is
compiled at most once per turn (a contender's run through the rows of a family in one
repetition), kept in the program's state while its rows run, and torn down when the turn ends
(``release``, sent by the harness) or when a row needs a different graph.
"""


def compiled(state, signature, build, warm=()):
    """The compiled graph for ``signature``, compiling ``build()`` (a DAG) if needed.

    ``warm``: argument tuples executed once, untimed, right after compiling (the first
    executions set the channels up)."""
    import ray

    current = state.get("_cg")
    if current is not None and current[0] == signature:
        return current[1]
    release(state)
    graph = build().experimental_compile()
    state["_cg"] = (signature, graph)
    for args in warm:
        ray.get(graph.execute(*args))
    return graph


def release(state):
    current = state.pop("_cg", None)
    if current is not None:
        current[1].teardown()
