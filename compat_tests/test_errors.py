"""Errors: remote exceptions, the exception hierarchy, serialisation errors, cancel."""

import socket
import threading

import pytest


def test_user_exception_is_task_error_and_user_class(ray):
    @ray.remote
    def boom():
        raise ValueError("bad value 123")

    with pytest.raises(ValueError) as info:
        ray.get(boom.remote())
    err = info.value
    assert isinstance(err, ray.exceptions.RayTaskError)
    assert isinstance(err, ray.exceptions.RayError)
    assert isinstance(err.cause, ValueError)
    assert type(err.cause) is ValueError
    assert err.cause.args == ("bad value 123",)
    text = str(err)
    # The remote traceback: the frame of the raising function and the error line.
    assert "in boom" in text
    assert "ValueError: bad value 123" in text


def test_custom_exception_class_and_attributes(ray):
    class MyError(Exception):
        def __init__(self, a, b):
            super().__init__(a, b)
            self.a = a
            self.b = b

    @ray.remote
    def boom():
        raise MyError(1, "two")

    with pytest.raises(MyError) as info:
        ray.get(boom.remote())
    err = info.value
    assert isinstance(err, ray.exceptions.RayTaskError)
    assert isinstance(err.cause, MyError)
    assert (err.cause.a, err.cause.b) == (1, "two")
    # Ray: the combined exception also exposes the cause's attributes.
    assert (err.a, err.b) == (1, "two")


def test_error_in_list_get_raises(ray):
    @ray.remote
    def ok():
        return 1

    @ray.remote
    def bad():
        raise RuntimeError("list member failed")

    with pytest.raises(RuntimeError) as info:
        ray.get([ok.remote(), bad.remote(), ok.remote()])
    assert isinstance(info.value, ray.exceptions.RayTaskError)


def test_failed_argument_fails_the_dependent_task(ray):
    @ray.remote
    def boom():
        raise ValueError("upstream")

    @ray.remote
    def ident(x):
        return x

    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(ident.remote(boom.remote()))
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value.cause, ValueError)
    assert "upstream" in str(info.value)


def test_error_propagates_through_nested_get(ray):
    @ray.remote
    def inner():
        raise IndexError("deep")

    @ray.remote
    def outer():
        return ray.get(inner.remote())

    with pytest.raises(IndexError) as info:
        ray.get(outer.remote())
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert "deep" in str(info.value)


def test_exception_hierarchy(ray):
    ex = ray.exceptions
    assert issubclass(ex.RayError, Exception)
    for name in (
        "RayTaskError",
        "RayActorError",
        "ActorDiedError",
        "GetTimeoutError",
        "TaskCancelledError",
        "WorkerCrashedError",
        "ObjectLostError",
    ):
        cls = getattr(ex, name)
        assert issubclass(cls, ex.RayError), name
    assert issubclass(ex.ActorDiedError, ex.RayActorError)
    assert issubclass(ex.GetTimeoutError, TimeoutError)
    assert issubclass(ex.ActorAlreadyExistsError, ValueError)
    assert not issubclass(ex.RayTaskError, ex.RayActorError)


def test_unpicklable_argument_fails_at_call_time(ray):
    @ray.remote
    def ident(x=None):
        return x

    @ray.remote
    class A:
        def m(self, x):
            return x

    lock = threading.Lock()
    with pytest.raises(TypeError):
        ident.remote(lock)
    with pytest.raises(TypeError):
        ident.remote(x=lock)
    with pytest.raises(TypeError):
        ray.put(lock)
    a = A.remote()
    with pytest.raises(TypeError):
        a.m.remote(lock)
    # Still usable afterwards.
    assert ray.get(ident.remote(3)) == 3
    assert ray.get(a.m.remote(4)) == 4


def test_unpicklable_return_value_fails_at_get(ray):
    @ray.remote
    def make_lock():
        return threading.Lock()

    with pytest.raises(TypeError) as info:
        ray.get(make_lock.remote())
    assert isinstance(info.value, ray.exceptions.RayTaskError)


def test_cancel_queued_task(ray, gate):
    # Fill both CPUs with tasks blocked at the gate, so the next task has to queue.
    blocker = ray.remote(num_cpus=1)(gate.waiter)

    @ray.remote(num_cpus=1)
    def victim():
        return "ran"

    blockers = [blocker.remote(gate.port) for _ in range(2)]
    gate.entered(2)  # both are running now
    v = victim.remote()
    assert ray.wait([v], timeout=0) == ([], [v])
    ray.cancel(v)
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(v)
    gate.release()
    assert ray.get(blockers) == ["x", "x"]


def test_cancel_finished_task_is_a_no_op(ray):
    @ray.remote
    def done():
        return "done"

    ref = done.remote()
    assert ray.get(ref) == "done"
    # Real Ray 2.60 may crash its driver when a cancel meets the reply of the task it cancels
    # ("Check failed: it != submissible_tasks_.end() Tried to complete task that was not
    # pending": a known race, ray-project/ray#54527): its reply is handled by now, as the
    # reply of a later task on the same core-worker thread is.
    assert ray.get(done.remote()) == "done"
    ray.cancel(ref)
    assert ray.get(ref) == "done"


def test_cancel_non_ref_raises_type_error(ray):
    with pytest.raises(TypeError):
        ray.cancel("not a ref")


_UNSERIALIZABLE_ON_RAY = """
import sys
import ray
ray.init(address=sys.argv[1])
class TwoArgError(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code
@ray.remote
def raises():
    raise TwoArgError(7, "custom message")
try:
    ray.get(raises.remote())
except ray.exceptions.UnserializableException as e:
    assert "custom message" in str(e) and isinstance(e, ray.exceptions.RayError)
    print("unserializable")
"""


def test_an_exception_that_cannot_be_unpickled_is_unserializable_exception(ray):
    if ray.__name__ == "ray":
        # The oracle runs in a second driver of this session's Ray: inside the long test
        # session, Ray's driver exited (status 1, no output) right here, taking pytest with
        # it (seen 2026-12-02, 2 of 5 full runs; alone it passes 30 of 30). A second Ray
        # instance started beside this one did not help (pytest died here again, in CI).
        import subprocess
        import sys

        address = ray.get_runtime_context().gcs_address
        r = subprocess.run([sys.executable, "-c", _UNSERIALIZABLE_ON_RAY, address],
                           capture_output=True, text=True, timeout=120)
        assert "unserializable" in r.stdout, r.stderr[-2000:]
        return

    class TwoArgError(Exception):
        def __init__(self, code, msg):  # pickles as (msg,): cannot be unpickled
            super().__init__(msg)
            self.code = code

    @ray.remote
    def raises():
        raise TwoArgError(7, "custom message")

    with pytest.raises(ray.exceptions.UnserializableException) as info:
        ray.get(raises.remote())
    assert "custom message" in str(info.value)
    assert isinstance(info.value, ray.exceptions.RayError)


def test_the_remote_traceback_names_the_file_and_line_of_the_error(ray):
    @ray.remote
    def fails():
        raise KeyError("where")  # this line is in the traceback

    with pytest.raises(KeyError) as info:
        ray.get(fails.remote())
    text = str(info.value)
    assert __file__ in text
    assert "this line is in the traceback" in text


def test_cancel_interrupts_a_running_task_which_fails_with_a_task_error(ray):
    # Ray raises KeyboardInterrupt in the running task, whose finally blocks run; get raises
    # RayTaskError(TaskCancelledError), an instance of both.
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(60)
    port = srv.getsockname()[1]

    def spin(port):
        import socket as _socket
        import time as _time

        conn = _socket.create_connection(("127.0.0.1", port))
        try:
            while True:
                _time.sleep(0.01)
        finally:
            conn.close()

    ref = ray.remote(spin).remote(port)
    conn, _ = srv.accept()  # the task is running now
    ray.cancel(ref)
    with pytest.raises(ray.exceptions.TaskCancelledError) as info:
        ray.get(ref, timeout=60)
    assert isinstance(info.value, ray.exceptions.RayTaskError)
    conn.settimeout(60)
    assert conn.recv(1) == b""  # the task stopped: its finally closed the connection
    conn.close()
    srv.close()


def test_a_keyboard_interrupt_raised_by_remote_code_is_a_cancelled_task(ray):
    # Ray treats a KeyboardInterrupt out of a task or an actor method as its cancellation:
    # RayTaskError(TaskCancelledError); the actor stays alive.
    @ray.remote
    def task():
        raise KeyboardInterrupt

    @ray.remote
    class A:
        def interrupted(self):
            raise KeyboardInterrupt

        def ok(self):
            return 1

    a = A.remote()
    for ref in (task.remote(), a.interrupted.remote()):
        with pytest.raises(ray.exceptions.TaskCancelledError) as info:
            ray.get(ref)
        assert isinstance(info.value, ray.exceptions.RayTaskError)
    assert ray.get(a.ok.remote()) == 1
