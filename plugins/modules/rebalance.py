#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rebalance
short_description: Live-migrate running domains until hypervisors are within a memory and vCPU spread
version_added: 0.1.0
description:
  - Reads every hypervisor in O(hypervisors) - RAM, CPUs, free memory, and each domain's memory, vCPUs and
    anti-affinity group (the value of O(anti_affinity_key) in the domain's C(metadata), as the
    M(sharedvirt.kvm.domain) module sets it) - and plans live migrations, one at a time, each the one that
    helps most - first separating domains of one anti-affinity group that share a host, then narrowing
    the worst spread.
  - The spread of a resource is the difference between the most and the least committed hypervisor - in
    bytes or vCPUs, or in percentage points of each host's RAM or CPUs when given as a percentage.
  - Only running, persistent domains move, and only to hosts with room (O(reserve_memory),
    O(memory_overcommit), O(cpu_overcommit)) and without another member of their group. Every planned move
    passes the prechecks of M(sharedvirt.kvm.migration) (networks, pools, CPU, shared storage, cache mode);
    a domain they refuse stays and is listed in RV(unmovable) with the reason, and the plan is made again
    without it. Disks are never copied - domains on local storage stay.
  - A running domain whose cluster policy says C(maintenance_policy=stay) (a storage appliance, whose disks are
    its host's) never moves either; RV(unmovable) lists it with that reason.
  - In check mode, returns the plan and the predicted figures and moves nothing. When the hosts are within
    the spread (or no move narrows it), nothing changes.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.capacity
options:
  hypervisors:
    description:
      - The libvirt URIs of the hypervisors to balance (at least two). Peer-to-peer migration makes each
        source's libvirtd connect to the destination's URI, so the URIs must work from the hosts too.
    type: list
    elements: str
    required: true
  connect_timeout:
    description: Seconds to wait for each connection to open.
    type: int
    default: 30
  memory_spread:
    description:
      - Largest allowed difference of committed guest memory - a size (V(2GiB)) or a percentage of each
        host's RAM (V(10%)). V(null) leaves memory out of the balance.
    type: str
    default: 10%
  cpu_spread:
    description:
      - Largest allowed difference of committed vCPUs - a number of vCPUs (V(4)) or a percentage of each
        host's CPUs (V(50%)). V(null) leaves vCPUs out of the balance.
    type: str
    default: 50%
  exclude:
    description: Domains that never move.
    type: list
    elements: str
    default: []
  max_migrations:
    description: Most migrations in one run.
    type: int
    default: 10
  mode:
    description: How each migration runs (see M(sharedvirt.kvm.migration)).
    type: str
    choices: [p2p, tunnelled, direct]
    default: p2p
  bandwidth:
    description: Limit of each migration in MiB/s.
    type: int
  max_downtime:
    description: Longest pause of a guest at the switch-over, in milliseconds.
    type: int
  auto_converge:
    description: Slow a guest's vCPUs down when its memory changes faster than it can be copied.
    type: bool
    default: false
  allow_unsafe:
    description: Migrate domains whose disks on shared storage use a caching mode that can lose writes.
    type: bool
    default: false
  timeout:
    description: Seconds each migration may take before it is aborted (the domain stays where it was).
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    details:
      - Returns the plan, with the prechecks run, and the predicted figures.
  diff_mode:
    support: none
  idempotent:
    support: full
    description: Hosts within the spread, or that no migration brings closer, report no change.
"""

EXAMPLES = r"""
- name: Keep three hypervisors within 4 GiB of committed memory and 2 vCPUs of each other
  sharedvirt.kvm.rebalance:
    hypervisors:
      - qemu+ssh://root@hv1/system
      - qemu+ssh://root@hv2/system
      - qemu+ssh://root@hv3/system
    memory_spread: 4GiB
    cpu_spread: "2"
    max_downtime: 300
  register: balance

- name: Show what moved
  ansible.builtin.debug:
    msg: "{{ balance.migrations | map(attribute='domain') }} now {{ balance.after.spread }}"
"""

RETURN = r"""
migrations:
  description:
    - The migrations in order - done, or planned in check mode. After a real run each also has the job's
      figures (C(duration), C(downtime_ms), C(data_processed), ...) as M(sharedvirt.kvm.migration) returns them.
  returned: always
  type: list
  elements: dict
  sample: [{"domain": "web2", "source": "qemu+ssh://root@hv1/system", "destination": "qemu+ssh://root@hv2/system",
            "memory": 2147483648, "vcpus": 2}]
before:
  description:
    - Per hypervisor its RAM, CPUs, committed memory and vCPUs and running domains (C(hosts)), the spread of
      each resource (C(spread)) and C(anti_affinity_violations), before the run.
  returned: always
  type: dict
after:
  description: The same figures after the planned migrations.
  returned: always
  type: dict
balanced:
  description: Whether the hosts are within every spread, with no anti-affinity violation, after the plan.
  returned: always
  type: bool
reason:
  description: Why the plan ends where it does.
  returned: always
  type: str
  sample: within the spread
unmovable:
  description:
    - Domains the plan wanted to move and the migration prechecks refused, and running domains whose cluster policy
      keeps them on their host, with the reason. Domains of O(exclude) are not listed.
  returned: always
  type: dict
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import ClusterModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.placement.rebalance_module import run_rebalance

ARGUMENT_SPEC = {
    "hypervisors": {"type": "list", "elements": "str", "required": True},
    "connect_timeout": {"type": "int", "default": 30},
    "memory_spread": {"type": "str", "default": "10%"},
    "cpu_spread": {"type": "str", "default": "50%"},
    "anti_affinity_key": {"type": "str", "default": "anti_affinity", "no_log": False},
    "anti_affinity_mode": {"type": "str", "choices": ["hard", "soft"], "default": "hard"},
    "reserve_memory": {"type": "str", "default": "1GiB"},
    "memory_overcommit": {"type": "float", "default": 1.0},
    "cpu_overcommit": {"type": "float", "default": 4.0},
    "exclude": {"type": "list", "elements": "str", "default": []},
    "max_migrations": {"type": "int", "default": 10},
    "mode": {"type": "str", "choices": ["p2p", "tunnelled", "direct"], "default": "p2p"},
    "bandwidth": {"type": "int"},
    "max_downtime": {"type": "int"},
    "auto_converge": {"type": "bool", "default": False},
    "allow_unsafe": {"type": "bool", "default": False},
    "timeout": {"type": "int", "default": 300},
}


def main() -> None:
    ClusterModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_rebalance)


if __name__ == "__main__":
    main()
