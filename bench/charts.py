"""PNG charts of the sweeps: actors, object size, replay batch B (matplotlib, no display)."""

import os

from bench.contenders import CONTENDERS

# The paper's numbers (paper.md; 32-core host), drawn as dashed references.
PAPER = {
    "actors": {"LF (paper)": {2: 4.9, 4: 5.2, 8: 5.2, 16: 7.1},
               "Ray (paper)": {2: 11.7, 4: 13.0, 8: 16.5, 16: 24.3}},
    "objsize": {"LF (paper)": {10: 7, 100: 146, 300: 307, 500: 511},
                "Ray (paper)": {10: 24, 100: 204, 300: 478, 500: 869}},
    # time to round 500 / 500
    "qlearning_B": {"LF (paper)": {500: 0.188, 1000: 0.190, 2000: 0.192},
                    "Ray (paper)": {500: 0.274, 1000: 0.298, 2000: 0.384}},
}

CHARTS = {
    "actors": ("Micro-benchmark: 10 MiB each way, 0.5 s sleep", "actors",
               "overhead per round (ms)"),
    "objsize": ("Object-size sweep at 16 actors", "array size (MiB)",
                "overhead per round (ms)"),
    "qlearning_B": ("Synchronised Q-learning, 16 actors x 100 steps", "replay batch B",
                    "time per round (s)"),
}

STYLE = {"rayreact": ("C0", "o"), "rayreact-dyn": ("C9", "s"), "ray": ("C3", "^"),
         "ray-cg": ("C1", "v"), "serial": ("C7", "D"), "peer": ("C2", "x")}


def draw(doc, out_dir, prefix):
    """One PNG per chart that has at least one point; returns the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for chart, (title, xlabel, ylabel) in CHARTS.items():
        series = {}
        for case in doc["cases"]:
            for name, x in case["charts"]:
                if name != chart:
                    continue
                for c, st in case["stats"].items():
                    if st:
                        series.setdefault(c, []).append((x, st["median"], st["min"], st["max"]))
        if not series:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for c in CONTENDERS:
            if c not in series:
                continue
            pts = sorted(series[c])
            xs = [p[0] for p in pts]
            ys = [p[1] for p in pts]
            err = [[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]]
            color, marker = STYLE.get(c, ("k", "."))
            ax.errorbar(xs, ys, yerr=err, color=color, marker=marker, capsize=3,
                        label=CONTENDERS[c].label)
        for i, (label, pts) in enumerate(PAPER.get(chart, {}).items()):
            xs = sorted(pts)
            ax.plot(xs, [pts[x] for x in xs], linestyle="--", color="0.5" if i == 0 else "0.75",
                    marker=".", label=label)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        xs = sorted({p[0] for pts in series.values() for p in pts}
                    | {x for pts in PAPER.get(chart, {}).values() for x in pts})
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs)
        ax.set_xticklabels([str(x) for x in xs])
        ax.minorticks_off()
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.text(0.01, 0.01, "medians, bars: min-max; %s; %s"
                 % (doc["meta"]["machine"]["cpu_model"], doc["meta"]["started"]),
                 fontsize=6, color="0.4")
        fig.tight_layout()
        path = os.path.join(out_dir, "%s_%s.png" % (prefix, chart))
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
