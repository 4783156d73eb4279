"""The results: a Markdown table (stdout) and a JSON document."""

import math

from bench.contenders import CONTENDERS, RAYREACT
from bench.harness import summarize


def fmt_value(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1000:
        return "{:,.0f}".format(v)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3g" % v


def fmt_ratio(r):
    if r is None:
        return "-"
    if r < 0.1:
        return "%.3fx" % r
    return ("%.2fx" % r) if r < 10 else ("%.1fx" % r)


def fmt_cell(stats, errors):
    if stats is None:
        return "ERROR" if errors else "-"
    med = stats["median"]
    txt = fmt_value(med)
    if stats["n"] > 1 and med:
        spread = (stats["max"] - stats["min"]) / 2 / abs(med)
        txt += " ±%.0f%%" % (100 * spread)
    if errors:
        txt += " (%d err)" % len(errors)
    return txt


def fmt_targets(targets):
    if not targets:
        return "-"
    missed = [t for t in targets if t["met"] is False]
    unknown = [t for t in targets if t["met"] is None]
    if missed:
        parts = []
        for t in missed:
            if "ratio" in t:
                parts.append("%s (%s)" % (t["text"], fmt_ratio(t["ratio"])))
            else:
                parts.append("%s (%s)" % (t["text"], fmt_value(t["value"])))
        return "missed: " + ", ".join(parts)
    if unknown and len(unknown) == len(targets):
        return "n/a"
    return "met" + (" (%s: n/a)" % ", ".join(t["text"] for t in unknown) if unknown else "")


def build(suite, meta):
    """Summaries of every case, the table and the notes; returns the JSON document."""
    contenders = suite.contenders
    rows = []
    doc_cases = []
    for family, cases in suite.families:
        for case in cases:
            cells = {c: suite.cells[(case.key, c)] for c in contenders
                     if (case.key, c) in suite.cells}
            s = summarize(case, cells, contenders)
            skipped = suite.skipped.get(case.key)
            rows.append((case, s, cells, skipped))
            doc_cases.append({
                "key": case.key, "family": family, "title": case.title, "unit": case.unit,
                "metric": case.metric, "higher_is_better": case.higher_is_better,
                "params": case.params, "charts": [list(x) for x in case.charts],
                "contenders": [c for c in contenders if c in case.contenders],
                "skipped": skipped, "best_rayreact": s["best"], "stats": s["stats"],
                "ratios_best_rayreact_vs": s["ratios"], "targets": s["targets"],
                "consistent_results": s["consistent"],
                "samples": {c: cells[c].samples for c in cells},
                "results": {c: cells[c].results for c in cells},
                "errors": {c: cells[c].errors for c in cells if cells[c].errors},
                "setup_s": {c: suite.setup_s.get((family, c)) for c in cells},
            })
    others = [c for c in contenders if c not in RAYREACT]
    header = (["workload", "unit"] + [CONTENDERS[c].label for c in contenders]
              + ["best rr / %s" % CONTENDERS[c].label for c in others]
              + ["same results", "target"])
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---", "---"] + ["---:"] * (len(contenders) + len(others))
                            + ["---", "---"]) + "|"]
    for case, s, cells, skipped in rows:
        row = [case.title, case.unit]
        for c in contenders:
            if c not in case.contenders:
                row.append("n/a")
            elif skipped:
                row.append("skipped")
            else:
                cell = cells.get(c)
                row.append(fmt_cell(s["stats"].get(c), cell.errors if cell else []))
        for c in others:
            row.append(fmt_ratio(s["ratios"].get(c)) if c in case.contenders else "n/a")
        row.append({True: "yes", False: "NO", None: "-"}[s["consistent"]])
        row.append(skipped or fmt_targets(s["targets"]))
        lines.append("| " + " | ".join(row) + " |")
    table = "\n".join(lines)

    notes = [
        "Medians of %d repetition(s) after %d warm-up(s), contenders interleaved (their order "
        "rotating each repetition); ±: half the min-max range, relative to the median."
        % (suite.reps, suite.warmup),
        "best rr: the better of the two rayreact modes in the row; \"best rr / X\": how many "
        "times faster it is than X (> 1: rayreact faster), whatever the unit's direction.",
        "same results: the Ray-program contenders (rayreact, Ray, serial) returned identical "
        "seeded results (rewards, episodes, observations, actions).",
        "Contenders: " + "; ".join("%s = %s" % (CONTENDERS[c].label, CONTENDERS[c].about)
                                   for c in contenders) + ".",
    ]
    for family, _ in suite.families:
        from bench import workloads

        note = getattr(workloads.load(family), "NOTE", "")
        if note:
            notes.append(note)
    busy = meta["machine"].get("cpu_busy_before")
    load1 = meta["machine"]["load_average"][0]
    cpus = meta["machine"]["logical_cpus"] or 1
    if (busy is not None and busy > 0.2) or load1 > 0.5 * cpus:
        notes.append("The machine was busy with other work when the run started (%.0f%% CPU "
                     "busy, load average %.1f on %d CPUs): expect noisy timings."
                     % (100 * (busy or 0), load1, cpus))
    errors = []
    for case, s, cells, _ in rows:
        for c, cell in cells.items():
            for e in dict.fromkeys(cell.errors):
                errors.append("%s on %s: %s" % (case.key, c, e))
    return {"meta": meta, "cases": doc_cases, "table_markdown": table, "notes": notes,
            "errors": errors}


def smoke_problems(doc):
    """Smoke check: every case ran on every contender it applies to, with a finite non-zero
    number. Returns the list of problems (empty: all good)."""
    problems = list(doc["errors"])
    for case in doc["cases"]:
        if case["skipped"]:
            problems.append("%s: %s" % (case["key"], case["skipped"]))
            continue
        for c in case["contenders"]:
            samples = case["samples"].get(c)
            if not samples:
                problems.append("%s on %s: no measurement" % (case["key"], c))
            for v in samples or ():
                if v is None or not isinstance(v, (int, float)) or not math.isfinite(v) or v == 0:
                    problems.append("%s on %s: bad value %r" % (case["key"], c, v))
    return problems
