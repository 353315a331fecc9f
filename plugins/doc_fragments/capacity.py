# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # How full a hypervisor may get, and anti-affinity: the placement lookup and the rebalance module.
    DOCUMENTATION = r"""
options:
  anti_affinity_key:
    description:
      - A domain's anti-affinity group is its C(cluster.anti_affinity) (an option of M(sharedvirt.kvm.domain));
        when that is unset, the value of this key in the domain's C(metadata).
      - Hypervisors in maintenance (M(sharedvirt.kvm.maintenance)) never take a domain.
    type: str
    default: anti_affinity
  anti_affinity_mode:
    description:
      - V(hard) never puts a domain on a hypervisor that runs or holds another member of its group; V(soft)
        does when nothing else fits (fewest members first).
    type: str
    choices: [hard, soft]
    default: hard
  reserve_memory:
    description: Memory kept for each host itself (bytes or a size such as V(2GiB)).
    type: str
    default: 1GiB
  memory_overcommit:
    description: Guest memory a host may commit per byte of RAM.
    type: float
    default: 1.0
  cpu_overcommit:
    description: vCPUs a host may commit per CPU.
    type: float
    default: 4.0
"""
