#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_ip_info
short_description: Find the IP addresses of virtual machines, as a task on their hypervisor
version_added: 0.2.0
description:
  - The P(sharedvirt.kvm.vm_ip#lookup) lookup as a module, for a task that runs on the hypervisor through
    Ansible's normal connection (C(delegate_to) the hypervisor, or a play on it). The same resolver, sources and
    order, the same terms (domain names, UUIDs, MACs in any spelling) and the same reasons when a term finds
    nothing.
  - The hypervisor's neighbour table is read directly (netlink, or C(/proc/net/arp)), and O(probe) sweeps the
    subnet of the guest's bridge on the hypervisor itself, so silent guests on plain host bridges (a DHCP
    server outside libvirt, no guest agent) are found too.
  - Check mode runs it as it is, a read. A probe sends datagrams on the guest's bridge, which only fills the
    neighbour table.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.connection.addresses
  - sharedvirt.kvm.connection.probe
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
  - sharedvirt.kvm.attributes.info_module
options:
  terms:
    description: Domain names, UUIDs or MAC addresses.
    type: list
    elements: str
    required: true
  wait:
    description: Poll until every term has an address (a guest that is still booting), at most O(timeout) seconds.
    type: bool
    default: false
  timeout:
    description: Seconds to wait with O(wait=true).
    type: int
    default: 300
  interval:
    description: Seconds between polls with O(wait=true).
    type: float
    default: 2
  on_missing:
    description:
      - What to do with a term that has no address. V(error) fails with the reasons, V(warn) warns; with V(warn)
        and V(skip) the term gets an empty list and its reasons are in RV(missing).
    type: str
    choices: [error, warn, skip]
    default: error
"""

EXAMPLES = r"""
- name: Find the agentless Windows guest on hv1's bridge br1 (the DHCP server is elsewhere)
  sharedvirt.kvm.vm_ip_info:
    terms: [win7]
    sources: [arp]
    probe: true
  delegate_to: hv1
  register: found

- name: Use it
  ansible.builtin.debug:
    msg: "win7 is at {{ found.first.win7 }}"
"""

RETURN = r"""
addresses:
  description: Per term, every address found, as the lookup's O(sharedvirt.kvm.vm_ip#lookup:return=all) gives them.
  returned: always
  type: dict
  sample: {"win7": [{"ip": "192.168.1.57", "prefix": null, "family": "ipv4", "mac": "52:54:00:7a:00:01",
           "source": "arp", "domain": "win7", "hypervisor": "qemu:///system", "interface": "vnet3",
           "network": null, "guest_interface": null}]}
first:
  description: Per term, the first address (an empty string when there is none).
  returned: always
  type: dict
  sample: {"win7": "192.168.1.57"}
missing:
  description: Per term without an address, why each source gave nothing.
  returned: always
  type: dict
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.module import run_vm_ip_info

ARGUMENT_SPEC = {
    "terms": {"type": "list", "elements": "str", "required": True},
    "sources": {
        "type": "list",
        "elements": "str",
        "choices": ["reservation", "lease", "agent", "arp"],
        "default": ["reservation", "lease", "agent", "arp"],
    },
    "family": {"type": "str", "choices": ["ipv4", "ipv6", "any"], "default": "ipv4"},
    "probe": {"type": "bool", "default": False},
    "probe_rate": {"type": "int", "default": 200},
    "probe_max_addresses": {"type": "int", "default": 1024},
    "wait": {"type": "bool", "default": False},
    "timeout": {"type": "int", "default": 300},
    "interval": {"type": "float", "default": 2},
    "on_missing": {"type": "str", "choices": ["error", "warn", "skip"], "default": "error"},
}


def main() -> None:
    LibvirtModule(ARGUMENT_SPEC, supports_check_mode=True).run(run_vm_ip_info)


if __name__ == "__main__":
    main()
