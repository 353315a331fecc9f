#!/usr/bin/env bash
# make demo [MULTIHOST=1 [DRAIN=1]]: runs playbooks/demo.yml on this machine, or across namespace hypervisors
# (tools/hostbed.py); DRAIN=1 adds a third hypervisor and then runs playbooks/demo_drain.yml (drain the host of
# svkvm-demo1 and bring it back). --clean runs playbooks/teardown.yml instead (and removes the namespace hosts).
set -euo pipefail
cd "$(dirname "$0")/.."
multihost=${MULTIHOST:-}
drain=${DRAIN:-}
hosts=2
[ -n "$drain" ] && hosts=3
if [ -n "$drain" ] && [ -z "$multihost" ]; then
  echo "demo: DRAIN=1 needs MULTIHOST=1 (a drain moves VMs to other hypervisors)" >&2
  exit 2
fi
playbook=playbooks/demo.yml
[ "${1:-}" = --clean ] && playbook=playbooks/teardown.yml
.venv/bin/python -c 'import sys; sys.path.insert(0, "tests"); from testbed.paths import link_collection; link_collection()'
export ANSIBLE_COLLECTIONS_PATH=$PWD/tests/output/collections ANSIBLE_FORCE_COLOR=0
inventory=(-i tools/demo-inventory.yml)
if [ -n "$multihost" ]; then
  if [ "$playbook" = playbooks/demo.yml ]; then .venv/bin/python tools/hostbed.py up --hosts "$hosts" --name svkvm-demo; fi
  inventory=(-i /var/tmp/sharedvirt-kvm/hostbed/svkvm-demo.inventory.yml -i tools/demo-controller.yml)
fi
start=$SECONDS
status=0
.venv/bin/ansible-playbook "${inventory[@]}" "$playbook" || status=$?
if [ "$status" = 0 ] && [ -n "$drain" ] && [ "$playbook" = playbooks/demo.yml ]; then
  .venv/bin/ansible-playbook "${inventory[@]}" playbooks/demo_drain.yml || status=$?
fi
if [ -n "$multihost" ] && [ "$playbook" = playbooks/teardown.yml ]; then
  .venv/bin/python tools/hostbed.py down --name svkvm-demo
fi
echo "demo: $playbook finished in $((SECONDS - start)) s (exit $status)"
exit $status
