# Tongban: the two commands are `make run` and `make test`; both install what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION ?= 0.13.8
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
PY := .venv/bin/python
PYTEST_ARGS ?=
TEST_PATHS := $(wildcard kit/tests contracts/tests gateway/tests catalogue-svc/tests case-svc/tests \
              identity-svc/tests eseal-svc/tests data-exchange-svc/tests deploy/tests tests)

.PHONY: help venv tools infra run test test-unit test-fast lint fmt bench helm-lint clean stop

help:
	@echo "make run    start the whole mesh on the embedded defaults (SQLite, a local Kafka broker)"
	@echo "make test   install what is missing, start Kafka, PostgreSQL and Redis, run every test"
	@echo "make lint | fmt | bench | helm-lint | clean"

# Java and Maven run the local broker; Go builds helm. Debian packages when missing.
tools:
	@command -v java >/dev/null && command -v mvn >/dev/null || { \
	  echo "installing Java 17 and Maven"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null; }
	@command -v uv >/dev/null || python3.11 -m pip install -q "uv==$(UV_VERSION)" || python3 -m pip install -q "uv==$(UV_VERSION)"

venv: tools
	@uv sync --all-packages --frozen --quiet
	@echo "virtual environment ready (.venv)"

infra: venv
	@mkdir -p var
	@$(PY) deploy/local/kafka.py status >/dev/null 2>&1 && touch var/.kafka-was-up || rm -f var/.kafka-was-up
	@$(PY) deploy/local/kafka.py ensure
	@deploy/local/postgres.sh ensure
	@deploy/local/redis.sh ensure
	@$(PY) deploy/local/s3.py ensure

run: venv
	@$(PY) deploy/local/run_mesh.py

# The whole suite: lint, unit, integration (real Kafka, PostgreSQL, Redis), mesh, chart. Stops what it started.
test: infra
	@status=0; \
	$(MAKE) --no-print-directory lint || status=$$?; \
	[ $$status -eq 0 ] && { $(MAKE) --no-print-directory helm-lint || status=$$?; }; \
	[ $$status -eq 0 ] && { $(PY) -m pytest $(TEST_PATHS) -q $(PYTEST_ARGS) || status=$$?; }; \
	$(MAKE) --no-print-directory stop; \
	exit $$status

test-unit: venv
	@$(PY) -m pytest $(TEST_PATHS) -q -m "not integration and not mesh" $(PYTEST_ARGS)

stop:
	@[ -f var/.kafka-was-up ] || $(PY) deploy/local/kafka.py stop || true
	@deploy/local/redis.sh stop || true
	@$(PY) deploy/local/s3.py stop || true
	@deploy/local/postgres.sh stop || true

lint: venv
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check . >/dev/null || { echo "ruff format would change files: run make fmt"; exit 1; }
	@.venv/bin/mypy kit/src contracts/src gateway/src catalogue-svc/src case-svc/src identity-svc/src eseal-svc/src data-exchange-svc/src
	@.venv/bin/lint-imports --no-cache

fmt: venv
	@.venv/bin/ruff format .
	@.venv/bin/ruff check --fix .

helm-lint: venv
	@deploy/helm-lint.sh

bench: infra
	@$(PY) bench/run_all.py

clean:
	@$(PY) deploy/local/kafka.py stop 2>/dev/null || true
	@deploy/local/redis.sh stop 2>/dev/null || true
	rm -rf var .mypy_cache .ruff_cache .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
