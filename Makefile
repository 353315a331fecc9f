# sharedvirt.kvm -- `make demo` runs the main job, `make test` passes every test layer.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: test check docs docs-check setup services lint sanity build unit contract integration demo demo-clean bench format clean

test:
	@tools/test.sh

# The fast loop (under 2 minutes): lint, sanity on what changed, unit and contract tests.
check:
	@tools/check.sh

setup:
	@tools/setup.sh

services: setup
	@$(PY) tests/testbed/services.py ensure

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	tools/mypy.sh
	$(VENV)/bin/yamllint -s .
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/ansible-lint -q
	$(VENV)/bin/antsibull-changelog lint

sanity:
	tools/sanity.sh

build:
	tools/check_build.sh

# The site: plugin and role pages plus the guides, in build/docs/html (lint-collection-docs first).
docs: setup
	@tools/docs.sh

# The site as headless Chromium renders it: DOM checks and screenshots in build/docs/screenshots.
docs-check: docs
	$(VENV)/bin/pytest tests/docs -q

unit contract:
	$(VENV)/bin/pytest tests/$@

# Two workers, as make test runs them (CONTRIBUTING.md: what keeps them apart).
integration:
	$(VENV)/bin/pytest tests/integration -n 2

# Benchmarks against community.libvirt, the manual method and the floors (BENCH_ARGS="--reps 1 --only 1").
bench: setup
	@tools/bench.sh $(BENCH_ARGS)

demo: services
	@tools/demo.sh

demo-clean: services
	@tools/demo.sh --clean

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf tests/output build .mypy_cache .ruff_cache .pytest_cache
