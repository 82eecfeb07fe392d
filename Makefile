# The two commands the README gives: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-peers samples clean screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# ruff (pyflakes, pycodestyle, import order, bugbear) over the repository, mypy over the two packages.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

demo: $(STAMP)
	$(BIN)/python -m reporter build sample_runs -o site
	@echo "reporter is in $(BIN): run '. $(BIN)/activate' to put it on your PATH (or: pip install .)"

samples: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[samples]'
	$(BIN)/python sample_runs/generate.py

# docs/run-page.png, docs/experiment-charts.png, docs/compare.png from sample_runs/ (needs /usr/bin/chromium)
screenshots: $(STAMP)
	$(BIN)/python docs/screenshots.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The same workloads through MLflow and dvclive, in their own virtualenv so the main install stays light;
# flowsheet is installed there too (-e .) so that every ratio is measured with one interpreter.
PEERS := .venv-peers
bench-peers:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install -q mlflow dvclive orjson -e .
	$(PEERS)/bin/python -m benchmarks.peers

# Reading other trackers' logs in place (an mlflow.db, TensorBoard event files) against their own tools.
.PHONY: bench-sources fixtures
bench-sources:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install -q mlflow tensorboardX orjson -e .
	$(PEERS)/bin/python -m benchmarks.peers.sources

# The test inputs made by the real tools (MLflow 2.x and 3.x, tensorboardX, dvclive) and the hand-made ones
# that follow a documented format: tests/fixtures/make_*.py, each writing its tests/fixtures/<name>/.
# Two throwaway environments, since the MLflow 2.x store fixtures need MLflow 2.
FIXTURES := .venv-fixtures
FIXTURES2 := .venv-fixtures-mlflow2
fixtures:
	$(PYTHON) -m venv $(FIXTURES)
	$(FIXTURES)/bin/python -m pip install -q mlflow tensorboardX dvclive pillow numpy pyyaml
	$(PYTHON) -m venv $(FIXTURES2)
	$(FIXTURES2)/bin/python -m pip install -q 'mlflow<3' 'sqlalchemy<2.1'
	$(FIXTURES2)/bin/python tests/fixtures/make_mlruns.py
	$(FIXTURES2)/bin/python tests/fixtures/make_mlflow_sql.py
	for name in mlflow_sql tensorboard dvclive huggingface lightning raytune; do \
		$(FIXTURES)/bin/python tests/fixtures/make_$$name.py || exit 1; done

# The hardening suites, pushed harder: many more random cases, kills and writers (see tests/hardening/knobs.py),
# plus the logger's own crash and concurrency tests. Minutes, not seconds.
.PHONY: stress
stress: $(STAMP)
	FLOWSHEET_STRESS=1 $(BIN)/python -m pytest -q tests/hardening tests/logger/test_concurrency.py tests/logger/test_durability.py

clean:
	rm -rf $(VENV) site .pytest_cache
