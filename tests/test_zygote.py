"""Workers forked by the session's zygote behave as fresh interpreters would (zygote.py)."""

import os

import numpy.random  # noqa: F401 - so that the zygote preloads it (its state is per process)
import psutil

from helpers import run_script


def test_workers_are_forked_by_the_zygote_not_by_the_driver(rr):
    from rayreact._private import api

    zygote = api._node.zygote
    assert zygote is not None and zygote.poll() is None

    @rr.remote
    class A:
        def parent(self):
            return os.getppid()

    a, b = A.remote(), A.remote()
    assert rr.get([a.parent.remote(), b.parent.remote()]) == [zygote.pid] * 2
    assert zygote.pid != os.getpid()


def test_each_worker_has_its_own_numpy_and_random_state(rr):
    # Forked children would share their template's generator state: each must be reseeded.
    @rr.remote
    class A:
        def draw(self):
            import random

            import numpy as np

            return float(np.random.rand()), random.random()

    draws = rr.get([A.remote().draw.remote() for _ in range(3)])
    assert len({d[0] for d in draws}) == 3 and len({d[1] for d in draws}) == 3


def test_each_worker_has_its_own_torch_random_state():
    # torch imported before init: the zygote preloads it, and its children must not share
    # its default generator's seed (unseeded sampling would repeat in every actor).
    r = run_script("""
        import torch, rayreact as ray
        ray.init(num_cpus=1)
        @ray.remote
        class A:
            def draw(self):
                return torch.initial_seed(), float(torch.rand(1))
        draws = ray.get([A.remote().draw.remote() for _ in range(3)])
        assert len({d[0] for d in draws}) == 3 and len({d[1] for d in draws}) == 3, draws
        print("ok")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_subprocesses_started_by_an_actor_report_their_exit_status(rr):
    # The zygote ignores SIGCHLD (the kernel reaps its children); a worker must not inherit
    # that, or waitpid in the worker fails and subprocess invents exit status 0.
    @rr.remote
    class A:
        def run(self, code):
            import subprocess
            import sys

            return subprocess.run([sys.executable, "-c", f"raise SystemExit({code})"]).returncode

    a = A.remote()
    assert rr.get([a.run.remote(0), a.run.remote(3)]) == [0, 3]


def test_a_worker_sees_the_drivers_environment_sys_path_and_directory_at_creation(rr, tmp_path):
    (tmp_path / "late_module.py").write_text("VALUE = 42\n")
    import sys

    sys.path.insert(0, str(tmp_path))
    os.environ["RAYREACT_TEST_LATE_VAR"] = "set after init"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        @rr.remote
        class A:
            def look(self):
                import late_module

                return (os.environ.get("RAYREACT_TEST_LATE_VAR"), late_module.VALUE,
                        os.getcwd())

        assert rr.get(A.remote().look.remote()) == ("set after init", 42, str(tmp_path))
    finally:
        os.chdir(cwd)
        sys.path.remove(str(tmp_path))
        del os.environ["RAYREACT_TEST_LATE_VAR"]


def test_without_the_zygote_workers_start_as_fresh_interpreters():
    r = run_script("""
        import os, psutil, rayreact as ray
        ray.init(num_cpus=1)
        @ray.remote
        class A:
            def cmd(self):
                return psutil.Process().cmdline()
        cmd = ray.get(A.remote().cmd.remote())
        assert "rayreact._private.worker" in cmd, cmd
        assert ray._private.api._node.zygote is None
        print("ok")
    """, env={**os.environ, "RAYREACT_ZYGOTE": "0"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_the_zygote_exits_with_the_session(rr):
    from rayreact._private import api

    pid = api._node.zygote.pid
    rr.shutdown()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    rr.init(num_cpus=2)  # the fixture shuts down once more


def test_packages_imported_after_init_are_preloaded_before_the_next_fork():
    # A program that calls init first and imports a package later (with its actor classes):
    # the zygote imports it once before forking, so the actors share it instead of each
    # importing it. The actor's class does not refer to idna: only the zygote can have it.
    r = run_script("""
        import sys, rayreact as ray
        ray.init(num_cpus=1)
        @ray.remote
        class A:
            def has(self, name):
                return name in sys.modules
        first = A.remote()
        assert ray.get(first.has.remote("idna")) is False
        import idna
        later = A.remote()
        assert ray.get(later.has.remote("idna")) is True
        assert ray.get(first.has.remote("idna")) is False  # a running worker is left alone
        print("ok")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_a_late_package_that_starts_a_thread_ends_forking_not_the_program(tmp_path):
    # Forking with a second thread running is unsafe: the zygote exits instead, and this
    # worker and later ones start as fresh interpreters.
    pkg = tmp_path / "site-packages"
    pkg.mkdir()
    (pkg / "rr_threaded_pkg.py").write_text(
        "import threading\n"
        "threading.Thread(target=threading.Event().wait, daemon=True).start()\n")
    r = run_script("""
        import sys, psutil, rayreact as ray
        ray.init(num_cpus=1)
        import rr_threaded_pkg
        @ray.remote
        class A:
            def cmd(self):
                return psutil.Process().cmdline()
        a, b = A.remote(), A.remote()
        cmds = ray.get([a.cmd.remote(), b.cmd.remote()])
        assert all("rayreact._private.worker" in c for c in cmds), cmds
        print("ok")
    """, env={**os.environ, "PYTHONPATH": str(pkg)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
