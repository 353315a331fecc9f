#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: bridge_info
short_description: List the host's Linux and Open vSwitch bridges with their ports, VLANs and addresses
version_added: 0.1.0
description:
  - Reads the host through netlink (and OVSDB when Open vSwitch runs) and returns every bridge in the
    form the M(sharedvirt.kvm.bridge) module takes, plus the host's VLAN sub-interfaces.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.info_module
attributes:
  idempotent:
    description: Reads only.
    support: full
requirements:
  - pyroute2 on the host
options:
  name:
    description: Only this bridge.
    type: str
seealso:
  - module: sharedvirt.kvm.bridge
"""

EXAMPLES = r"""
- name: Bridges of the hypervisor
  sharedvirt.kvm.bridge_info:
  register: host_bridges
"""

RETURN = r"""
bridges:
  description: Bridges, by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Bridge name.
      type: str
    type:
      description: V(linux) or V(ovs).
      type: str
    ports:
      description: Ports with their options (VLAN, tag, trunks, STP cost); C(guest) marks guests' taps.
      type: list
      elements: dict
    addresses:
      description: The host's addresses on the bridge.
      type: list
      elements: str
vlan_interfaces:
  description: VLAN sub-interfaces of the host, with parent, VLAN id and the bridge they are in.
  returned: always
  type: list
  elements: dict
openvswitch:
  description: Whether Open vSwitch runs on the host.
  returned: always
  type: bool
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils.bridge.module import BridgeModule, run_bridge_info

ARGUMENT_SPEC = {"name": {"type": "str"}}


def main() -> None:
    module = BridgeModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.run(run_bridge_info)


if __name__ == "__main__":
    main()
