#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: maintenance
short_description: Drain a hypervisor for maintenance, and bring it and its VMs back
version_added: 0.2.0
description:
  - O(state=present) marks O(host) in maintenance and takes its running VMs off it. The mark is kept on the host
    itself (an inactive libvirt network named C(sharedvirt-maintenance)), so the P(sharedvirt.kvm.placement#lookup) lookup,
    M(sharedvirt.kvm.rebalance) and the vm_cluster role - every reader of the host - never choose it while it is set.
  - Each running VM follows its cluster policy (the C(cluster.maintenance_policy) option of M(sharedvirt.kvm.domain))
    - V(migrate), the default, live-migrates it to the host the placement code chooses among those in service
    (capacity and anti-affinity, each choice counting for the next, prechecked like M(sharedvirt.kvm.migration)),
    V(shutdown) shuts it down cleanly where it is, and V(stay) refuses the drain unless O(force).
  - A VM that cannot go anywhere refuses the whole drain, naming every VM and why, before anything moves.
    Draining the last hypervisor in service is refused.
  - Each VM records where it came from in its definition. O(state=absent) puts the host back in service and, with
    O(restore), migrates those VMs back and starts the ones the drain shut down.
  - A failure part-way says what was done; running the task again finishes the drain or the restore.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.capacity
options:
  host:
    description: The libvirt URI of the hypervisor to drain or restore; one of O(hypervisors).
    type: str
    required: true
  hypervisors:
    description:
      - The libvirt URIs of every hypervisor of the cluster, O(host) among them. Peer-to-peer migration makes each
        source's libvirtd connect to the destination's URI, so the URIs must work from the hosts too.
    type: list
    elements: str
    required: true
  state:
    description: V(present) - in maintenance, drained; V(absent) - in service.
    type: str
    choices: [present, absent]
    default: present
  restore:
    description: With O(state=absent), bring back the VMs the drain took off O(host).
    type: bool
    default: true
  force:
    description: Drain the host although VMs with the V(stay) policy run on it; they stay running there.
    type: bool
    default: false
  reason:
    description: Why the host is in maintenance, kept with the mark.
    type: str
  parallel:
    description: How many live migrations run at once (1 to 8).
    type: int
    default: 1
  connect_timeout:
    description: Seconds to wait for each connection to open.
    type: int
    default: 30
  mode:
    description: How each migration runs (see M(sharedvirt.kvm.migration)).
    type: str
    choices: [p2p, tunnelled, direct]
    default: p2p
  allow_unsafe:
    description:
      - Migrate VMs whose disks on shared storage use a caching mode that can lose writes, or lie on shared storage
        libvirt does not recognize as shared (see M(sharedvirt.kvm.migration)).
    type: bool
    default: false
  timeout:
    description: Seconds each migration or clean shutdown may take.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    details:
      - Returns every move in order (which VM goes where), with the placement made and the hosts before and after.
  diff_mode:
    support: none
  idempotent:
    support: full
    description: A drained host in maintenance, or a host in service with nothing to bring back, reports no change.
"""

EXAMPLES = r"""
- name: Drain hv2 for a kernel update (two live migrations at a time)
  sharedvirt.kvm.maintenance:
    host: qemu+ssh://root@hv2/system
    hypervisors: "{{ groups['hypervisors'] | map('regex_replace', '^(.*)$', 'qemu+ssh://root@\\1/system') }}"
    reason: kernel update
    parallel: 2
  register: drain

- name: Back in service, with its VMs
  sharedvirt.kvm.maintenance:
    host: qemu+ssh://root@hv2/system
    hypervisors: "{{ groups['hypervisors'] | map('regex_replace', '^(.*)$', 'qemu+ssh://root@\\1/system') }}"
    state: absent
"""

RETURN = r"""
actions:
  description: What the run did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
moves:
  description:
    - One entry per VM the run dealt with - C(domain), C(action) (V(migrate), V(shutdown), V(stay), V(start),
      V(forget)), C(source) and C(destination).
  returned: always
  type: list
  elements: dict
before:
  description: Per hypervisor, whether it is in maintenance (and since when) and the VMs it runs, before the run.
  returned: always
  type: dict
after:
  description: The same after the run (predicted in check mode).
  returned: always
  type: dict
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import ClusterModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.maintenance.module import run_maintenance

ARGUMENT_SPEC = {
    "host": {"type": "str", "required": True},
    "hypervisors": {"type": "list", "elements": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "restore": {"type": "bool", "default": True},
    "force": {"type": "bool", "default": False},
    "reason": {"type": "str"},
    "parallel": {"type": "int", "default": 1},
    "connect_timeout": {"type": "int", "default": 30},
    "anti_affinity_key": {"type": "str", "default": "anti_affinity", "no_log": False},
    "anti_affinity_mode": {"type": "str", "choices": ["hard", "soft"], "default": "hard"},
    "reserve_memory": {"type": "str", "default": "1GiB"},
    "memory_overcommit": {"type": "float", "default": 1.0},
    "cpu_overcommit": {"type": "float", "default": 4.0},
    "mode": {"type": "str", "choices": ["p2p", "tunnelled", "direct"], "default": "p2p"},
    "allow_unsafe": {"type": "bool", "default": False},
    "timeout": {"type": "int", "default": 300},
}


def main() -> None:
    ClusterModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_maintenance)


if __name__ == "__main__":
    main()
