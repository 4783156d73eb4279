"""Running the suite: host processes, the interleaved measurement loop, statistics, progress
and the description of the machine.

    parent (python -m bench)                         hosts (python -m bench.host NAME)
    for each family:                                 +------------------------------+
      setup every contender (hosts work at once) --> | rayreact      init(compiled=True)
      for each repetition (warm-up first):           | rayreact-dyn  init(compiled=False)
        for each contender (order rotates):          | ray           ray.init()
          for each row of the family:                | ray-cg        ray.init() of its own
            one measurement, one JSON reply  <-----> | serial        inline shim
          release (compiled graphs torn down)        | peer          vector envs
      teardown every contender                       +------------------------------+

Every host lives for the whole run (one runtime start each); a family's actors live from its
setup to its teardown, so actor start-up is paid once per family and contender and is not
part of any measurement. A host that dies or times out is killed (its whole process group)
and started again on next use.
"""

import json
import os
import platform
import select
import signal
import statistics
import subprocess
import sys
import time

import psutil

from bench.contenders import CONTENDERS, RAYREACT

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)


class HostError(Exception):
    pass


class HostProc:
    """One host subprocess, in its own session (so that it, and everything it started, can
    be killed as a group). Requests are JSON lines; replies come back in order."""

    MAX_STARTS = 3

    def __init__(self, name, mode, log_dir):
        self.name = name
        self.mode = mode
        self.log_path = os.path.join(log_dir, "host-%s.log" % name)
        open(self.log_path, "w").close()
        self.proc = None
        self.starts = 0
        self.ready = set()  # (family, contender) set up in the current process
        self.init_s = []
        self.dead_reason = None  # set when the host cannot be (re)started

    # --- process ---
    def launch(self):
        if self.starts >= self.MAX_STARTS:
            self.dead_reason = self.dead_reason or "gave up after %d starts" % self.starts
            raise HostError(self.dead_reason)
        self.starts += 1
        self.ready.clear()
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.host", self.name], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=log, cwd=ROOT, env=env, start_new_session=True,
            bufsize=0)
        self._buf = b""  # replies read from the pipe, not yet returned
        log.close()
        self.send({"op": "init", "mode": self.mode})

    def finish_launch(self, timeout=240):
        rep = self.recv(timeout)
        if not rep.get("ok"):
            self.kill()
            self.dead_reason = "init failed: %s" % rep.get("error")
            self.starts = self.MAX_STARTS
            raise HostError(self.dead_reason)
        self.init_s.append(rep["init_s"])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send(self, msg):
        try:
            self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        except (BrokenPipeError, OSError, AttributeError) as e:
            self.kill()
            raise HostError("host %s: pipe closed (%s); see %s" % (self.name, e, self.log_path))

    def recv(self, timeout):
        """The next reply. The pipe is read unbuffered, into our own buffer: a buffered
        reader could hold a second reply that ``select`` would then never announce."""
        if self.proc is None:
            raise HostError("host %s is not running" % self.name)
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line, self._buf = self._buf[:nl], self._buf[nl + 1:]
                return json.loads(line)
            left = deadline - time.monotonic()
            if left <= 0:
                self.dump_stacks()
                self.kill()
                raise HostError("host %s: no reply within %.0f s (killed; its stacks are in %s)"
                                % (self.name, timeout, self.log_path))
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if ready:
                data = os.read(fd, 1 << 16)
                if data:
                    self._buf += data
                    continue
                try:  # end of file: the host is gone
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.kill()
                raise HostError("host %s exited (%s); see %s" % (self.name, _exit_text(rc),
                                                                 self.log_path))

    def request(self, msg, timeout):
        if not self.alive():
            self.launch()
            self.finish_launch()
        self.send(msg)
        return self.recv(timeout)

    def dump_stacks(self):
        """Have the host write every thread's stack to its log (faulthandler, SIGUSR1)."""
        try:
            os.kill(self.proc.pid, signal.SIGUSR1)
            time.sleep(0.5)
        except (ProcessLookupError, AttributeError):
            pass

    def kill(self):
        """Kill the host's whole process group (Ray's own processes are in it too)."""
        self.ready.clear()
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        self.proc = None


def _exit_text(rc):
    if rc is not None and rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            pass
    return "exit code %s" % rc


# --------------------------------------------------------------------------------------
# The measurement loop
# --------------------------------------------------------------------------------------

class Cell:
    """One (case, contender): its samples and what went wrong."""

    def __init__(self):
        self.samples = []
        self.results = []
        self.errors = []
        self.failed = False  # stop measuring it (after an error)

    def stats(self):
        if not self.samples:
            return None
        return {"median": statistics.median(self.samples), "min": min(self.samples),
                "max": max(self.samples), "n": len(self.samples)}


class Suite:
    def __init__(self, families, contenders, mode, reps, warmup, timeout, log_dir,
                 progress=None):
        self.families = families  # [(family name, [Case])]
        self.contenders = contenders
        self.mode = mode
        self.reps = reps
        self.warmup = warmup
        self.timeout = timeout
        self.progress = progress
        self.cells = {}  # (case key, contender) -> Cell
        self.skipped = {}  # case key -> reason
        self.setup_s = {}  # (family, contender) -> seconds
        needed = sorted({CONTENDERS[c].host for c in contenders})
        self.hosts = {h: HostProc(h, mode, log_dir) for h in needed}

    def host_of(self, contender):
        return self.hosts[CONTENDERS[contender].host]

    def cell(self, case, contender):
        return self.cells.setdefault((case.key, contender), Cell())

    def _tick(self, text, n=1):
        if self.progress is not None:
            self.progress.set_postfix_str(text[:60], refresh=False)
            self.progress.update(n)

    # --- hosts ---
    def start_hosts(self):
        for h in self.hosts.values():
            try:
                h.launch()
            except HostError:
                pass
        for h in self.hosts.values():
            if h.proc is not None:
                try:
                    h.finish_launch()
                except HostError:
                    pass

    def stop_hosts(self, timeout=60):
        """Ask every host to shut its runtime down and exit, all at once; kill the stragglers
        (and always each host's whole process group)."""
        asked = []
        for h in self.hosts.values():
            if h.alive():
                try:
                    h.send({"op": "exit"})
                    asked.append(h)
                except HostError:
                    pass
        deadline = time.monotonic() + timeout
        for h in asked:
            try:
                h.recv(max(1.0, deadline - time.monotonic()))
                h.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except (HostError, subprocess.TimeoutExpired, AttributeError):
                pass
        for h in self.hosts.values():
            h.kill()

    # --- one family ---
    def _setup(self, family, contenders):
        """Set every contender up, hosts working at once; returns {contender: error}."""
        errors = {}
        pending = []
        for c in contenders:
            h = self.host_of(c)
            if h.dead_reason:
                errors[c] = h.dead_reason
                continue
            try:
                if not h.alive():
                    h.launch()
                    h.finish_launch()
                h.send({"op": "setup", "family": family, "contender": c})
                pending.append(c)
            except HostError as e:
                errors[c] = str(e)
        for c in pending:
            h = self.host_of(c)
            try:
                rep = h.recv(max(self.timeout, 600))
            except HostError as e:
                errors[c] = "setup: %s" % e
                continue
            if rep.get("ok"):
                h.ready.add((family, c))
                self.setup_s[(family, c)] = rep["seconds"]
            else:
                errors[c] = "setup: %s" % rep.get("error")
                _log(h, "setup of %s/%s failed:\n%s" % (family, c, rep.get("traceback", "")))
        return errors

    def _ensure(self, family, contender):
        h = self.host_of(contender)
        if (family, contender) in h.ready:
            return
        errors = self._setup(family, [contender])
        if contender in errors:
            raise HostError(errors[contender])

    def _measure(self, case, contender, record):
        cell = self.cell(case, contender)
        h = self.host_of(contender)
        try:
            self._ensure(case.family, contender)
            rep = h.request({"op": "measure", "family": case.family, "contender": contender,
                             "params": case.params}, self.timeout)
        except HostError as e:
            cell.errors.append(str(e))
            cell.failed = True
            return
        if not rep.get("ok"):
            cell.errors.append(rep.get("error"))
            cell.failed = True
            _log(h, "measure %s on %s failed:\n%s" % (case.key, contender,
                                                      rep.get("traceback", "")))
            return
        value = rep["result"].get(case.metric)
        rep["result"]["wall_s"] = round(rep.get("wall_s", 0.0), 3)  # the whole request
        if record:
            cell.samples.append(value)
            cell.results.append(rep["result"])

    def _teardown(self, family, contenders):
        pending = []
        for c in contenders:
            h = self.host_of(c)
            if (family, c) in h.ready:
                try:
                    h.send({"op": "teardown", "family": family, "contender": c})
                    pending.append(c)
                except HostError:
                    pass
                h.ready.discard((family, c))
        for c in pending:
            try:
                self.host_of(c).recv(60)
            except HostError as e:
                _log(self.host_of(c), "teardown of %s/%s: %s" % (family, c, e))

    def passes_of(self, case):
        """(warm-ups, repetitions) of a row."""
        return (self.warmup if case.warmup is None else case.warmup,
                self.reps if case.reps is None else case.reps)

    def run_family(self, family, cases):
        runnable = []
        avail = psutil.virtual_memory().available
        for case in cases:
            if case.mem_bytes and case.mem_bytes + (2 << 30) > avail:
                self.skipped[case.key] = ("skipped: needs ~%.0f GiB free, %.0f GiB available"
                                          % (case.mem_bytes / 2**30, avail / 2**30))
                self._tick(case.key, self.steps_of([case]))
                continue
            runnable.append(case)
        order = [c for c in self.contenders if any(c in k.contenders for k in runnable)]
        if not runnable or not order:
            return
        if self.progress is not None:
            self.progress.set_postfix_str("%s: starting actors" % family, refresh=True)
        for c, err in self._setup(family, order).items():
            for case in runnable:
                if c in case.contenders:
                    cell = self.cell(case, c)
                    cell.errors.append(err)
                    cell.failed = True
        # Pass p: every contender takes its turn through the rows (the order of the turns
        # rotating: A B C, B C A, ...). A row with fewer passes runs in the last ones.
        passes = max(sum(self.passes_of(case)) for case in runnable)
        try:
            for p in range(passes):
                k = p % len(order)
                for c in order[k:] + order[:k]:
                    ran = False
                    for case in runnable:
                        if c not in case.contenders:
                            continue
                        warmup, reps = self.passes_of(case)
                        q = p - (passes - warmup - reps)
                        if q < 0:
                            continue
                        if not self.cell(case, c).failed:
                            self._measure(case, c, record=q >= warmup)
                            ran = True
                        self._tick("%s %s" % (case.key, c))
                    if ran and CONTENDERS[c].kind == "cgraph":
                        self._release(family, c)
        finally:
            self._teardown(family, order)

    def _release(self, family, contender):
        h = self.host_of(contender)
        if (family, contender) not in h.ready:
            return
        try:
            rep = h.request({"op": "release", "family": family, "contender": contender}, 120)
        except HostError as e:
            _log(h, "release of %s/%s: %s" % (family, contender, e))
            return
        if not rep.get("ok"):
            _log(h, "release of %s/%s failed: %s" % (family, contender, rep.get("error")))

    def steps_of(self, cases):
        n = 0
        for case in cases:
            n += sum(1 for c in self.contenders if c in case.contenders) * sum(
                self.passes_of(case))
        return n

    def total_steps(self):
        return sum(self.steps_of(cases) for _, cases in self.families)

    def run(self):
        self.start_hosts()
        try:
            for family, cases in self.families:
                self.run_family(family, cases)
        finally:
            self.stop_hosts()


def _log(host, text):
    with open(host.log_path, "a") as f:
        f.write("[bench] %s\n" % text)


# --------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------

def speed_ratio(a, b, higher_is_better):
    """How many times faster a is than b (> 1: a is faster); None if either is missing."""
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return a / b if higher_is_better else b / a


def summarize(case, cells, contenders):
    """Medians, spreads, the best rayreact mode, ratios against it, targets, consistency."""
    stats = {c: cells[c].stats() for c in contenders if c in cells}
    med = {c: s["median"] for c, s in stats.items() if s}
    best = None
    for c in RAYREACT:
        if c in med and (best is None or speed_ratio(med[c], med[best], case.higher_is_better) > 1):
            best = c
    ratios = {}
    if best is not None:
        for c in contenders:
            if c not in RAYREACT and c in med:
                ratios[c] = speed_ratio(med[best], med[c], case.higher_is_better)
    targets = []
    for t in case.targets:
        if t.vs is not None and (t.vs not in contenders or t.vs not in case.contenders):
            continue  # not in this run
        if t.vs is None:
            v = med.get(best)
            ok = None if v is None else v < t.value
            targets.append({"text": t.text, "met": ok, "value": v})
        else:
            if t.vs in RAYREACT:  # compiled mode against the other rayreact mode
                r = (speed_ratio(med["rayreact"], med[t.vs], case.higher_is_better)
                     if "rayreact" in med and t.vs in med else None)
            else:
                r = ratios.get(t.vs)
            ok = None if r is None else (r > t.value if t.strict else r >= t.value)
            targets.append({"text": t.text, "met": ok, "ratio": r})
    consistent = None
    if case.fingerprint:
        prints = {}
        for c in contenders:
            cell = cells.get(c)
            if CONTENDERS[c].kind == "program" and cell and cell.results:
                prints[c] = json.dumps([{k: r.get(k) for k in case.fingerprint}
                                        for r in cell.results], sort_keys=True)
        if len(prints) >= 2:
            consistent = len(set(prints.values())) == 1
    return {"stats": stats, "best": best, "ratios": ratios, "targets": targets,
            "consistent": consistent}


# --------------------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------------------

PACKAGES = ("rayreact", "ray", "gymnasium", "ale-py", "torch", "numpy", "matplotlib")


def cpu_busy(seconds=1.0):
    """Fraction of all CPUs busy over ``seconds``."""
    return psutil.cpu_percent(interval=seconds) / 100.0


def machine_info():
    from importlib import metadata

    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "rayreact"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if commit and dirty:
            commit += " (rayreact/ has uncommitted changes)"
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "cpu_model": model,
        "logical_cpus": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "rayreact_commit": commit,
        "load_average": os.getloadavg(),
        "cpu_busy_before": round(cpu_busy(), 3),
    }
