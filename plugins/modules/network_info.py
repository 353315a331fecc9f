#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network_info
short_description: List libvirt networks with their state, definition, users and DHCP leases
version_added: 0.1.0
description:
  - Returns every libvirt network (or one), as the running network has it when active.
  - Includes the DHCP leases dnsmasq holds (MACs normalised to lower case with colons), newest first,
    and the running domains with a NIC on each network.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
  - sharedvirt.kvm.attributes.info_module
attributes:
  idempotent:
    description: Reads only.
    support: full
options:
  name:
    description: Only this network.
    type: str
  leases:
    description: Include the DHCP leases of active networks.
    type: bool
    default: true
seealso:
  - module: sharedvirt.kvm.network
"""

EXAMPLES = r"""
- name: Which guest has which address on network lab
  sharedvirt.kvm.network_info:
    name: lab
  register: lab

- name: Show the leases
  ansible.builtin.debug:
    msg: "{{ lab.networks[0].leases | map(attribute='ip') | list }}"
"""

RETURN = r"""
networks:
  description: The networks, by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Network name.
      type: str
    state:
      description: V(active) or V(inactive).
      type: str
    autostart:
      description: Whether libvirtd starts the network.
      type: bool
    persistent:
      description: Whether the network has a persistent definition.
      type: bool
    users:
      description: Running domains with a NIC on the network.
      type: list
      elements: str
    leases:
      description: DHCP leases (only with O(leases=true)), newest first.
      type: list
      elements: dict
      contains:
        mac:
          description: Client MAC, lower case with colons.
          type: str
        ip:
          description: Leased address.
          type: str
        prefix:
          description: Prefix length of the subnet.
          type: int
        family:
          description: V(ipv4) or V(ipv6).
          type: str
        hostname:
          description: Host name the client sent.
          type: str
        expiry_time:
          description: Expiry, seconds since the epoch.
          type: int
        expires:
          description: Expiry as an ISO 8601 time in UTC.
          type: str
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.network.module import run_network_info

ARGUMENT_SPEC = {
    "name": {"type": "str"},
    "leases": {"type": "bool", "default": True},
}


def main() -> None:
    module = LibvirtModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.run(run_network_info)


if __name__ == "__main__":
    main()
