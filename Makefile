# MulCo — `make demo` builds the bundled sample and shows a config; `make test` runs the tests.
# Both create .venv when it is missing and install what they need into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEV_STAMP := $(VENV)/.installed-dev
OUT ?= out/sample

.PHONY: demo test test-fast bench install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# The light data package plus the test tools. No torch: the data side never needs it.
$(DEV_STAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e '.[dev]'
	touch $@

install: $(DEV_STAMP)

demo: $(DEV_STAMP)
	$(VENV)/bin/mulco build --out $(OUT)
	HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 $(VENV)/bin/mulco show $(OUT) code_search.en -n 3

test: $(DEV_STAMP)
	$(PY) -m pytest -q

test-fast: $(DEV_STAMP)
	$(PY) -m pytest -q -m "not slow"

bench: $(DEV_STAMP)
	$(PY) bench/bench_build.py

clean:
	rm -rf out .pytest_cache
