"""Workers' prints reach the driver as Ray 2.60 prints them: "(Name pid=N) line" (output.py).

(Ray's own delivery is asynchronous and may drop a worker's last lines at shutdown, so these
facts, checked by hand against Ray 2.60, are tested on rayreact only.)
"""

import io
import os
import re

from rayreact._private import output

from helpers import run_script

PROGRAM = """
import sys
import rayreact as ray

ray.init(num_cpus=1{init})

@ray.remote
class Greeter:
    def hello(self, i):
        print("hello", i)
        print("to stderr", i, file=sys.stderr)
        return i

@ray.remote
class Named:
    def __repr__(self):
        return "Named(7)"

    def hi(self):
        print("hi")

@ray.remote
def task(i):
    print("from task", i, end="")  # one line in two writes
    print("", i)
    return i

g, n = Greeter.remote(), Named.remote()
print("driver", ray.get([g.hello.remote(1), task.remote(2), task.options(name="custom").remote(3),
                         n.hi.remote()]))
"""


def _run(init="", **env):
    r = run_script(PROGRAM.format(init=init), env=dict(os.environ, **env))
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines(), r.stderr.splitlines()


def test_worker_lines_are_prefixed_with_the_actor_or_task_and_pid():
    out, err = _run()
    cyan, reset = "\x1b[36m", "\x1b[0m"
    pid = r"pid=\d+"
    assert any(re.fullmatch(rf"{re.escape(cyan)}\(Greeter {pid}\){re.escape(reset)} hello 1", x)
               for x in out), out
    assert any(re.fullmatch(rf".*\(task {pid}\).* from task 2 2", x) for x in out), out
    assert any(re.fullmatch(rf".*\(custom {pid}\).* from task 3 3", x) for x in out), out
    assert any(re.fullmatch(rf".*\(Named\(7\) {pid}\).* hi", x) for x in out), out  # its repr
    assert any(re.fullmatch(rf".*\(Greeter {pid}\).* to stderr 1", x) for x in err), err
    assert "driver [1, 2, 3, None]" in out  # the driver's own lines are not prefixed


def test_ray_color_prefix_0_prints_no_colour():
    out, _ = _run(RAY_COLOR_PREFIX="0")
    assert any(re.fullmatch(r"\(Greeter pid=\d+\) hello 1", x) for x in out), out


def test_log_to_driver_false_prints_nothing_of_the_workers():
    out, err = _run(init=", log_to_driver=False")
    assert out == ["driver [1, 2, 3, None]"]
    assert not any("to stderr" in x for x in err)


def test_prefixed_lines_start_a_prefix_only_at_line_starts(monkeypatch):
    monkeypatch.setenv("RAY_COLOR_PREFIX", "0")
    sink = io.StringIO()
    names = iter(["a", "b", "c"])
    s = output.PrefixedLines(sink, lambda: next(names))
    s.write("x")
    s.write("y\nz")
    s.write("\n")
    pid = os.getpid()
    assert sink.getvalue() == f"(a pid={pid}) xy\n(b pid={pid}) z\n"


def test_a_line_goes_out_in_one_write_when_complete(monkeypatch):
    # print() writes "hi" and "\n" separately; another worker's line must not land between.
    monkeypatch.setenv("RAY_COLOR_PREFIX", "0")
    writes = []

    class Raw(io.StringIO):
        def write(self, s):
            writes.append(s)
            return len(s)

    raw = Raw()
    a, b = output.PrefixedLines(raw, lambda: "A"), output.PrefixedLines(raw, lambda: "B")
    a.write("hi")
    b.write("hello\n")
    a.write("\n")
    a.write("tail")
    assert writes == [f"(B pid={os.getpid()}) hello\n", f"(A pid={os.getpid()}) hi\n"]
    a.flush()  # (also at exit) the unfinished line goes out
    assert writes[-1] == f"(A pid={os.getpid()}) tail"
