"""python -m rayreact runs unmodified Ray scripts with python's argv, __name__ and exit codes."""

import os
import subprocess
import sys
import textwrap


def run(tmp_path, source, *args, options=()):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(source))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-m", "rayreact", *options, str(script), *args],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)


def test_imports_resolve_to_rayreact_and_argv_name_exit_code(tmp_path):
    r = run(tmp_path, """
        import sys
        import ray
        import ray.util.queue
        from ray.util import ActorPool
        from ray.exceptions import RayTaskError

        @ray.remote
        def sq(x):
            return x * x

        print(ray.__name__, ray.util.queue.Queue.__module__, RayTaskError.__module__)
        print(sys.argv[1:], __name__)
        print(ray.get([sq.remote(i) for i in range(4)]))
        sys.exit(7)
    """, "a", "--flag")
    assert r.returncode == 7, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "rayreact rayreact.util.queue rayreact.exceptions"
    assert lines[1] == "['a', '--flag'] __main__"
    assert lines[2] == "[0, 1, 4, 9]"


def test_uncaught_exception_exits_1_with_traceback(tmp_path):
    r = run(tmp_path, """
        import ray

        @ray.remote
        def boom():
            raise KeyError("nope")

        ray.get(boom.remote())
    """)
    assert r.returncode == 1
    assert "KeyError" in r.stderr and "nope" in r.stderr


def test_file_is_absolute_argv_as_given_and_tracebacks_start_at_the_script(tmp_path):
    # As python script.py: __file__ absolute (3.9+), sys.argv[0] as typed, and an uncaught
    # exception's traceback shows the script's frames only (none of rayreact's or runpy's).
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "prog.py").write_text(textwrap.dedent("""
        import os, sys
        print(os.path.isabs(__file__), sys.argv[0])
        def f():
            raise ValueError("boom")
        f()
    """))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    r = subprocess.run([sys.executable, "-m", "rayreact", "sub/prog.py"], capture_output=True,
                       text=True, timeout=120, cwd=tmp_path, env=env)
    assert r.returncode == 1
    assert r.stdout.splitlines() == ["True sub/prog.py"]
    frames = [line for line in r.stderr.splitlines() if line.lstrip().startswith("File ")]
    assert len(frames) == 2 and all(str(tmp_path / "sub" / "prog.py") in f for f in frames), \
        r.stderr
    assert r.stderr.rstrip().endswith("ValueError: boom")


def test_module_next_to_script_is_importable_in_workers(tmp_path):
    (tmp_path / "helper.py").write_text("def triple(x):\n    return 3 * x\n")
    r = run(tmp_path, """
        import ray
        import helper

        @ray.remote
        def f(x):
            return helper.triple(x)

        print(ray.get(f.remote(5)))
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "15"


def test_prints_from_actors_and_tasks_reach_stdout(tmp_path):
    # Output is piped (not a terminal): without unbuffered workers it would be lost when
    # shutdown ends them.
    r = run(tmp_path, """
        import ray

        @ray.remote
        class A:
            def hello(self):
                print("hello from actor", flush=False)
                return 1

        @ray.remote
        def task():
            print("hello from task")
            return 2

        print(ray.get([A.remote().hello.remote(), task.remote()]))
    """)
    assert r.returncode == 0, r.stderr
    assert "hello from actor" in r.stdout and "hello from task" in r.stdout


_LOOP = """
    import ray

    @ray.remote
    class Worker:
        def step(self, x):
            return x + 1

    workers = [Worker.remote() for _ in range(2)]
    for _ in range(20):
        print(ray.get([w.step.remote(1) for w in workers]))
    print(ray.get_runtime_context() is not None)
"""


def test_graph_option_writes_the_reactor_graph_when_the_program_ends(tmp_path):
    r = run(tmp_path, _LOOP, options=("--graph", "loop.dot"))
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "loop.dot").read_text()
    assert text.startswith("digraph") and "Worker[0]" in text and "Worker[1]" in text


def test_deterministic_and_compiled_options_set_the_init_defaults(tmp_path):
    source = """
        import ray
        ray.init()
        from rayreact._private import api
        print(api._rt.deterministic, api._rt.compiled)
    """
    r = run(tmp_path, source, options=("--deterministic", "false", "--compiled", "false"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]
    r = run(tmp_path, source)
    assert r.stdout.split() == ["True", "True"], r.stderr
    r = run(tmp_path, source, options=("--compiled", "maybe"))
    assert r.returncode == 2 and "--compiled" in r.stderr
