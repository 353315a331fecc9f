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

record() {  # name seconds exit-code
  names+=("$1")
  seconds+=("$2")
  if [ "$3" -eq 0 ]; then results+=(ok); else results+=("FAILED (exit $3)"); status=1; fi
}

step() {
  local name=$1
  shift
  echo "=== $name: $*"
  local start=$SECONDS
  "$@"
  local rc=$?
  record "$name" $((SECONDS - start)) $rc
  return $rc
}

# A step run beside the next ones: its output is kept and printed when step_wait collects it.
step_beside() {
  local name=$1
  shift
  echo "=== $name (beside the next steps): $*"
  ( start=$SECONDS; "$@" > "$junit/$name.log" 2>&1; echo "$? $((SECONDS - start))" > "$junit/$name.rc" ) &
  beside_pids[$name]=$!
}

step_wait() {
  local name=$1 rc secs
  wait "${beside_pids[$name]}"
  echo "=== $name (ran beside the steps above)"
  cat "$junit/$name.log"
  read -r rc secs < "$junit/$name.rc"
  record "$name" "$secs" "$rc"
}
declare -A beside_pids=()
wall=$SECONDS

step setup tools/setup.sh || exit 1
step services .venv/bin/python tests/testbed/services.py ensure || exit 1
# The role scenarios wait on their namespace hypervisors' playbooks and guests much of the time (about 0.8 of
# the two cores busy), so they run beside the static checks. Never beside the integration tests: the hypervisor
# scenario reconfigures this machine's libvirtd, and both boot guests.
# The scenarios share one state (config.yml): the default scenario's destroy first, so that the state of an
# interrupted run (the bed "created", a scenario "prepared") cannot make this run skip its create or prepare.
step_beside molecule env PATH="$PWD/.venv/bin:$PATH" sh -c 'molecule destroy -s default && molecule test --all'
# Two lanes of checks on the two cores: lint, the docs, unit and contract tests, beside sanity then the build.
step_beside sanity-build sh -c 'tools/sanity.sh && tools/check_build.sh'
step lint make --no-print-directory lint
step docs tools/docs.sh
step docs-check .venv/bin/pytest tests/docs -q --junitxml="$junit/docs.xml" -o junit_suite_name=docs
step unit .venv/bin/pytest tests/unit -q --junitxml="$junit/unit.xml" -o junit_suite_name=unit
step contract .venv/bin/pytest tests/contract -q --junitxml="$junit/contract.xml" -o junit_suite_name=contract
step_wait sanity-build
step_wait molecule
# Two pytest-xdist workers, one per core (CONTRIBUTING.md: what keeps tests apart, and how a test waits for a
# guest slot): about a third less time than one process.
step integration .venv/bin/pytest tests/integration -q -n 2 \
  --junitxml="$junit/integration.xml" -o junit_suite_name=integration

echo
echo "| step | seconds | result |"
echo "|---|---:|---|"
total=0
for i in "${!names[@]}"; do
  echo "| ${names[$i]} | ${seconds[$i]} | ${results[$i]} |"
  total=$((total + seconds[i]))
done
echo "| all (steps added up) | $total | $([ $status -eq 0 ] && echo ok || echo FAILED) |"
echo "| wall clock (steps beside each other) | $((SECONDS - wall)) | |"
.venv/bin/python tools/junit_summary.py "$junit"/*.xml
exit $status
