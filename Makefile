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

.PHONY: run test check bench install packages clean

$(PYTHON):
	python3 -m venv $(VENV)

run: $(PYTHON)
	$(PYTHON) -m pip install --quiet .
	$(VENV)/bin/sendit-server --host $(HOST) --port $(PORT)

install: $(PYTHON)
	$(PYTHON) -m pip install --quiet '.[test]'

# Debian packages the suite drives, as FILE:PACKAGE: Chromium, and for the network lab
# (tests/lab/) nftables, coturn's turnserver and NSS's certutil (the lab CA for Chromium).
# Installed when root; otherwise named, and `make test` stops: a missing tool is never a skip.
PACKAGES := $(CHROMIUM):chromium /usr/sbin/nft:nftables /usr/bin/turnserver:coturn /usr/bin/certutil:libnss3-tools
packages:
	@missing=""; for need in $(PACKAGES); do [ -x "$${need%%:*}" ] || missing="$$missing $${need#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q $$missing; \
	  else echo "Missing Debian packages:$$missing (sudo apt-get install$$missing)" >&2; exit 1; fi; \
	fi

# Lint and format of every Python file, types of the three packages; `make test` runs it first.
PY_SOURCES := sendit_protocol signal_server peer tests bench
check: install
	$(VENV)/bin/ruff check $(PY_SOURCES)
	$(VENV)/bin/ruff format --check $(PY_SOURCES)
	$(VENV)/bin/mypy

# pytest runs from the venv's script, not `python -m`, so the tests import the
# installed package (and its packaged web UI), not the source tree.
test: check packages
	$(IN_NETNS) $(VENV)/bin/pytest $(PYTEST_ARGS)

# Inside the same loopback-only namespace as the tests; not part of `make test`.
bench: install packages
	$(IN_NETNS) $(PYTHON) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist .pytest_cache
