#!/usr/bin/env bash
# make test: every layer in order, each timed; a summary table and the test totals at the end.
# Setup and services abort the run when they fail; the other steps all run and are reported.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
junit=tests/output/junit
rm -rf "$junit"
mkdir -p "$junit"
declare -a names=() seconds=() results=()
status=0

step() {
  local name=$1
  shift
  echo "=== $name: $*"
  local start=$SECONDS
  "$@"
  local rc=$?
  names+=("$name")
  seconds+=($((SECONDS - start)))
  if [ $rc -eq 0 ]; then results+=(ok); else results+=("FAILED (exit $rc)"); status=1; fi
  return $rc
}

step setup tools/setup.sh || exit 1
step services .venv/bin/python tests/testbed/services.py ensure || exit 1
step lint make --no-print-directory lint
step sanity tools/sanity.sh
step build tools/check_build.sh
step docs tools/docs.sh
step docs-check .venv/bin/pytest tests/docs -q --junitxml="$junit/docs.xml" -o junit_suite_name=docs
step unit .venv/bin/pytest tests/unit -q --junitxml="$junit/unit.xml" -o junit_suite_name=unit
step contract .venv/bin/pytest tests/contract -q --junitxml="$junit/contract.xml" -o junit_suite_name=contract
# Two workers: most tests wait on guests and daemons, and testbed.slots keeps the TCG guests of both to four.
step integration .venv/bin/pytest tests/integration -q -n 2 \
  --junitxml="$junit/integration.xml" -o junit_suite_name=integration
step molecule env PATH="$PWD/.venv/bin:$PATH" molecule test --all

echo
echo "| step | seconds | result |"
echo "|---|---:|---|"
total=0
for i in "${!names[@]}"; do
  echo "| ${names[$i]} | ${seconds[$i]} | ${results[$i]} |"
  total=$((total + seconds[i]))
done
echo "| all | $total | $([ $status -eq 0 ] && echo ok || echo FAILED) |"
.venv/bin/python tools/junit_summary.py "$junit"/*.xml
exit $status
