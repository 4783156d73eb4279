"""``python -m rayreact script.py [args...]``: run an unmodified Ray script on rayreact.

``import ray`` and every ``ray.<sub>`` module that rayreact provides (``ray.util``,
``ray.util.queue``, ``ray.exceptions``...) resolve to rayreact's modules; ``sys.argv``,
``__name__ == "__main__"``, ``sys.path[0]`` and the exit code behave as with
``python script.py``.
"""

import argparse
import importlib
import importlib.abc
import importlib.util
import os
import runpy
import sys


class RayAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import hook: ``ray[.x.y]`` is served by the already-importable ``rayreact[.x.y]``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "ray" and not fullname.startswith("ray."):
            return None
        ours = "rayreact" + fullname[3:]
        if importlib.util.find_spec(ours) is None:
            return None  # not provided by rayreact: let the normal import fail or find Ray
        return importlib.util.spec_from_loader(fullname, self, origin=ours)

    def create_module(self, spec):
        return importlib.import_module(spec.origin)

    def exec_module(self, module):
        pass  # already executed as the rayreact module


def install_alias():
    if not any(isinstance(f, RayAlias) for f in sys.meta_path):
        sys.meta_path.insert(0, RayAlias())


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m rayreact",
        description="Run an unmodified Ray script on the rayreact runtime.")
    parser.add_argument("script", help="the Ray program to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the script")
    ns = parser.parse_args(argv)
    script = ns.script
    if not os.path.exists(script):
        parser.error(f"can't open file {script!r}: no such file")
    install_alias()
    sys.argv = [script] + ns.args
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
