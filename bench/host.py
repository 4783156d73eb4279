"""A host: the long-lived subprocess that runs one or two contenders (``python -m bench.host NAME``).

Commands arrive as JSON lines on stdin; replies go as JSON lines to a private copy of the
original stdout (fd 1 itself is pointed at stderr, the host's log file, so whatever a runtime
or a program prints cannot corrupt the protocol).

    {"op": "init"}                                        ray.init(...) for the host's binding
    {"op": "setup", "family": F, "contender": C}          create C's actors for family F
    {"op": "measure", "family": F, "contender": C, "params": {...}}   one timed measurement
    {"op": "release", "family": F, "contender": C}        end of C's turn: drop compiled graphs
    {"op": "teardown", "family": F, "contender": C}       drop C's actors (and peers' envs)
    {"op": "exit"}                                        shut the runtime down and exit
"""

import faulthandler
import gc
import json
import os
import signal
import sys
import time
import traceback


def main(host_name):
    from bench.contenders import CONTENDERS, HOSTS

    spec = HOSTS[host_name]
    faulthandler.register(signal.SIGUSR1)  # the parent dumps our stacks before a kill
    for k, v in spec.env.items():
        os.environ.setdefault(k, v)
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    from bench import cgraph, loader, workloads

    ray = None
    programs = {}  # program path -> module bound for this host
    sessions = {}  # (family, contender) -> state
    mode = None

    def reply(**msg):
        proto.write(json.dumps(msg, default=str) + "\n")
        proto.flush()

    def program(family):
        path = family.PROGRAM
        if path not in programs:
            programs[path] = loader.load_program(path, spec.binding)
        return programs[path]

    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        op = cmd.get("op")
        print("[host %s] %s %s %s %s" % (host_name, time.strftime("%H:%M:%S"), op,
                                         cmd.get("family", ""), cmd.get("contender", "")),
              file=sys.stderr, flush=True)
        try:
            if op == "init":
                mode = cmd["mode"]
                t0 = time.perf_counter()
                if spec.binding is not None:
                    ray = loader.ray_module(spec.binding)
                    ray.init(**spec.init)
                reply(ok=True, init_s=time.perf_counter() - t0, pid=os.getpid())
            elif op in ("setup", "measure", "release", "teardown"):
                fam = workloads.load(cmd["family"])
                kind = CONTENDERS[cmd["contender"]].kind
                key = (cmd["family"], cmd["contender"])
                t0 = time.perf_counter()
                if op == "setup":
                    params = fam.setup_params(mode)
                    if kind == "peer":
                        sessions[key] = fam.peer_setup(**params)
                    else:
                        sessions[key] = program(fam).setup(**params)
                    reply(ok=True, seconds=time.perf_counter() - t0)
                elif op == "measure":
                    gc.collect()  # not inside anyone's timed section
                    state = sessions[key]
                    if kind == "peer":
                        result = fam.peer_measure(state, **cmd["params"])
                    elif kind == "cgraph":
                        result = program(fam).cg_measure(state, **cmd["params"])
                    else:
                        result = program(fam).measure(state, **cmd["params"])
                    reply(ok=True, result=result, wall_s=time.perf_counter() - t0)
                elif op == "release":  # the end of a turn: no compiled graph may stay
                    if kind == "cgraph" and key in sessions:
                        cgraph.release(sessions[key])
                    reply(ok=True, seconds=time.perf_counter() - t0)
                else:
                    state = sessions.pop(key, None)
                    if state is not None and kind == "cgraph":
                        cgraph.release(state)
                    if state is not None:
                        if kind == "peer":
                            fam.peer_teardown(state)
                        else:
                            program(fam).teardown(state)
                    del state
                    gc.collect()
                    reply(ok=True, seconds=time.perf_counter() - t0)
            elif op == "exit":
                break
            else:
                reply(ok=False, error="unknown op %r" % op)
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            reply(ok=False, error="%s: %s" % (type(e).__name__, e),
                  traceback=traceback.format_exc(limit=12))
            if isinstance(e, KeyboardInterrupt):
                break
    sessions.clear()
    gc.collect()
    try:
        if ray is not None and ray.is_initialized():
            ray.shutdown()
    except BaseException:  # noqa: BLE001
        pass
    reply(ok=True, bye=True)


if __name__ == "__main__":
    main(sys.argv[1])
