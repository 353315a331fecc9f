#!/usr/bin/env bash
# make demo [MULTIHOST=1]: runs playbooks/demo.yml on this machine, or across namespace hypervisors
# (tools/hostbed.py); --clean runs playbooks/teardown.yml instead (and removes the namespace hosts).
set -euo pipefail
cd "$(dirname "$0")/.."
multihost=${MULTIHOST:-}
playbook=playbooks/demo.yml
[ "${1:-}" = --clean ] && playbook=playbooks/teardown.yml
.venv/bin/python -c 'import sys; sys.path.insert(0, "tests"); from testbed.paths import link_collection; link_collection()'
export ANSIBLE_COLLECTIONS_PATH=$PWD/tests/output/collections ANSIBLE_FORCE_COLOR=0
inventory=(-i tools/demo-inventory.yml)
if [ -n "$multihost" ]; then
  if [ "$playbook" = playbooks/demo.yml ]; then .venv/bin/python tools/hostbed.py up --hosts 2 --name svkvm-demo; fi
  inventory=(-i /var/tmp/sharedvirt-kvm/hostbed/svkvm-demo.inventory.yml -i tools/demo-controller.yml)
fi
start=$SECONDS
status=0
.venv/bin/ansible-playbook "${inventory[@]}" "$playbook" || status=$?
if [ -n "$multihost" ] && [ "$playbook" = playbooks/teardown.yml ]; then
  .venv/bin/python tools/hostbed.py down --name svkvm-demo
fi
echo "demo: $playbook finished in $((SECONDS - start)) s (exit $status)"
exit $status
