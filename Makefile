# The two commands a newcomer needs (see README.md):
#   make demo   set up, build the demo run if there is none, and start the dashboard
#   make test   set up (Chromium and PostgreSQL included) and run every test
VENV ?= .venv
BIN := $(VENV)/bin
RUNS_DIR ?= runs
PORT ?= 8501
# 127.0.0.1: this machine only. Any other address needs sign-in configured (README, "Sign-in"); for example
# `make demo HOST=0.0.0.0 SECRETS=.streamlit/secrets.toml`.
HOST ?= 127.0.0.1
SECRETS ?=
DEMO_ROWS ?= 20000
# The CPU build of PyTorch; a bare `torch` requirement would pull a multi-GB CUDA build (DEVELOPERS.md).
TORCH ?= torch==2.13.0

.PHONY: demo test bench install chromium postgresql clean

$(BIN)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/insight demo --if-missing --rows $(DEMO_ROWS) --runs-dir $(RUNS_DIR) --port $(PORT) --host $(HOST)$(if $(SECRETS), --secrets $(SECRETS))

# Debian's Chromium drives the browser tests (Playwright's own browser download is not used).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi
	@/usr/bin/chromium --version

# Debian's PostgreSQL server: tests/pg_server.py starts a throwaway cluster with its initdb and pg_ctl (the
# package's own cluster service is not used). Under CI=... the PostgreSQL tests fail rather than skip without it.
postgresql:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi
	@ls /usr/lib/postgresql/*/bin/initdb

test: install chromium postgresql
	$(BIN)/python -m pytest

# Measured figures, never estimates: every pipeline stage at 10k, 100k and 1M demo customers (BENCH_SIZES),
# exact SHAP against LightGBM's pred_contrib; see DEVELOPERS.md for the other benchmarks.
BENCH_SIZES ?= 10000 100000 1000000
bench: install
	$(BIN)/python -m benchmarks pipeline --sizes $(BENCH_SIZES) --json bench-pipeline.json

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
