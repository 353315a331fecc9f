#!/usr/bin/env bash
# mypy over the collection (as ansible_collections.sharedvirt.kvm) and over the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
.venv/bin/python -c 'import sys; sys.path.insert(0, "tests"); from testbed.paths import link_collection; link_collection()'
(cd tests/output/collections && "$repo/.venv/bin/mypy" --config-file "$repo/pyproject.toml" ansible_collections/sharedvirt/kvm/plugins)
(cd tests && MYPYPATH="$repo/tests/output/collections:$repo/bench" "$repo/.venv/bin/mypy" --config-file "$repo/pyproject.toml" \
  conftest.py testbed unit contract integration)
# The benchmarks import the test bed (tests/) and each other (bench/).
(cd bench && MYPYPATH="$repo/tests/output/collections:$repo/tests" "$repo/.venv/bin/mypy" --config-file "$repo/pyproject.toml" \
  --explicit-package-bases ./*.py)
