"""python -m bench: rayreact side by side with Ray, Ray Compiled Graphs, serial Python and peers.

    python -m bench                  # the full suite (long)
    python -m bench --quick          # every workload, fewer points, rounds and repetitions;
                                     # rayreact, Ray and serial only (~3 min on 2 cores)
    python -m bench --smoke          # tiny shapes, every workload on every contender, a few
                                     # iterations; exit status 1 unless all produced numbers
    python -m bench --only gym,micro/16x10MiB --backends rayreact,ray --reps 3
    python -m bench --list           # the workloads (cases) and contenders

See bench/README.md.
"""

import argparse
import json
import os
import sys
import time

from bench import cgraph, workloads
from bench.contenders import CONTENDERS, parse

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
RESULTS_DIR = os.path.join(BENCH_DIR, "results")

# mode -> (repetitions, warm-ups, time-out of one request in seconds)
DEFAULTS = {"full": (5, 1, 1800), "quick": (2, 1, 300), "smoke": (1, 0, 300)}
# --quick keeps to rayreact (its default, compiled mode) against Ray and serial: on 2 cores
# most of a run is starting actors (~140 processes, half of them importing torch), and each
# more contender adds a third. The dynamic mode, Ray Compiled Graphs and the peers run in the
# full suite, or on request (--backends).
QUICK_CONTENDERS = "rayreact,ray,serial"


def select(mode, only):
    """[(family, [Case])] for the families and cases ``only`` names (all when empty).

    A token selects a whole family by name (``gym``, ``micro``) or, if it names no family,
    every case whose key contains it, case-insensitively (``cartpole``, ``micro/16x``)."""
    tokens = [t.strip().lower() for t in (only or "").split(",") if t.strip()]
    out = []
    for fam in workloads.FAMILIES:
        cases = workloads.cases(fam, mode)
        if tokens:
            cases = [c for c in cases if fam in tokens
                     or any(t not in workloads.FAMILIES and t in c.key.lower() for t in tokens)]
        if cases:
            out.append((fam, cases))
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true",
                   help="fewer points, rounds and repetitions; contenders " + QUICK_CONTENDERS)
    g.add_argument("--smoke", action="store_true",
                   help="tiny shapes, a few iterations; exit 1 unless every workload ran")
    p.add_argument("--only", help="comma-separated families or case-key substrings")
    p.add_argument("--backends", "--contenders", dest="backends",
                   help="comma-separated contenders (default: all): " + ",".join(CONTENDERS))
    p.add_argument("--reps", type=int, help="measured repetitions")
    p.add_argument("--warmup", type=int, help="warm-up repetitions (not recorded)")
    p.add_argument("--timeout", type=float, help="seconds allowed for one measurement")
    p.add_argument("--json", help="results file (default bench/results/latest.json; "
                                  "smoke.json with --smoke); charts go beside it")
    p.add_argument("--no-charts", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--list", action="store_true", help="list the cases and contenders, exit")
    return p, p.parse_args(argv)


def _short(text, limit=300):
    """The first line of an error, cut to ``limit`` characters (the JSON has all of it)."""
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= limit else line[:limit] + "..."


def _rel(path):
    rel = os.path.relpath(path, ROOT)
    return path if rel.startswith("..") else rel


def main(argv=None):
    parser, args = parse_args(argv)
    mode = "smoke" if args.smoke else ("quick" if args.quick else "full")
    try:
        contenders = parse(args.backends or (QUICK_CONTENDERS if mode == "quick" else None))
    except ValueError as e:
        parser.error(str(e))
    families = select(mode, args.only)
    if not families:
        parser.error("--only %r selects no workload (see --list)" % args.only)
    if args.list:
        for fam, cases in families:
            for c in cases:
                print("%-34s %-58s %s" % (c.key, c.title, ",".join(c.contenders)))
        print()
        for c in CONTENDERS.values():
            print("%-13s %s" % (c.name, c.about))
        return 0
    reps, warmup, timeout = DEFAULTS[mode]
    reps = args.reps if args.reps is not None else reps
    warmup = args.warmup if args.warmup is not None else warmup
    timeout = args.timeout if args.timeout is not None else timeout
    out = args.json or os.path.join(RESULTS_DIR, "smoke.json" if args.smoke else "latest.json")
    out = os.path.abspath(out)
    out_dir = os.path.dirname(out)
    log_dir = os.path.join(out_dir, "logs")
    os.makedirs(log_dir, exist_ok=True)

    from bench import charts, harness, report  # psutil etc.: only once arguments are fine

    meta = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "mode": mode, "reps": reps,
            "warmup": warmup, "contenders": contenders, "argv": sys.argv[1:],
            "machine": harness.machine_info()}
    m = meta["machine"]
    print("bench: %s mode, %d rep(s) + %d warm-up, contenders %s" % (
        mode, reps, warmup, ",".join(contenders)), flush=True)
    print("machine: %s, %s logical CPUs, %.0f GiB, Python %s; load average %.1f, %.0f%% busy"
          % (m["cpu_model"], m["logical_cpus"], m["memory_gib"], m["python"],
             m["load_average"][0], 100 * m["cpu_busy_before"]), flush=True)

    suite = harness.Suite(families, contenders, mode, reps, warmup, timeout, log_dir)
    progress = None
    if not args.no_progress:
        try:
            from tqdm import tqdm

            progress = tqdm(total=suite.total_steps(), file=sys.stderr, unit="run",
                            dynamic_ncols=True, desc="bench")
        except ImportError:
            progress = None
    suite.progress = progress
    t0 = time.perf_counter()
    interrupted = False
    try:
        suite.run()
    except KeyboardInterrupt:
        interrupted = True
        suite.stop_hosts()
    finally:
        if progress is not None:
            progress.close()
        cgraph.remove_stale_semaphores()  # Ray's, left by its compiled graphs
    meta["wall_s"] = round(time.perf_counter() - t0, 1)
    meta["init_s"] = {h: p.init_s for h, p in suite.hosts.items()}

    doc = report.build(suite, meta)
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, default=str)
    print()
    print(doc["table_markdown"])
    print()
    for n in doc["notes"]:
        print("- " + n)
    if doc["errors"]:
        print()
        print("Errors (host logs in %s):" % _rel(log_dir))
        for e in doc["errors"]:
            print("- " + _short(e))
    if not args.no_charts:
        try:
            prefix = os.path.splitext(os.path.basename(out))[0]
            for path in charts.draw(doc, out_dir, prefix):
                print("chart: %s" % _rel(path))
        except ImportError as e:
            print("charts skipped (%s): pip install -e '.[bench]'" % e)
    print("results: %s (%.0f s)" % (_rel(out), meta["wall_s"]))
    if interrupted:
        return 130
    if args.smoke:
        problems = report.smoke_problems(doc)
        if problems:
            print("smoke: FAILED")
            for p in problems:
                print("  - " + _short(p))
            return 1
        print("smoke: ok (every workload ran on every contender)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
