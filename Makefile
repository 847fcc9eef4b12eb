# Two commands do all the set-up on a fresh machine (see README.md):
#   make train   - create .venv, install tatamu, train SimpleConvNet on the shipped MNIST
#   make test    - create .venv, install tatamu with its test extras, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: train test test-slow bench reproduce clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# A stamp per extra, remade whenever pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

train: $(VENV)/.installed-run
	$(BIN)/tatamu train $(ARGS)

# Debian's chromium + chromium-driver for the drawing page's browser test (skips without them).
$(VENV)/.browser: scripts/install-browser.sh | $(BIN)/python
	bash scripts/install-browser.sh
	touch $@

test: $(VENV)/.installed-test $(VENV)/.browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(ARGS)

test-slow: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m slow $(ARGS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks $(ARGS)

# The long runs behind the "Results" and recipe tables of docs/guide/results.md (not CI): scripts/reproduce.toml as
# a sweep, one single-thread run per command and seed, JOBS at once (default: the cores).
# Rerunning finishes what is missing; `tatamu runs runs/sweeps/reproduce` prints the table.
# Fashion-MNIST is looked up in FASHION_ROOT, the user cache or Debian's dataset-fashion-mnist.
FASHION_ROOT ?= ../shared/data/fashion-mnist
JOBS ?=
reproduce: $(VENV)/.installed-run
	FASHION_ROOT=$(abspath $(FASHION_ROOT)) $(BIN)/tatamu sweep --recipe scripts/reproduce.toml \
	  --out runs/sweeps/reproduce --no-progress $(if $(JOBS),--jobs $(JOBS))

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache .hypothesis
