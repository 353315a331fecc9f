#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: recover
short_description: Restart the HA VMs of failed hypervisors on the survivors, once the failed ones are fenced
version_added: 0.2.0
description:
  - Connects to every hypervisor in O(hypervisors); those whose libvirt does not answer within O(connect_timeout)
    are the failed ones. With none failed, nothing happens.
  - Unreachable is not down - a host cut off from the network may still write to shared storage. Nothing restarts
    without proof for each failed host - O(fence_command) succeeding (power it off through IPMI, Redfish or a
    PDU), or O(fenced=true) after the operator fenced it.
  - The VMs of a failed host are found in their recovery records in O(record_pool) (see the
    C(cluster.record_pool) option of M(sharedvirt.kvm.domain)) - the definition as last known, the host, and
    whether the VM should run.
  - Refused, even with proof, while a VM of a failed host still holds its lock manager locks - its domain lease
    or a disk lock in O(lockspace_dir) - its QEMU still runs somewhere, and a restart would make a second writer.
  - VMs with C(cluster.ha) that should run are restarted in C(cluster.priority) order (highest first) on the
    survivors the placement code chooses (capacity and anti-affinity). The others are reported - RV(left_down)
    (not HA, or shut down on purpose) and RV(not_restarted) (no room, with the reason).
  - A second run finds them running and changes nothing.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.capacity
options:
  hypervisors:
    description: The libvirt URIs of every hypervisor of the cluster.
    type: list
    elements: str
    required: true
  connect_timeout:
    description: Seconds a hypervisor has to answer before it counts as failed.
    type: int
    default: 15
  record_pool:
    description: The storage pool, on storage every hypervisor sees, that keeps the VMs' recovery records.
    type: str
    required: true
  fenced:
    description: The operator's word that every failed host is powered off or otherwise cut from the storage.
    type: bool
    default: false
  fence_command:
    description:
      - A command (argv list) run on the machine that runs the module for each failed host, C({host}) replaced by
        its URI; exit status 0 means the host is fenced. Not run in check mode.
    type: list
    elements: str
  lockspace_dir:
    description:
      - The lock manager's directory of disk locks (virtlockd's C(file_lockspace_dir)) as the machine that runs the
        module sees it. Domain leases are found from the VMs' definitions.
    type: path
attributes:
  check_mode:
    support: full
    details:
      - Plans the restarts; O(fence_command) is not run, and counts as proof.
  diff_mode:
    support: none
  idempotent:
    support: full
    description: VMs already running on a survivor are not restarted again.
"""

EXAMPLES = r"""
- name: Restart the HA VMs of a hypervisor that died, fencing it through its BMC first
  sharedvirt.kvm.recover:
    hypervisors: [qemu+ssh://root@hv1/system, qemu+ssh://root@hv2/system, qemu+ssh://root@hv3/system]
    record_pool: cluster-shared
    fence_command: [/usr/local/bin/fence-host, "{host}"]
    lockspace_dir: /srv/cluster/locks/sharedvirt
  register: recovery
"""

RETURN = r"""
failed_hosts:
  description: The hypervisors that did not answer.
  returned: always
  type: list
  elements: str
actions:
  description: The restarts, in order.
  returned: always
  type: list
  elements: str
proofs:
  description: Per failed host, how it is known to be fenced.
  returned: when a host failed
  type: dict
restarted:
  description: The VMs restarted (planned in check mode) - C(domain), C(host) it now runs on, C(from) the failed host.
  returned: when a host failed
  type: list
  elements: dict
left_down:
  description: VMs of the failed hosts deliberately left down, with the reason.
  returned: when a host failed
  type: dict
not_restarted:
  description: HA VMs that could not be restarted, with the reason.
  returned: when a host failed
  type: dict
elsewhere:
  description: VMs of the failed hosts' records that run on a survivor already.
  returned: when a host failed
  type: dict
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import ClusterModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.recovery.module import run_recover

ARGUMENT_SPEC = {
    "hypervisors": {"type": "list", "elements": "str", "required": True},
    "connect_timeout": {"type": "int", "default": 15},
    "record_pool": {"type": "str", "required": True},
    "fenced": {"type": "bool", "default": False},
    "fence_command": {"type": "list", "elements": "str"},
    "lockspace_dir": {"type": "path"},
    "anti_affinity_key": {"type": "str", "default": "anti_affinity", "no_log": False},
    "anti_affinity_mode": {"type": "str", "choices": ["hard", "soft"], "default": "hard"},
    "reserve_memory": {"type": "str", "default": "1GiB"},
    "memory_overcommit": {"type": "float", "default": 1.0},
    "cpu_overcommit": {"type": "float", "default": 4.0},
}


def main() -> None:
    ClusterModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_recover)


if __name__ == "__main__":
    main()
