# Two commands do everything on a fresh machine (see README.md):
#   make demo   create .venv if missing, install the stack, run the demo on the embedded dataset
#   make test   the same install, then the whole test suite (what .ci/run runs)
# and make test-fast: the same without the tests marked slow.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo test test-fast mmcv-from-source

install:
	@PYTHON=$(PYTHON) VENV=$(VENV) bash tools/install/setup_env.sh

demo: install
	$(PY) tools/demo.py

test: install
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow"

# Rebuild mmcv from its sdist even when a cached or shared wheel exists (checks the from-source path).
mmcv-from-source:
	MMCV_FORCE_BUILD=1 bash tools/install/mmcv_wheel.sh $(VENV)
