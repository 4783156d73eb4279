"""init / is_initialized / shutdown / re-init."""

import logging

import pytest


def test_is_initialized_in_session(ray):
    assert ray.is_initialized() is True


def test_second_init_raises_runtime_error_unless_ignored(ray):
    with pytest.raises(RuntimeError):
        ray.init(num_cpus=2)
    assert ray.is_initialized()
    # With ignore_reinit_error the call is a no-op and the session keeps working.
    ray.init(num_cpus=2, ignore_reinit_error=True)
    assert ray.is_initialized()
    assert ray.get(ray.put("still here")) == "still here"


def test_version_is_the_ray_version_mirrored(ray):
    # Programs compare ray.__version__ (e.g. with packaging) to pick code paths.
    major, minor = (int(x) for x in ray.__version__.split(".")[:2])
    assert (major, minor) >= (2, 60)


# ---- the test below uses `fresh`: it runs last for its backend (see conftest) ----


def test_init_kwargs_shutdown_and_reinit(fresh):
    ray = fresh
    assert ray.is_initialized() is False

    # Remote functions and actor classes defined before init stay usable across sessions.
    @ray.remote
    def double(x):
        return 2 * x

    @ray.remote
    class Box:
        def __init__(self, v):
            self.v = v

        def get(self):
            return self.v

    ray.init(
        num_cpus=2,
        num_gpus=0,
        resources={"widget": 3},
        object_store_memory=100 * 1024 * 1024,
        local_mode=False,
        ignore_reinit_error=False,
        include_dashboard=False,
        dashboard_port=None,
        configure_logging=True,
        logging_level=logging.WARNING,
        log_to_driver=False,
        namespace="compat_ns",
        runtime_env=None,
        _system_config={"object_timeout_milliseconds": 200},
    )
    assert ray.is_initialized() is True
    res = ray.cluster_resources()
    assert res["CPU"] == 2.0
    assert res["widget"] == 3.0
    assert res.get("GPU", 0) == 0
    assert ray.get_runtime_context().namespace == "compat_ns"

    @ray.remote(resources={"widget": 1})
    def inc(x):
        return x + 1

    assert ray.get(inc.remote(1)) == 2
    assert ray.get(double.remote(4)) == 8
    assert ray.get(Box.remote("a").get.remote()) == "a"
    with pytest.raises(RuntimeError):
        ray.init()

    ray.shutdown()
    assert ray.is_initialized() is False
    ray.shutdown()  # a second shutdown is a no-op
    assert ray.is_initialized() is False

    # Ray auto-initialises on the first API call that needs a runtime (here: put).
    ref = ray.put(41)
    assert ray.is_initialized() is True
    assert ray.get(ref) == 41
    assert ray.get_runtime_context().namespace != "compat_ns"
    assert ray.get(double.remote(5)) == 10
    assert ray.get(Box.remote("b").get.remote()) == "b"
