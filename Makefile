# Everything a newcomer needs: `make demo` and `make test`. Both set themselves up.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

# Python 3.13, found on PATH, under pyenv, or in the usual system places.
PYTHON313 ?= $(shell for p in python3.13 "$$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python3.13 \
	"$$HOME"/.pyenv/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 /usr/bin/python3.13; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1 && { command -v "$$p" || echo "$$p"; } && break; done)

.PHONY: setup demo test lint docs unit integration e2e bench build package publish validate clean

export SAM_CLI_TELEMETRY := 0
# Where `make package` puts the code and documents (an S3 bucket of the region), and the
# repository's public URL for the Serverless Application Repository listing (optional).
BUCKET ?=
SOURCE_URL ?= $(shell git remote get-url origin 2>/dev/null | grep '^https://')

setup: $(VENV)/.ready

$(VENV)/.ready: requirements-dev.txt src/handler/requirements.txt pyproject.toml
	@test -n "$(PYTHON313)" || { echo "Python 3.13 not found: install it (e.g. pyenv install 3.13) or run make PYTHON313=/path/to/python3.13"; exit 1; }
	@echo "Creating $(VENV) with $(PYTHON313)"
	"$(PYTHON313)" -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	npm install --silent --no-audit --no-fund --prefix $(VENV)/node asl-validator@4.0.0
	@touch $@

demo: setup
	$(PY) -m demo

lint: setup
	$(BIN)/ruff check src tests bench testkit tools demo
	$(BIN)/ruff format --check src tests bench testkit tools demo
	$(BIN)/mypy
	$(PY) tools/gates.py src
	PYTHONPATH=src/handler $(BIN)/lint-imports --no-cache
	$(BIN)/cfn-lint template.yaml examples/*.yaml

# The documentation site (docs/, mkdocs-material), offline and strict: a broken link, a missing
# anchor or a page left out of the navigation fails the build.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

test: lint docs
	$(BIN)/pytest

unit: setup
	$(BIN)/pytest tests/unit

integration: setup
	$(BIN)/pytest tests/integration

e2e: setup
	$(BIN)/pytest tests/e2e

# A benchmark, not a test: medians against floors measured in the same run (bench/results.json).
bench: setup
	$(PY) -m bench.run

# sam build with Python 3.13 on PATH (a pyenv shim may not be), through src/handler/Makefile.
build: setup
	PATH="$(dir $(PYTHON313)):$$PATH" $(BIN)/sam build

# The release artifacts: dist/template.yaml (sam deploy, SAR) and dist/stackset.json (StackSets).
package: build
	@test -n "$(BUCKET)" || { echo "make package BUCKET=<an S3 bucket in the target region>"; exit 1; }
	mkdir -p dist
	$(BIN)/sam package --template-file .aws-sam/build/template.yaml --s3-bucket "$(BUCKET)" \
		--output-template-file dist/template.yaml
	$(PY) tools/release.py dist/template.yaml --stackset dist/stackset.json --source-url "$(SOURCE_URL)"

# Publishes the packaged template to the Serverless Application Repository (needs credentials).
publish: package
	$(BIN)/sam publish --template dist/template.yaml

validate: setup
	$(BIN)/sam validate --lint

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache dist .site
