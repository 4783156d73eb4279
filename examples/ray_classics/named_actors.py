"""Named actors: ``name=``, ``namespace=``, ``get_if_exists=True``, ``ray.get_actor``.

In the style of Ray's "Named Actors" guide:

* an actor created with ``.options(name=...)`` can be looked up by name with
  ``ray.get_actor`` from anywhere in the job: the driver, a task, another actor;
* ``.options(name=..., get_if_exists=True)`` is Ray's get-or-create: it returns the existing
  actor of that name (the constructor arguments of the second call are ignored) or creates
  it. (Ray 2.60 has no ``get_or_create`` function; ``get_or_create`` below is the usual
  helper a user writes on top of ``get_if_exists``.)
* names live in namespaces: the same name can be used in two namespaces;
* looking up a missing name raises ``ValueError``; reusing a taken name raises
  ``ValueError`` too.
"""

import ray


@ray.remote
class Counter:
    def __init__(self, start=0):
        self.value = start

    def incr(self, k=1):
        self.value += k
        return self.value

    def get(self):
        return self.value


@ray.remote
class Greeter:
    def __init__(self, greeting):
        self.greeting = greeting

    def say_hello(self):
        return self.greeting


def get_or_create(actor_cls, name, *args, **kwargs):
    return actor_cls.options(name=name, get_if_exists=True).remote(*args, **kwargs)


@ray.remote
def bump_global_counter(k):
    # Any task can find the named actor; no handle was passed in.
    counter = ray.get_actor("global_counter")
    return ray.get(counter.incr.remote(k))


@ray.remote
class Client:
    def __init__(self, counter_name):
        self.counter = ray.get_actor(counter_name)

    def bump(self):
        return ray.get(self.counter.incr.remote(100))


if __name__ == "__main__":
    ray.init(namespace="classics")

    # Create an actor with a name, then retrieve it by name.
    counter = Counter.options(name="global_counter").remote()
    same = ray.get_actor("global_counter")
    ray.get(counter.incr.remote())
    assert ray.get(same.get.remote()) == 1
    assert ray.get(ray.get_actor("global_counter", namespace="classics").get.remote()) == 1

    # Tasks and actors reach it by name too.
    values = ray.get([bump_global_counter.remote(k) for k in range(1, 5)])
    assert sorted(values)[-1] == 1 + 1 + 2 + 3 + 4
    client = Client.remote("global_counter")
    assert ray.get(client.bump.remote()) == 111
    print(f"global_counter: {ray.get(counter.get.remote())}")

    # get_if_exists: the second call returns the first actor.
    a = Greeter.options(name="g1", get_if_exists=True).remote("Old Greeting")
    b = Greeter.options(name="g1", get_if_exists=True).remote("New Greeting")
    assert ray.get(a.say_hello.remote()) == ray.get(b.say_hello.remote()) == "Old Greeting"
    c = get_or_create(Greeter, "g2", "Hello from g2")
    d = get_or_create(Greeter, "g2", "ignored")
    print(f"g1 says {ray.get(b.say_hello.remote())!r}, g2 says {ray.get(d.say_hello.remote())!r}")
    assert ray.get(c.say_hello.remote()) == "Hello from g2"

    # The same name in another namespace is another actor.
    other = Counter.options(name="global_counter", namespace="elsewhere").remote(1000)
    assert ray.get(ray.get_actor("global_counter", namespace="elsewhere").get.remote()) == 1000
    assert ray.get(ray.get_actor("global_counter").get.remote()) == 111
    print(f"'global_counter' in namespace 'elsewhere': {ray.get(other.incr.remote())}")

    # A missing name, and a taken name.
    try:
        ray.get_actor("no_such_actor")
        raise AssertionError("get_actor of a missing name should raise")
    except ValueError:
        print("get_actor('no_such_actor'): ValueError")
    try:
        Counter.options(name="global_counter").remote()
        raise AssertionError("reusing a taken name should raise")
    except ValueError:
        print("a second actor named 'global_counter': ValueError")
    print("named_actors: OK")
