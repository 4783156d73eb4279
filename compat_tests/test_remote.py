"""ray.remote on functions and classes, options, num_returns, ray.method, bad usage."""

import pytest


def test_bare_decorator_function_and_class(ray):
    @ray.remote
    def add(a, b=10):
        return a + b

    @ray.remote
    class Counter:
        def __init__(self, start=0):
            self.n = start

        def inc(self, by=1):
            self.n += by
            return self.n

    assert ray.get(add.remote(1, 2)) == 3
    assert ray.get(add.remote(1)) == 11
    assert ray.get(add.remote(a=1, b=5)) == 6
    c = Counter.remote(start=5)
    assert ray.get(c.inc.remote()) == 6
    assert ray.get(c.inc.remote(by=4)) == 10


def test_decorator_with_options_and_call_form(ray):
    @ray.remote(num_cpus=1, max_retries=0)
    def f(x):
        return x * 3

    def plain(x):
        return x - 1

    class Plain:
        def ping(self):
            return "pong"

    g = ray.remote(plain)
    h = ray.remote(lambda: "lam")
    P = ray.remote(Plain)
    Q = ray.remote(num_cpus=0, max_restarts=0)(Plain)
    assert ray.get(f.remote(2)) == 6
    assert ray.get(g.remote(2)) == 1
    assert ray.get(h.remote()) == "lam"
    assert ray.get(P.remote().ping.remote()) == "pong"
    assert ray.get(Q.remote().ping.remote()) == "pong"
    # ray.remote does not change the original function or class.
    assert plain(2) == 1
    assert Plain().ping() == "pong"


def test_remote_with_positional_non_callable_raises_assertion_error(ray):
    # Surprise: Ray 2.60 checks this with a bare `assert`, so the error is AssertionError
    # (not TypeError) for ray.remote(1), ray.remote(1, 2) and ray.remote().
    with pytest.raises(AssertionError):
        ray.remote(1)
    with pytest.raises(AssertionError):
        ray.remote(1, 2)
    with pytest.raises(AssertionError):
        ray.remote()


def test_remote_on_callable_instance_raises_type_error(ray):
    class CallMe:
        def __call__(self):
            return 1

    with pytest.raises(TypeError):
        ray.remote(CallMe())


def test_unknown_or_misplaced_option_raises_value_error(ray):
    def f():
        return 1

    class A:
        pass

    with pytest.raises(ValueError):
        ray.remote(not_an_option=1)(f)
    with pytest.raises(ValueError):
        ray.remote(f).options(not_an_option=1)
    with pytest.raises(ValueError):
        ray.remote(A).options(not_an_option=1)
    with pytest.raises(ValueError):  # actor-only option on a function
        ray.remote(max_concurrency=2)(f)
    with pytest.raises(ValueError):  # task-only option on a class
        ray.remote(num_returns=2)(A)
    with pytest.raises(ValueError):
        ray.remote(num_cpus=-1)(f)
    with pytest.raises(ValueError):
        ray.remote(num_returns=-1)(f)


def test_bad_num_returns_raise_as_in_ray(ray):
    def f():
        return 1

    def gen():
        yield 1

    rf = ray.remote(f)
    for make in (lambda n: ray.remote(num_returns=n)(f), lambda n: rf.options(num_returns=n)):
        with pytest.raises(TypeError, match="'>=' not supported between instances of 'str'"):
            make("x")  # (Ray compares it with 0)
        with pytest.raises(TypeError, match="The type of keyword 'num_returns' must be"):
            make(1.5)
        with pytest.raises(ValueError, match="only accepts None, a non-negative integer"):
            make(-1)
        with pytest.raises(ValueError, match="num_returns='streaming' can only be used with "
                                             "generator functions"):
            make("streaming")
        with pytest.warns(DeprecationWarning, match="num_returns='dynamic' is deprecated"), \
                pytest.raises(ValueError, match="num_returns='dynamic' can only be used"):
            make("dynamic")
    # a generator takes "streaming" (and "dynamic"), not another string
    ray.remote(num_returns="streaming")(gen)
    ray.remote(gen).options(num_returns="streaming")
    with pytest.raises(TypeError):
        ray.remote(num_returns="x")(gen)

    @ray.remote
    class A:
        def m(self):
            return 1

    a = A.remote()
    with pytest.raises(ValueError, match=r"num_returns must be >= 0, but got -1\."):
        a.m.options(num_returns=-1)
    with pytest.raises(ValueError, match="num_returns='streaming' can only be used"):
        a.m.options(num_returns="streaming")
    with pytest.raises(ValueError, match=r"num_returns must be >= 0, but got -2\."):
        ray.method(num_returns=-2)(lambda self: 1)
    assert ray.get(a.m.options(num_returns=1).remote()) == 1


def test_calling_remote_objects_directly_raises_type_error(ray):
    @ray.remote
    def f():
        return 1

    @ray.remote
    class A:
        def m(self):
            return 1

    with pytest.raises(TypeError):
        f()
    with pytest.raises(TypeError):
        A()
    a = A.remote()
    with pytest.raises(TypeError):
        a.m()
    assert ray.get(a.m.remote()) == 1


def test_wrong_arguments_raise_type_error_at_call_time(ray):
    # Ray checks the call against the signature in .remote(), before submitting anything.
    @ray.remote
    def one(x):
        return x

    @ray.remote
    class A:
        def __init__(self, x):
            self.x = x

        def m(self):
            return self.x

    with pytest.raises(TypeError):
        one.remote(1, 2)
    with pytest.raises(TypeError):
        one.remote()
    with pytest.raises(TypeError):
        one.remote(y=1)
    with pytest.raises(TypeError):
        A.remote()
    a = A.remote(7)
    with pytest.raises(TypeError):
        a.m.remote(1)
    assert ray.get(a.m.remote()) == 7


def test_num_returns(ray):
    @ray.remote(num_returns=3)
    def three():
        return 1, 2, 3

    @ray.remote
    def single():
        return (1, 2)

    refs = three.remote()
    assert isinstance(refs, list) and len(refs) == 3
    assert all(isinstance(r, ray.ObjectRef) for r in refs)
    assert ray.get(refs) == [1, 2, 3]
    one = single.remote()
    assert isinstance(one, ray.ObjectRef)
    assert ray.get(one) == (1, 2)
    assert isinstance(single.options(num_returns=1).remote(), ray.ObjectRef)


def test_num_returns_zero_returns_none(ray):
    @ray.remote(num_returns=0)
    def nothing():
        return None

    @ray.remote
    def f():
        return None

    assert nothing.remote() is None
    assert f.options(num_returns=0).remote() is None


def test_num_returns_mismatch_raises_at_get(ray):
    @ray.remote(num_returns=2)
    def three():
        return 1, 2, 3

    a, b = three.remote()
    with pytest.raises(ValueError) as info:
        ray.get(a)
    assert isinstance(info.value, ray.exceptions.RayTaskError)


def test_options_override_per_call_only(ray):
    @ray.remote
    def pair():
        return "a", "b"

    refs = pair.options(num_returns=2).remote()
    assert ray.get(refs) == ["a", "b"]
    # The original is unchanged.
    assert ray.get(pair.remote()) == ("a", "b")


def test_actor_class_options(ray):
    @ray.remote
    class A:
        def __init__(self, v):
            self.v = v

        def get(self):
            return self.v

    a = A.options(num_cpus=0, max_restarts=0, max_concurrency=1).remote(3)
    assert ray.get(a.get.remote()) == 3


def test_method_num_returns(ray):
    @ray.remote
    class A:
        @ray.method(num_returns=2)
        def two(self):
            return "x", "y"

        def one(self):
            return ("p", "q")

    a = A.remote()
    x, y = a.two.remote()
    assert ray.get([x, y]) == ["x", "y"]
    p, q = a.one.options(num_returns=2).remote()
    assert ray.get([p, q]) == ["p", "q"]
    assert ray.get(a.one.remote()) == ("p", "q")


def test_method_decorator_bare_and_its_errors(ray):
    @ray.remote
    class A:
        @ray.method  # bare: allowed since Ray 2.5x, a no-op
        def one(self):
            return 1

    assert ray.get(A.remote().one.remote()) == 1
    with pytest.raises(AssertionError):
        ray.method(foo=1)
    with pytest.raises(AssertionError):
        ray.method(1, 2)


def test_retry_exceptions_must_be_a_bool_or_exception_classes(ray):
    def f():
        return 1

    with pytest.raises(TypeError):
        ray.remote(retry_exceptions=5)(f)
    with pytest.raises(ValueError):
        ray.remote(retry_exceptions=[5])(f)
    ray.remote(retry_exceptions=[KeyError])(f)  # accepted


def test_a_missing_keyword_only_argument_fails_at_the_call(ray):
    # Regression: a required keyword-only parameter made the check pass every call.
    @ray.remote
    def f(a, *, c):
        return a + c

    @ray.remote
    class A:
        def m(self, a, *, c):
            return a + c

    with pytest.raises(TypeError):
        f.remote(1)
    a = A.remote()
    with pytest.raises(TypeError):
        a.m.remote(1)
    assert ray.get([f.remote(1, c=2), a.m.remote(1, c=3)]) == [3, 4]
