# SendIt: `make run` starts the server, `make test` runs the whole suite,
# `make bench` measures it (bench/README.md).
VENV     := .venv
PYTHON   := $(VENV)/bin/python
CHROMIUM := /usr/lib/chromium/chromium
HOST     ?= 127.0.0.1
PORT     ?= 8080
PYTEST_ARGS ?=
BENCH_ARGS ?=
# A private network namespace holding only `lo`: tests see loopback and nothing else.
IN_NETNS := unshare -rn sh -c 'PATH="$$PATH:/usr/sbin:/sbin"; ip link set lo up && exec "$$@"' sh

.PHONY: run test check bench install chromium clean

$(PYTHON):
	python3 -m venv $(VENV)

run: $(PYTHON)
	$(PYTHON) -m pip install --quiet .
	$(VENV)/bin/sendit-server --host $(HOST) --port $(PORT)

install: $(PYTHON)
	$(PYTHON) -m pip install --quiet '.[test]'

chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	  else echo "Chromium is missing: sudo apt-get install chromium" >&2; exit 1; fi; \
	fi

# Lint and format of every Python file, types of the three packages; `make test` runs it first.
PY_SOURCES := sendit_protocol signal_server peer tests bench
check: install
	$(VENV)/bin/ruff check $(PY_SOURCES)
	$(VENV)/bin/ruff format --check $(PY_SOURCES)
	$(VENV)/bin/mypy

# pytest runs from the venv's script, not `python -m`, so the tests import the
# installed package (and its packaged web UI), not the source tree.
test: check chromium
	$(IN_NETNS) $(VENV)/bin/pytest $(PYTEST_ARGS)

# Inside the same loopback-only namespace as the tests; not part of `make test`.
bench: install chromium
	$(IN_NETNS) $(PYTHON) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist .pytest_cache
