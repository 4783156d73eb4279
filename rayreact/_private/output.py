"""A worker's prints, as Ray shows them in the driver's terminal.

Ray (2.60, ``ray._private.worker.print_worker_logs``) prints every line a worker writes to its
stdout or stderr on the driver's stdout or stderr, prefixed with who wrote it::

    (RolloutWorker pid=1234) episode 3 done     <- an actor: its class name, or its __repr__
    (rollout pid=1240) fetched                  <- a task: its name

the prefix in cyan (``RAY_COLOR_PREFIX=0``: no colour; ``1``: a colour per pid), and prints
nothing of the workers with ``ray.init(log_to_driver=False)``. rayreact's workers write to
the driver's terminal directly (no log monitor in between), so the prefix is added in the
worker: ``sys.stdout`` and ``sys.stderr`` are wrapped by ``PrefixedLines``. (Output written
to the file descriptors by C code bypasses it and goes out unprefixed.)
"""

import io
import os
import sys
import threading

ENV_LOG_TO_DRIVER = "RAYREACT_LOG_TO_DRIVER"  # "0": init(log_to_driver=False)

_RESET = "\x1b[0m"
_CYAN = "\x1b[36m"
# colorama's MAGENTA, CYAN, GREEN, LIGHTBLACK_EX, LIGHTBLUE_EX, LIGHTMAGENTA_EX (as Ray picks)
_BY_PID = ("\x1b[35m", "\x1b[36m", "\x1b[32m", "\x1b[90m", "\x1b[94m", "\x1b[95m")


def _colour(pid):
    mode = os.environ.get("RAY_COLOR_PREFIX")
    if mode == "0":
        return "", ""
    if mode == "1":
        return _BY_PID[pid % len(_BY_PID)], _RESET
    return _CYAN, _RESET


class PrefixedLines(io.TextIOBase):
    """A text stream that writes each line to ``stream`` as ``(<name> pid=<pid>) <line>``.

    Args:
        stream: the stream written to (the worker's original ``sys.stdout`` or ``sys.stderr``).
        name: no-argument callable giving the writer's name now (an actor's class name or
            repr, the running task's name; "" for none: the prefix is then ``(pid=N)``).
    """

    def __init__(self, stream, name):
        super().__init__()
        self._stream = stream
        self._name = name
        self._at_line_start = True
        self._held = ""  # the start of a line not complete yet, prefixed (see write)
        self._lock = threading.Lock()  # threaded actors print from several threads

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        if not s:
            return 0
        pid = os.getpid()
        name = self._name()
        pre, post = _colour(pid)
        prefix = f"{pre}({name + ' ' if name else ''}pid={pid}){post} "
        with self._lock:
            out = [self._held]
            for piece in s.splitlines(keepends=True):
                if self._at_line_start:
                    out.append(prefix)
                out.append(piece)
                self._at_line_start = piece.endswith(("\n", "\r"))
            # A line goes out whole, in one write, as soon as it is complete (as in Ray):
            # print() writes its text and its end separately, and on an unbuffered stream
            # (PYTHONUNBUFFERED) another worker's line could land between the two.
            text = "".join(out)
            cut = max(text.rfind("\n"), text.rfind("\r")) + 1
            self._held = text[cut:]
            if cut:
                self._stream.write(text[:cut])
                self._stream.flush()
        return len(s)

    def flush(self):
        with self._lock:
            if self._held:
                self._stream.write(self._held)
                self._held = ""
        self._stream.flush()

    def writable(self):
        return True

    def isatty(self):
        return self._stream.isatty()

    def fileno(self):
        return self._stream.fileno()

    @property
    def encoding(self):
        return self._stream.encoding

    @property
    def errors(self):
        return self._stream.errors

    @property
    def buffer(self):  # binary writes go out as they are
        return self._stream.buffer


def install(name):
    """Route this worker's ``sys.stdout`` and ``sys.stderr`` as Ray shows a worker's output
    (``name``: see ``PrefixedLines``); with ``log_to_driver=False``, nowhere."""
    if os.environ.get(ENV_LOG_TO_DRIVER) == "0":
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the process's life
        return
    sys.stdout = PrefixedLines(sys.stdout, name)
    sys.stderr = PrefixedLines(sys.stderr, name)
