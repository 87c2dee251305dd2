# Footing: `make run` starts everything on the embedded default (SQLite + Huey
# on SQLite); `make test` runs the whole suite. Both set themselves up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements-test.txt | cksum | cut -d' ' -f1)
export FOOTING_ENV ?= development
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint install catalogs migrate demo vapid worker test-browser translations-check clean bench bench-push bench-caseload bench-caseload-national bench-hot bench-throughput bench-cls bench-lighthouse

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-test.txt
	$(BIN)/pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

catalogs: install
	$(FLASK) translate compile

migrate: install
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) seed-demo

# Web push on localhost: a development VAPID key in the instance folder, made
# the first time only (`push generate-vapid` refuses to replace a key: every
# subscribed browser would have to subscribe again).
INSTANCE = $(or $(FOOTING_INSTANCE),instance)
vapid: install
	@if [ -n "$$VAPID_PRIVATE_KEY" ] || [ -f "$(INSTANCE)/vapid_private.pem" ]; then \
		echo "VAPID key: $${VAPID_PRIVATE_KEY:-$(INSTANCE)/vapid_private.pem}"; \
	else $(FLASK) push generate-vapid; fi

# The web app and the Huey worker together; Ctrl-C stops both.
run: catalogs demo vapid
	@echo "Footing on http://$(HOST):$(PORT)"
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	$(BIN)/huey_consumer webapp.worker.huey $(WORKER_FLAGS) --quiet & \
	$(FLASK) run --host $(HOST) --port $(PORT) --no-reload

worker: install
	$(BIN)/huey_consumer webapp.worker.huey $(WORKER_FLAGS)

# Poll the queue often: an urgent alert must not wait for an idle worker.
WORKER_FLAGS := --workers 2 --worker-type thread --delay 0.05 --max-delay 0.5 --backoff 1.1

bench-push: catalogs
	$(BIN)/python bench/push_latency.py

# Page budgets in Chromium: bytes, 2G/3G load times, Lighthouse (npm, into
# bench/.node), throughput under gunicorn. Writes bench/results/budgets.md.
# The load comes from wrk (apt-get install wrk) when it is on the machine.
bench: catalogs
	$(BIN)/python bench/budgets.py $(BENCH_ARGS)

# Only the throughput under gunicorn (no browser), in interleaved rounds, and
# the check-in's p95 at 50 connections. Writes bench/results/throughput-<db>.md.
bench-throughput: catalogs
	$(BIN)/python bench/throughput.py $(BENCH_ARGS)

# Layout shift (CLS) on emulated 2G in Chromium. Writes bench/results/cls.md.
bench-cls: catalogs
	$(BIN)/python bench/cls.py $(BENCH_ARGS)

# Lighthouse mobile, with benchmarkIndex, on the returnee's pages and a case
# page (npm, into bench/.node). Writes bench/results/lighthouse.md.
bench-lighthouse: catalogs
	$(BIN)/python bench/lighthouse.py $(BENCH_ARGS)

# Server cost per request in process: CPU, Python calls, SQL statements.
bench-hot: catalogs
	$(BIN)/python bench/hot_path.py $(BENCH_ARGS)

# Needs PostgreSQL (BENCH_DATABASE_URL, default the local server's footing_bench).
bench-caseload: catalogs
	$(BIN)/python bench/caseload.py $(BENCH_ARGS)

# The same at 100,000 returnees / 10,000,000 check-ins: outside CI (minutes of
# seeding, several GB). Writes bench/results/caseload-100000.md.
bench-caseload-national: catalogs
	$(BIN)/python bench/caseload.py --national $(BENCH_ARGS)

# The suite in parallel (pytest-xdist): one worker per core, each with its own
# database, Redis database, live server and Chromium (tests/conftest.py).
# TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= auto
XDIST := -n $(TEST_WORKERS) --maxprocesses 8

test: catalogs
	FOOTING_ENV=testing $(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# Lint, import order and the layers (pyproject.toml's contracts), types.
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test-browser: catalogs
	FOOTING_ENV=testing $(BIN)/python -m pytest $(XDIST) -m browser $(PYTEST_ARGS)

translations-check: install
	$(FLASK) translate check

clean:
	rm -rf $(VENV) instance .pytest_cache
