#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: host_info
short_description: Facts about a libvirt hypervisor host
version_added: 0.1.0
description:
  - Reads what a hypervisor offers through libvirt, without changing anything.
  - Reports the libvirt and hypervisor versions, CPUs, memory, the host UUID, the guest domain
    types libvirt offers, and the domain type a new guest should use on this host.
  - O(ignore:host.domain_type) is V(kvm) only when libvirt offers KVM and, for a local URI, the CPU
    has VT-x or AMD-V; otherwise V(qemu) (TCG emulation), which is what a nested or emulated host needs.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
  - sharedvirt.kvm.attributes.info_module
options:
  allow_shared_pins:
    description:
      - Pinning is for isolation, so the module warns when the vCPUs of two running domains are pinned to one host
        CPU (RV(host.pin_overlaps)). V(true) says that is meant and keeps it quiet.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Read the hypervisor's facts
  sharedvirt.kvm.host_info:
  register: hv

- name: Show the domain type guests will use
  ansible.builtin.debug:
    msg: "{{ hv.host.hostname }} runs guests as {{ hv.host.domain_type }}"

- name: Ask a remote hypervisor over SSH
  sharedvirt.kvm.host_info:
    uri: qemu+ssh://root@hv1.example.com/system
"""

RETURN = r"""
host:
  description: Facts about the hypervisor.
  returned: always
  type: dict
  contains:
    uri:
      description: The canonical URI of the connection.
      type: str
      sample: qemu:///system
    hostname:
      description: The hypervisor's host name.
      type: str
      sample: hv1
    hypervisor:
      description: The driver name libvirt reports.
      type: str
      sample: QEMU
    hypervisor_version:
      description: Version of the hypervisor (QEMU).
      type: str
      sample: 7.2.0
    libvirt_version:
      description: Version of the libvirt daemon.
      type: str
      sample: 9.0.0
    arch:
      description: Host CPU architecture.
      type: str
      sample: x86_64
    cpu_model:
      description: Host CPU model as libvirt names it.
      type: str
      sample: EPYC-Rome
    cpus:
      description: Number of active host CPUs.
      type: int
      sample: 2
    memory:
      description: Host memory in bytes.
      type: int
      sample: 25769803776
    free_memory:
      description: Free host memory in bytes.
      type: int
      sample: 21474836480
    host_uuid:
      description: The host UUID libvirt uses (migration needs it unique per host).
      type: str
      sample: 00000000-0000-4000-8000-000000000011
    domain_types:
      description: Guest domain types libvirt offers, per guest architecture.
      type: dict
      sample: {"x86_64": ["kvm", "qemu"]}
    hardware_virtualization:
      description:
        - V(vmx) or V(svm) when the host CPU offers it, V(none) when it does not. For this machine they come
          from C(/proc/cpuinfo); for another machine from the host CPU features in libvirt's capabilities
          (null when they list none, for example on a non-x86 host).
      type: str
      sample: vmx
    domain_type:
      description: The domain type a new guest should use on this host.
      type: str
      sample: kvm
    domains:
      description: Number of defined and running domains.
      type: int
      sample: 4
    active_domains:
      description: Number of running domains.
      type: int
      sample: 2
    committed_vcpus:
      description: vCPUs of the running domains together (compare with RV(host.cpus) for the overcommit ratio).
      type: int
      sample: 6
    committed_memory:
      description: Memory of the running domains together, in bytes (their current balloon size).
      type: int
      sample: 4294967296
    isolated_cpus:
      description:
        - The CPUs the kernel keeps its scheduler off (C(isolcpus=), C(/sys/devices/system/cpu/isolated)), where
          pinned guests belong. Null when the URI names another machine.
      type: list
      elements: int
      sample: [2, 3]
    pinned_vcpus:
      description: The host CPUs each running domain's vCPUs are pinned to, by domain.
      type: dict
      sample: {"db1": [2], "db2": [3]}
    pin_overlaps:
      description: Host CPUs the vCPUs of more than one running domain are pinned to, with those domains.
      type: list
      elements: dict
      sample: [{"cpu": 2, "domains": ["db1", "web1"]}]
    ksm:
      description:
        - KSM (memory de-duplication) state and savings, as M(sharedvirt.kvm.host_memory) reports them
          (C(enabled), C(pages_sharing), C(saved_bytes), ...); null when the URI names another machine.
        - C(guests) lists each running domain with the pages of its QEMU that KSM merged (C(merging_pages),
          C(merged_bytes), from the kernel's C(/proc/<pid>/ksm_merging_pages)), or a C(reason) where the kernel
          does not say.
      type: dict
    networks:
      description: Number of libvirt networks.
      type: int
      sample: 1
    storage_pools:
      description: Number of storage pools.
      type: int
      sample: 2
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.host.module import run_host_info

ARGUMENT_SPEC = {"allow_shared_pins": {"type": "bool", "default": False}}


def main() -> None:
    module = LibvirtModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.run(run_host_info)


if __name__ == "__main__":
    main()
