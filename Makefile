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

# The long runs behind the "Results" table of docs/guide/results.md (not CI). Fashion-MNIST is looked up in
# FASHION_ROOT, the user cache or Debian's dataset-fashion-mnist; add --download to fetch it.
FASHION_ROOT ?= ../shared/data/fashion-mnist
reproduce: $(VENV)/.installed-run
	$(BIN)/tatamu train --model simple --epochs 20 --no-progress --force --out runs/reproduce/simple-mnist
	$(BIN)/tatamu train --model deep --epochs 20 --no-progress --force --out runs/reproduce/deep-mnist
	$(BIN)/tatamu train --dataset mnist1d --epochs 150 --lr 0.01 --no-progress --force --out runs/reproduce/conv1d-mnist1d
	$(BIN)/tatamu train --dataset fashion-mnist --data-root $(FASHION_ROOT) --epochs 20 --no-progress --force --out runs/reproduce/simple-fashion
	# tatamu's recipes (docs/guide/results.md, "tatamu's recipes"): a cosine schedule and augmentation, 3 seeds each
	for s in 0 1 2; do \
	  $(BIN)/tatamu train --epochs 10 --schedule cosine --augment --seed $$s --no-progress --force --out runs/reproduce/recipe-simple-mnist-$$s && \
	  $(BIN)/tatamu train --dataset mnist1d --epochs 150 --lr 0.01 --schedule cosine --augment shift=40,rotation=0,scale=0 --seed $$s --no-progress --force --out runs/reproduce/recipe-conv1d-mnist1d-$$s && \
	  $(BIN)/tatamu train --dataset fashion-mnist --data-root $(FASHION_ROOT) --epochs 15 --schedule cosine --augment shift=0,rotation=0,scale=0,flip=1 --seed $$s --no-progress --force --out runs/reproduce/recipe-simple-fashion-$$s || exit 1; \
	done
	$(BIN)/tatamu train --model deep --epochs 15 --schedule cosine --augment --seed 0 --no-progress --force --out runs/reproduce/recipe-deep-mnist-0

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache .hypothesis
