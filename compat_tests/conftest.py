"""Ray-compatibility tests: every test runs against real Ray (the oracle) and rayreact.

Options:
    --backend=ray|rayreact|both   (default: both)

Fixtures:
    ray     the backend module (``ray`` or ``rayreact``), initialised. Each backend is
            initialised once per session (lazily, on its first test) and shut down at the
            end. Test ids end in ``[ray]`` / ``[rayreact]``, so ``-k rayreact`` selects ours.
    fresh   the backend module, shut down (not initialised) for tests of init / shutdown /
            re-init semantics. Tests using it run after all others of their backend; the
            backend is shut down again after each of them, and re-initialised lazily only if
            a later test needs it.
    gate    a :class:`Gate`: remote code blocks on it until the test releases it.

``rayreact`` is imported only inside the fixtures, never at collection: the ray param does
not need it.
"""

import importlib
import importlib.util
import logging
import os
import socket

import pytest

# Ray prints "Unhandled error" for every failed ref that is garbage collected unread;
# the tests produce many on purpose.
os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")
# Ray's GCS declares its raylet dead after 5 missed health checks of 10 s, and the driver
# (this pytest process) then exits with status 1 and no output: on this 2-core machine,
# busy with rayreact's workers, that happened mid-suite. A node on one machine cannot be
# partitioned away, so allow it all the time it needs.
os.environ.setdefault("RAY_health_check_failure_threshold", "1000")
os.environ.setdefault("RAY_health_check_timeout_ms", "60000")

ALL_BACKENDS = ("ray", "rayreact")
DEFAULT_TIMEOUT_S = 90


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        action="store",
        default="both",
        choices=("ray", "rayreact", "both"),
        help="which implementation(s) the compat tests run against (default: both)",
    )


def _selected_backends(config):
    choice = config.getoption("backend")
    return list(ALL_BACKENDS) if choice == "both" else [choice]


def _ray_importable():
    return importlib.util.find_spec("ray") is not None


def pytest_generate_tests(metafunc):
    for fixture_name in ("ray", "fresh"):
        if fixture_name in metafunc.fixturenames:
            params = []
            for name in _selected_backends(metafunc.config):
                marks = []
                if name == "ray" and not _ray_importable():
                    marks = [pytest.mark.skip(reason="ray is not installed")]
                params.append(pytest.param(name, id=name, marks=marks))
            metafunc.parametrize(fixture_name, params, indirect=True)


def _backend_of(item):
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    return callspec.params.get("ray", callspec.params.get("fresh"))


def pytest_collection_modifyitems(config, items):
    """Group by backend (ray first), and put the ``fresh`` tests last in each group.

    This way each backend is initialised once and the two runtimes are never up together,
    and init/shutdown tests do not force an extra re-init of the shared session. Also give
    every compat test a default timeout, so that a hang fails instead of blocking the run.
    """
    here = os.path.dirname(os.path.abspath(__file__)) + os.sep

    def key(item):
        backend = _backend_of(item)
        if backend is None or not str(item.path).startswith(here):
            return (0, 0)
        uses_fresh = "fresh" in getattr(item, "fixturenames", ())
        return (1 + ALL_BACKENDS.index(backend), int(uses_fresh))

    items.sort(key=key)  # stable: file and definition order kept inside a group
    if not config.pluginmanager.hasplugin("timeout"):
        return
    for item in items:
        if str(item.path).startswith(here) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT_S))


def init_backend(mod):
    """Initialise ``mod`` the way the shared session is started."""
    if mod.__name__ == "ray":
        mod.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
        )
    else:
        mod.init(num_cpus=2)


class _Sessions:
    """Starts each backend at most once per pytest session (lazily) and stops it at the end."""

    def __init__(self):
        self.modules = {}

    def module(self, name):
        if name not in self.modules:
            self.modules[name] = importlib.import_module(name)
        return self.modules[name]

    def acquire(self, name, initialised=True):
        """The backend module, initialised (or shut down if ``initialised`` is False)."""
        # Never keep two runtimes up together (2-core machine): stop the other one.
        for other, mod in self.modules.items():
            if other != name and mod.is_initialized():
                mod.shutdown()
        mod = self.module(name)
        if initialised and not mod.is_initialized():
            init_backend(mod)
        elif not initialised and mod.is_initialized():
            mod.shutdown()
        return mod

    def close(self):
        for mod in self.modules.values():
            try:
                if mod.is_initialized():
                    mod.shutdown()
            except Exception:  # pragma: no cover - best effort at session end
                pass


@pytest.fixture(scope="session")
def _sessions():
    sessions = _Sessions()
    yield sessions
    sessions.close()


@pytest.fixture
def ray(request, _sessions):
    """The backend module under test, initialised (shared session)."""
    return _sessions.acquire(request.param)


@pytest.fixture
def fresh(request, _sessions):
    """The backend module, shut down; shut down again after the test."""
    mod = _sessions.acquire(request.param, initialised=False)
    assert not mod.is_initialized()
    yield mod
    if mod.is_initialized():
        mod.shutdown()


# ---------------------------------------------------------------------------------------
# Gate: deterministic blocking of remote code, released by the test (no sleeps).
# ---------------------------------------------------------------------------------------
def _make_gate_waiter():
    # Defined in a closure so that both backends' cloudpickle ship it by value (workers
    # cannot import this conftest module).
    def wait_at_gate(port):
        import socket as _socket

        conn = _socket.create_connection(("127.0.0.1", port))
        try:
            return conn.recv(1).decode() or "closed"
        finally:
            conn.close()

    return wait_at_gate


class Gate:
    """A listening socket that remote code blocks on until :meth:`release`.

    Remote code calls ``gate.waiter(gate.port)`` (``waiter`` is a plain function that can be
    used inside tasks and actor methods); it connects and blocks reading one byte, then
    returns ``"x"``. The test calls :meth:`entered` to wait until ``n`` callers are blocked
    (so it *knows* they are running), and :meth:`release` to let them all return.
    """

    def __init__(self, accept_timeout_s=60.0):
        self._srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(64)
        self._srv.settimeout(accept_timeout_s)
        self.port = self._srv.getsockname()[1]
        self.waiter = _make_gate_waiter()
        self._conns = []

    def entered(self, n=1):
        """Block until ``n`` more callers are waiting at the gate."""
        for _ in range(n):
            conn, _ = self._srv.accept()
            self._conns.append(conn)

    def release(self):
        """Let every caller that has entered return ``"x"``."""
        for conn in self._conns:
            try:
                conn.sendall(b"x")
            finally:
                conn.close()
        self._conns = []

    def close(self):
        self.release()
        self._srv.close()  # callers not yet accepted get a connection error and end


@pytest.fixture
def gate():
    g = Gate()
    yield g
    g.close()
