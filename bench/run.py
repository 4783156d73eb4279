"""Old entry point, kept as an alias: ``python bench/run.py ARGS`` = ``python -m bench ARGS``."""

import os
import sys

if __name__ == "__main__":
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, root)
    os.chdir(root)
    argv = ["--json" if a == "--out" else a for a in sys.argv[1:]]
    from bench.__main__ import main

    sys.exit(main(argv))
