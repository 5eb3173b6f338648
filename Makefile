# The README's two commands are `make demo` and `make test`; everything else here serves them.
PY      ?= python3.11
VENV    := .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
NATIVE  := $(shell find zkvm -name '*.c' -o -name '*.h' -o -name 'build_*.py' | grep -v '/_' )
GUESTS  := $(filter-out nn,$(notdir $(wildcard guest/*)))

.PHONY: setup guests demo test test-slow bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py $(NATIVE)
	@command -v $(PY) >/dev/null || { echo "need $(PY) on PATH (set PY=...)"; exit 2; }
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip setuptools wheel
	$(VPY) -m pip install -q -e '.[dev,ml]'
	touch $@

guests: setup
	$(VPY) -m host build --all

demo: guests
	$(VPY) -m host demo

test: guests
	$(VPY) -m pytest -q -n 2

test-slow: guests
	$(VPY) -m pytest -q -n 2 -m slow

bench: guests
	$(VPY) bench/exec.py
	$(VPY) bench/stark.py

clean:
	rm -rf build $(VENV) *.egg-info
	find . -name '*.so' -delete
