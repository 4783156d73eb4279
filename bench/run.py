"""Side-by-side benchmark: the same Ray programs on rayreact, real Ray and serial Python.

    python bench/run.py                 # full run (all workloads, 5 repetitions)
    python bench/run.py --quick         # shorter workloads, 3 repetitions
    python bench/run.py --only cartpole --reps 3 --backends ray,serial
    python bench/run.py --smoke         # tiny run of every workload on serial + rayreact
                                        # (exit status 1 on any failure; bench/results/smoke.json)

Each workload is one of the example programs (examples/*.py, plus bench/roundtrip.py),
loaded once per backend with its ``import rayreact as ray`` line rewritten (see loader.py).
Every backend lives in its own long-lived worker subprocess (``ray.init()`` once per
backend); the parent asks the workers in turn for one repetition each, so the contenders are
interleaved (A B C A B C ...) after one warm-up repetition per workload and backend. The
table shows medians and ratios; ``bench/results/latest.json`` has every sample.

"serial" runs every ``.remote()`` call inline in one process (bench/serial_ray.py): the
pure compute cost of the program. A contender that fails (import error, exception, crash,
time-out) is reported as an error in the table and the run goes on.
"""

import argparse
import gc
import json
import os
import platform
import select
import signal
import statistics
import subprocess
import sys
import time
import traceback

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
RESULTS_DIR = os.path.join(BENCH_DIR, "results")
ALL_BACKENDS = ("rayreact", "ray", "serial")

# name -> program, metric and parameters for each mode.
#   metric: key of the program's result dict; higher_is_better tells how ratios are taken.
#   fingerprint: result keys that must be equal across backends for equal seeds.
WORKLOADS = {
    "cartpole": {
        "title": "CartPole-v1, 15 actors, 1 step/call",
        "program": "examples/gym_rollouts.py",
        "metric": "steps_per_s", "unit": "steps/s", "higher_is_better": True,
        "fingerprint": ["checksum", "total_reward", "episodes"],
        "params": {
            "full": {"num_envs": 15, "steps": 1000, "env_id": "CartPole-v1"},
            "quick": {"num_envs": 15, "steps": 300, "env_id": "CartPole-v1"},
            "smoke": {"num_envs": 15, "steps": 5, "env_id": "CartPole-v1"},
        },
    },
    "pong": {
        "title": "ALE/Pong-v5, 15 actors, 1 step/call",
        "program": "examples/gym_rollouts.py",
        "metric": "steps_per_s", "unit": "steps/s", "higher_is_better": True,
        "fingerprint": ["checksum", "total_reward", "episodes"],
        "params": {
            "full": {"num_envs": 15, "steps": 300, "env_id": "ALE/Pong-v5"},
            "quick": {"num_envs": 15, "steps": 100, "env_id": "ALE/Pong-v5"},
            "smoke": {"num_envs": 15, "steps": 3, "env_id": "ALE/Pong-v5"},
        },
    },
    "sync_q": {
        "title": "sync Q-learning, 16 actors x 100 steps, B=500, 1 grad step/round",
        "program": "examples/sync_q_learning.py",
        # The paper's shape: one gradient step on one batch of B=500 per round (the demo's
        # default of 64 steps per round would mostly time the driver's learner). Round 1
        # waits for the 17 actors to start; the metric is the time of the later rounds.
        "metric": "later_rounds_s", "unit": "s / N rounds", "higher_is_better": False,
        "fingerprint": ["curve"],
        "setup_key": "first_round_s",
        "params": {
            "full": {"num_actors": 16, "rounds": 21, "updates_per_round": 1, "verbose": False},
            "quick": {"num_actors": 16, "rounds": 6, "updates_per_round": 1, "verbose": False},
            "smoke": {"num_actors": 16, "rounds": 2, "updates_per_round": 1, "verbose": False},
        },
    },
    "multi_agent": {
        "title": "multi-agent inference, 10 policy actors",
        "program": "examples/multi_agent_inference.py",
        "metric": "steps_per_s", "unit": "steps/s", "higher_is_better": True,
        "fingerprint": ["total_reward", "action_counts"],
        "params": {
            "full": {"agents": 10, "steps": 500},
            "quick": {"agents": 10, "steps": 150},
            "smoke": {"agents": 10, "steps": 5},
        },
    },
    "roundtrip": {
        "title": "1:1 sync actor call, ray.get(a.f.remote(i))",
        "program": "bench/roundtrip.py",
        "metric": "us_per_call", "unit": "us/call", "higher_is_better": False,
        "fingerprint": [],
        "params": {
            "full": {"calls": 2000},
            "quick": {"calls": 500},
            "smoke": {"calls": 20, "warmup": 2},
        },
    },
}


# --------------------------------------------------------------------------------------
# Worker side: one process per backend, commands as JSON lines on stdin, replies as JSON
# lines on a private copy of the original stdout (fd 1 itself is pointed at stderr, so that
# whatever the runtime or the programs print cannot corrupt the protocol).
# --------------------------------------------------------------------------------------

def _init_kwargs(backend):
    if backend == "ray":
        # The dashboard only adds background load on a 2-core machine.
        return {"include_dashboard": False}
    return {}


def worker_main(backend):
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.path.insert(0, BENCH_DIR)
    import loader  # noqa: E402  (bench/ is on sys.path now)

    modules = {}
    ray = None

    def reply(**msg):
        proto.write(json.dumps(msg) + "\n")
        proto.flush()

    def error_text(e):
        tb = traceback.format_exc(limit=8)
        return "%s: %s" % (type(e).__name__, e), tb

    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        op = cmd.get("op")
        try:
            if op == "init":
                t0 = time.perf_counter()
                ray = loader.ray_module(backend)
                ray.init(**_init_kwargs(backend))
                reply(ok=True, init_s=time.perf_counter() - t0)
            elif op == "run":
                path = os.path.join(ROOT, cmd["program"])
                if path not in modules:
                    modules[path] = loader.load_program(path, backend)
                result = modules[path].run(**cmd["params"])
                gc.collect()  # drop actor handles now, not at some later run
                reply(ok=True, result=result)
            elif op == "exit":
                break
            else:
                reply(ok=False, error="unknown op %r" % op)
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            msg, tb = error_text(e)
            reply(ok=False, error=msg, traceback=tb)
            if isinstance(e, KeyboardInterrupt):
                break
    try:
        if ray is not None and ray.is_initialized():
            ray.shutdown()
    except BaseException:  # noqa: BLE001
        pass
    reply(ok=True, bye=True)


# --------------------------------------------------------------------------------------
# Parent side
# --------------------------------------------------------------------------------------

class BackendError(Exception):
    pass


class Worker:
    """A long-lived worker subprocess for one backend; restarted (a few times) if it dies."""

    def __init__(self, backend, timeout, log_dir, max_starts=4):
        self.backend = backend
        self.timeout = timeout
        self.log_dir = log_dir
        self.max_starts = max_starts
        self.starts = 0
        self.proc = None
        self.last_error = None
        self.init_s = []

    def _start(self):
        if self.starts >= self.max_starts:
            if self.last_error and self.last_error.startswith("init failed"):
                raise BackendError(self.last_error)
            raise BackendError("gave up after %d start(s); last error: %s"
                               % (self.starts, self.last_error))
        self.starts += 1
        log_path = os.path.join(self.log_dir, "worker-%s.log" % self.backend)
        if getattr(self, "log", None) is not None:
            self.log.close()
        self.log = open(log_path, "a")
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.setdefault("RAY_DEDUP_LOGS", "1")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", self.backend],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            cwd=ROOT, env=env, start_new_session=True, text=True, bufsize=1)
        try:
            rep = self._request({"op": "init"}, timeout=max(self.timeout, 120))
            if not rep.get("ok"):
                self.stop()
                raise BackendError(rep.get("error"))
        except BackendError as e:
            # A backend that cannot start will not start on a retry either.
            self.kill()
            self.starts = self.max_starts
            self.last_error = "init failed: %s" % e
            raise BackendError(self.last_error)
        self.init_s.append(rep["init_s"])

    def _request(self, msg, timeout):
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            self.last_error = "worker pipe closed (%s); see %s" % (e, self.log.name)
            self.kill()
            raise BackendError(self.last_error)
        deadline = time.monotonic() + timeout
        out = self.proc.stdout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.last_error = "timed out after %.0f s" % timeout
                self.kill()
                raise BackendError(self.last_error)
            ready, _, _ = select.select([out], [], [], min(left, 1.0))
            if ready:
                line = out.readline()
                if not line:
                    rc = self.proc.wait()
                    self.last_error = ("worker exited (code %s); see %s" % (rc, self.log.name))
                    self.proc = None
                    raise BackendError(self.last_error)
                return json.loads(line)
            if self.proc.poll() is not None and not select.select([out], [], [], 0)[0]:
                self.last_error = ("worker exited (code %s); see %s"
                                   % (self.proc.returncode, self.log.name))
                self.proc = None
                raise BackendError(self.last_error)

    def run(self, program, params):
        if self.proc is None:
            self._start()
        rep = self._request({"op": "run", "program": program, "params": params}, self.timeout)
        if not rep.get("ok"):
            self.log.write("[bench] %s failed: %s\n%s\n" % (program, rep.get("error"),
                                                           rep.get("traceback", "")))
            self.log.write("[bench] restarting the worker: its runtime state is unknown now\n")
            self.log.flush()
            self.last_error = rep.get("error")
            self.stop()  # the next request starts a fresh worker (and runtime)
            raise BackendError(rep.get("error"))
        return rep["result"]

    def stop(self):
        if self.proc is None:
            return
        try:
            self._request({"op": "exit"}, timeout=60)
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001
            pass
        self.kill()

    def kill(self):
        """Kill this worker's own process group (it was started in a new session)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.proc = None


def cpu_busy(seconds=1.0):
    """Fraction of all CPUs busy over ``seconds`` (from /proc/stat; None if unavailable)."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return sum(v), idle
    try:
        t0, i0 = snap()
        time.sleep(seconds)
        t1, i1 = snap()
    except (OSError, ValueError, IndexError):
        return None
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def unit_of(name, mode):
    w = WORKLOADS[name]
    if name == "sync_q":
        n = w["params"][mode]["rounds"] - 1
        return "s / %d round%s" % (n, "" if n == 1 else "s")
    return w["unit"]


def median(xs):
    return statistics.median(xs) if xs else None


def speedup(a, b, higher_is_better):
    """How much faster contender a is than b (>1: a is faster)."""
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return a / b if higher_is_better else b / a


def fmt_value(v):
    if v is None:
        return "-"
    if v >= 1000:
        return "{:,.0f}".format(v)
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def fmt_ratio(r):
    if r is None:
        return "-"
    if r < 0.1:
        return "%.3fx" % r
    return ("%.2fx" % r) if r < 10 else ("%.1fx" % r)


def build_table(report, backends):
    lines = []
    ratio_cols = []
    if "rayreact" in backends and "serial" in backends:
        ratio_cols.append(("rayreact", "serial"))
    if "rayreact" in backends and "ray" in backends:
        ratio_cols.append(("rayreact", "ray"))
    if "ray" in backends and "serial" in backends:
        ratio_cols.append(("ray", "serial"))
    header = ["workload", "unit"] + list(backends) + ["%s / %s" % rc for rc in ratio_cols]
    header.append("same results")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 3) + ["---"]) + "|")
    for name, w in report["workloads"].items():
        row = [w["title"], w["unit"]]
        for b in backends:
            cell = w["backends"][b]
            if cell["median"] is not None:
                txt = fmt_value(cell["median"])
                if cell["errors"]:
                    txt += " (%d err)" % len(cell["errors"])
                row.append(txt)
            elif cell["errors"]:
                row.append("ERROR")
            else:
                row.append("-")
        for a, b in ratio_cols:
            row.append(fmt_ratio(speedup(w["backends"][a]["median"], w["backends"][b]["median"],
                                         w["higher_is_better"])))
        row.append(w.get("consistent", "-"))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def build_setup_table(report, backends):
    """Median actor start-up time (creating the actors + the first, untimed round)."""
    lines = ["| workload | " + " | ".join(backends) + " |",
             "|---|" + "|".join(["---:"] * len(backends)) + "|"]
    for name, w in report["workloads"].items():
        key = WORKLOADS[name].get("setup_key", "setup_s")
        row = [w["title"]]
        for b in backends:
            xs = [r[key] for r in w["backends"][b]["results"] if key in r]
            row.append(("%.2f" % median(xs)) if xs else "-")
        if any(x != "-" for x in row[1:]):
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) if len(lines) > 2 else None


def fingerprint(result, keys):
    return json.dumps({k: result.get(k) for k in keys}, sort_keys=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="rayreact vs Ray vs serial, interleaved.")
    parser.add_argument("--quick", action="store_true", help="short workloads, 3 repetitions")
    parser.add_argument("--smoke", action="store_true",
                        help="a few iterations of every workload on serial and rayreact; "
                             "exit status 1 if any fails")
    parser.add_argument("--only", default=None,
                        help="comma-separated workloads: " + ",".join(WORKLOADS))
    parser.add_argument("--reps", type=int, default=None, help="measured repetitions")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up repetitions")
    parser.add_argument("--backends", default=None,
                        help="comma-separated, from rayreact,ray,serial (default: all)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds allowed for one repetition before a worker is killed")
    parser.add_argument("--settle", type=float, default=None,
                        help="pause (s) before each repetition, for the previous one's "
                             "actors to exit")
    parser.add_argument("--out", default=None,
                        help="JSON report (default bench/results/latest.json; "
                             "bench/results/smoke.json with --smoke)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        worker_main(args.worker)
        return 0

    mode = "smoke" if args.smoke else ("quick" if args.quick else "full")
    if args.out is None:
        args.out = os.path.join(RESULTS_DIR, "smoke.json" if args.smoke else "latest.json")
    defaults = {"full": (5, 1, 900, 1.0), "quick": (3, 1, 600, 0.5), "smoke": (1, 0, 300, 0.0)}
    d_reps, d_warm, d_timeout, d_settle = defaults[mode]
    reps = args.reps if args.reps is not None else d_reps
    warmup = args.warmup if args.warmup is not None else d_warm
    timeout = args.timeout if args.timeout is not None else d_timeout
    settle = args.settle if args.settle is not None else d_settle
    if args.backends:
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    else:
        backends = ["serial", "rayreact"] if args.smoke else list(ALL_BACKENDS)
    for b in backends:
        if b not in ALL_BACKENDS:
            parser.error("unknown backend %r" % b)
    names = list(WORKLOADS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        for n in names:
            if n not in WORKLOADS:
                parser.error("unknown workload %r (choose from %s)" % (n, ", ".join(WORKLOADS)))

    os.makedirs(RESULTS_DIR, exist_ok=True)
    log_dir = os.path.join(RESULTS_DIR, "logs")
    os.makedirs(log_dir, exist_ok=True)
    for b in backends:
        open(os.path.join(log_dir, "worker-%s.log" % b), "w").close()

    report = {
        "meta": {
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "mode": mode, "reps": reps, "warmup": warmup, "backends": backends,
            "python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "order": "interleaved: for each repetition, for each "
            "workload, one run per backend in the order listed",
        },
        "workloads": {},
    }
    for n in names:
        w = WORKLOADS[n]
        report["workloads"][n] = {
            "title": w["title"], "unit": unit_of(n, mode), "metric": w["metric"],
            "higher_is_better": w["higher_is_better"], "params": w["params"][mode],
            "backends": {b: {"samples": [], "median": None, "errors": [], "results": []}
                         for b in backends},
        }

    workers = {b: Worker(b, timeout, log_dir) for b in backends}
    t_begin = time.perf_counter()
    print("bench: mode=%s reps=%d warmup=%d backends=%s workloads=%s"
          % (mode, reps, warmup, ",".join(backends), ",".join(names)), flush=True)
    busy = cpu_busy()
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    report["meta"]["cpu_busy_before"] = busy
    report["meta"]["loadavg_before"] = load1
    loaded = ((busy is not None and busy > 0.2)
              or (load1 is not None and load1 > 0.5 * (os.cpu_count() or 1)))
    if loaded:
        print("bench: WARNING: the machine is already busy (%s CPU busy, load average %.1f "
              "on %d CPUs); timings will be noisy"
              % ("%.0f%%" % (100 * busy) if busy is not None else "?", load1 or 0.0,
                 os.cpu_count() or 1), flush=True)

    def one(rep_label, name, backend, record):
        w = WORKLOADS[name]
        cell = report["workloads"][name]["backends"][backend]
        if settle:
            time.sleep(settle)
        t0 = time.perf_counter()
        try:
            res = workers[backend].run(w["program"], w["params"][mode])
        except BackendError as e:
            msg = str(e)
            print("  %-6s %-12s %-9s ERROR %s" % (rep_label, name, backend, msg[:200]),
                  flush=True)
            if record or not cell["errors"]:
                cell["errors"].append(msg)
            return
        value = res[w["metric"]]
        print("  %-6s %-12s %-9s %10s %-13s (%.1f s wall)"
              % (rep_label, name, backend, fmt_value(value), unit_of(name, mode),
                 time.perf_counter() - t0), flush=True)
        if record:
            cell["samples"].append(value)
            cell["results"].append(res)

    try:
        for i in range(warmup):
            for name in names:
                for b in backends:
                    one("warm%d" % (i + 1), name, b, record=False)
        for i in range(reps):
            for name in names:
                for b in backends:
                    one("rep%d" % (i + 1), name, b, record=True)
    except KeyboardInterrupt:
        print("interrupted: reporting what was measured", flush=True)
    finally:
        for wk in workers.values():
            wk.stop()

    # Medians, ratios, consistency of results across backends.
    for name in names:
        w = report["workloads"][name]
        keys = WORKLOADS[name]["fingerprint"]
        prints = {}
        for b in backends:
            cell = w["backends"][b]
            cell["median"] = median(cell["samples"])
            cell["min"] = min(cell["samples"]) if cell["samples"] else None
            cell["max"] = max(cell["samples"]) if cell["samples"] else None
            if keys and cell["results"]:
                prints[b] = {fingerprint(r, keys) for r in cell["results"]}
        if keys and len(prints) >= 2:
            distinct = set().union(*prints.values())
            w["consistent"] = "yes" if len(distinct) == 1 else "NO"
        ratios = {}
        for a in backends:
            for b in backends:
                if a != b:
                    ratios["%s/%s" % (a, b)] = speedup(
                        w["backends"][a]["median"], w["backends"][b]["median"],
                        w["higher_is_better"])
        w["speedup"] = ratios
    report["meta"]["init_s"] = {b: workers[b].init_s for b in backends}
    report["meta"]["wall_s"] = time.perf_counter() - t_begin

    table = build_table(report, backends)
    report["table_markdown"] = table
    print()
    print("Medians of %d repetition(s) after %d warm-up(s); ratios = speed of the first "
          "relative to the second (>1: faster); \"same results\" = identical seeded results "
          "on every backend." % (reps, warmup))
    print()
    print(table)
    setup_table = build_setup_table(report, backends)
    if setup_table:
        report["setup_table_markdown"] = setup_table
        print()
        print("Actor start-up, seconds (median; creating the actors and their first round, "
              "not included above):")
        print()
        print(setup_table)
    errors = [(n, b, e) for n in names for b in backends
              for e in report["workloads"][n]["backends"][b]["errors"]]
    if errors:
        print()
        print("Errors:")
        seen = set()
        for n, b, e in errors:
            if (n, b, e) not in seen:
                seen.add((n, b, e))
                print("- %s on %s: %s" % (n, b, e))
    if loaded:
        print()
        print("Note: the machine was busy with other work when the run started "
              "(load average %.1f); expect noisy timings." % (load1 or 0.0))
    inits = ", ".join("%s %s" % (b, "/".join("%.1f s" % x for x in workers[b].init_s) or "-")
                      for b in backends)
    print()
    print("init(): %s; total wall time %.0f s; logs in %s" % (inits, report["meta"]["wall_s"],
                                                               os.path.relpath(log_dir, ROOT)))

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1, default=str)
    print("results written to %s" % os.path.relpath(os.path.abspath(args.out), ROOT))

    if args.smoke:
        missing = [(n, b) for n in names for b in backends
                   if not report["workloads"][n]["backends"][b]["samples"]]
        if errors or missing:
            print("smoke: FAILED (%s)" % ", ".join("%s on %s" % nb for nb in
                                                  sorted(set(missing) | {(n, b) for n, b, _ in errors})))
            return 1
        print("smoke: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
