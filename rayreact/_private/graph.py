"""The reactor graph of a Ray program: what the program *is* (graph time), apart from how it runs.

In the reactor model's terms (Lohstroh and Lee; Lingua Franca):

* a **reactor** is a stateful unit: the driver, each actor, the task pool;
* a **reaction** is one call the loop body makes: an actor method or a remote function;
* a reaction has an input **port** per argument and an output port per return value;
* a **connection** links an output port to the input port it feeds (a ref passed along), or a
  driver port (a value the driver computes) to an input port;
* the **level** of a reaction is its position in the precedence graph: one more than the
  highest level among the reactions it depends on, including the previous reaction of its own
  reactor (a reactor runs one reaction at a time, in order). Reactions of one level may run in
  parallel;
* one loop iteration is one logical **tag**; the synchronisation points (``get``, ``wait``)
  inside it split it into **microsteps**.

``ReactorGraph`` is the public, inspectable object (``rayreact.graph()``); ``to_dot`` and
``to_mermaid`` export it, ``write`` renders it to a file.
"""

import shutil
import subprocess
from dataclasses import dataclass, field


@dataclass
class Reactor:
    """A reactor: ``name`` is the class and its creation index ("RolloutWorker[3]"), "driver"
    or "tasks"."""
    name: str
    kind: str  # "driver", "actor" or "task pool"


@dataclass
class Reaction:
    """One call of the loop body: ``reactor.method(inputs) -> outputs``."""
    index: int
    reactor: str
    method: str
    inputs: list  # input port names, one per argument ("obs", "arg0", "kw:seed")
    outputs: list  # output port names, one per return value ("out0", ...)
    microstep: int = 0
    level: int = 0

    @property
    def name(self):
        return f"{self.reactor}.{self.method}#{self.index}"


@dataclass
class Connection:
    """``source`` output port to ``dest`` input port. A source reaction of None is the driver
    (a value it computed, or a ref from outside the loop body)."""
    source: object  # reaction index, or None for the driver
    source_port: str
    dest: int
    dest_port: str


@dataclass
class ReactorGraph:
    """The frozen loop body of a program, or a graph built with ``rayreact.dag``.

    Attributes:
        reactors (list[Reactor]), reactions (list[Reaction]) in submission order,
        connections (list[Connection]), microsteps (int): sync points per iteration,
        compiled (bool): whether it runs in compiled mode.
    """
    reactors: list = field(default_factory=list)
    reactions: list = field(default_factory=list)
    connections: list = field(default_factory=list)
    microsteps: int = 1
    compiled: bool = False

    def compute_levels(self):
        last_of = {}
        ups = {r.index: [] for r in self.reactions}
        for c in self.connections:
            if c.source is not None:
                ups[c.dest].append(c.source)
        level = {}
        for r in self.reactions:
            deps = [level[u] for u in ups[r.index] if u in level]
            if r.reactor in last_of and r.reactor != "tasks":
                deps.append(level[last_of[r.reactor]])
            level[r.index] = r.level = 1 + max(deps, default=0)
            last_of[r.reactor] = r.index
        return self

    @property
    def levels(self):
        """Reactions grouped by level: ``[[Reaction, ...] (level 1), ...]``."""
        out = {}
        for r in self.reactions:
            out.setdefault(r.level, []).append(r)
        return [out[k] for k in sorted(out)]

    def __repr__(self):
        return (f"ReactorGraph({len(self.reactors)} reactors, {len(self.reactions)} reactions, "
                f"{len(self.connections)} connections, {len(self.levels)} levels, "
                f"{self.microsteps} microstep(s), compiled={self.compiled})")

    # -- export -------------------------------------------------------------------------------
    def to_dot(self):
        """Graphviz DOT text: one cluster per reactor, a node per reaction (with its ports),
        an edge per connection labelled with the ports it links."""
        lines = ["digraph rayreact {", "  rankdir=LR;", '  node [shape=record, fontsize=10];',
                 '  driver [shape=box, style=rounded, label="driver"];']
        for i, reactor in enumerate(self.reactors):
            if reactor.kind == "driver":
                continue
            lines.append(f"  subgraph cluster_{i} {{")
            lines.append(f'    label="{_esc(reactor.name)}"; style=rounded;')
            for r in self.reactions:
                if r.reactor == reactor.name:
                    ins = "|".join(f"<i{k}> {_esc(p)}" for k, p in enumerate(r.inputs))
                    outs = "|".join(f"<o{k}> {_esc(p)}" for k, p in enumerate(r.outputs))
                    mid = f"{_esc(r.method)}\\nlevel {r.level}, microstep {r.microstep}"
                    label = "|".join(x for x in (f"{{{ins}}}" if ins else "", mid,
                                                 f"{{{outs}}}" if outs else "") if x)
                    lines.append(f'    r{r.index} [label="{{{label}}}"];')
            lines.append("  }")
        by_index = {r.index: r for r in self.reactions}
        for c in self.connections:
            dst = by_index[c.dest]
            k = dst.inputs.index(c.dest_port) if c.dest_port in dst.inputs else 0
            if c.source is None:
                src = "driver"
            else:
                s = by_index[c.source]
                ko = s.outputs.index(c.source_port) if c.source_port in s.outputs else 0
                src = f"r{c.source}:o{ko}"
            lines.append(f'  {src} -> r{c.dest}:i{k} [label="{_esc(c.source_port)}"];')
        for r in self.reactions:
            if r.outputs and not any(c.source == r.index for c in self.connections):
                lines.append(f"  r{r.index} -> driver [style=dashed];")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_mermaid(self):
        """Mermaid ``flowchart`` text (renders in GitHub Markdown)."""
        lines = ["flowchart LR", "  driver([driver])"]
        for i, reactor in enumerate(self.reactors):
            if reactor.kind == "driver":
                continue
            lines.append(f'  subgraph s{i}["{_mm(reactor.name)}"]')
            for r in self.reactions:
                if r.reactor == reactor.name:
                    lines.append(f'    r{r.index}["{_mm(r.method)}<br/>level {r.level}"]')
            lines.append("  end")
        for c in self.connections:
            src = "driver" if c.source is None else f"r{c.source}"
            lines.append(f"  {src} -- {_mm(c.dest_port)} --> r{c.dest}")
        for r in self.reactions:
            if r.outputs and not any(c.source == r.index for c in self.connections):
                lines.append(f"  r{r.index} -.-> driver")
        return "\n".join(lines) + "\n"

    def write(self, path):
        """Write the graph to ``path``: rendered SVG or PNG when the name ends so and Graphviz's
        ``dot`` is installed, Mermaid text for ``.mmd``, DOT text otherwise.

        Returns:
            str: the format written ("svg", "png", "mermaid" or "dot").
        """
        path = str(path)
        ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
        if ext == "mmd":
            with open(path, "w") as f:
                f.write(self.to_mermaid())
            return "mermaid"
        dot = shutil.which("dot")
        if ext in ("svg", "png") and dot:
            subprocess.run([dot, f"-T{ext}", "-o", path], input=self.to_dot().encode(),
                           check=True)
            return ext
        with open(path, "w") as f:
            f.write(self.to_dot())
        return "dot"


def _esc(s):
    return str(s).replace("\\", "\\\\").replace('"', '\\"').replace("{", "\\{") \
        .replace("}", "\\}").replace("|", "\\|").replace("<", "\\<").replace(">", "\\>")


def _mm(s):
    return str(s).replace('"', "'")
