# Two entry points: `make demo` and `make test`. Each creates or reuses .venv and installs
# everything the project needs from the package registries (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench install clean

$(STAMP): pyproject.toml setup.py rayreact/_private/_compiled.c
	test -x $(BIN)/python || $(PY) -m venv $(VENV) || \
	  { rm -rf $(VENV); apt-get update && apt-get install -y python3-venv && $(PY) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[rl,ray,test,bench]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/sync_q_learning.py

# If pytest fails, the ends of Ray's logs follow: Ray's driver (pytest itself, in the compat
# tests' [ray] runs) can exit with no output of its own, and its logs tell why.
RAY_LOGS := /tmp/ray/session_latest/logs
test: $(STAMP)
	$(BIN)/python -m pytest -q tests compat_tests || { \
	  for f in $(RAY_LOGS)/python-core-driver-*.log $(RAY_LOGS)/raylet.out $(RAY_LOGS)/gcs_server.out; do \
	    test -f "$$f" && { echo "== $$f"; tail -n 15 "$$f"; }; done; exit 1; }
	$(BIN)/python -m bench --smoke

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV)
