#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: bridge
short_description: Declare a host bridge (Linux or Open vSwitch) with its ports, VLANs and addresses, persistent across reboots
version_added: 0.1.0
description:
  - Creates, changes and removes one host bridge - a Linux bridge (O(type=linux)) or an Open vSwitch
    bridge (O(type=ovs)) - and its ports, so that the hypervisor's physical NICs, VLAN sub-interfaces and
    the guests' taps share one layer-2 segment.
  - The running host is changed through netlink (pyroute2) for Linux bridges and through OVSDB
    (C(ovs-vsctl)) for Open vSwitch; the host's own network stack is given files that recreate the same
    layout at boot (O(persist)). Only files named C(sharedvirt-<bridge>...) that this module wrote are
    ever changed or removed.
  - Ports not listed are kept, unless O(purge_ports=true); guests' tap ports (added by libvirt) are never
    removed by it.
  - A port that belongs to another bridge moves only with O(steal=true). A port that carries the host's
    addresses (a management NIC) is enslaved only with O(move_addresses=true), which moves its addresses
    and routes onto the bridge in the same run.
  - The classic per-VLAN layout (a VLAN sub-interface of the uplink in its own bridge, C(eth0.10 -> brvlan10))
    is declared with O(vlans), or per bridge with a port's O(ports[].vlan). It needs the kernel's 8021q
    support; on hosts without it, use an Open vSwitch bridge with port tags.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    description: When run twice in a row, the second run reports no change.
    support: full
requirements:
  - pyroute2 (Debian/Ubuntu C(python3-pyroute2), RHEL C(python3-pyroute2)) on the host
  - ovs-vsctl and running ovsdb-server/ovs-vswitchd for O(type=ovs)
options:
  name:
    description: Bridge name (at most 15 characters, the kernel's limit).
    type: str
    required: true
  type:
    description: Linux bridge or Open vSwitch bridge; cannot change on an existing bridge.
    type: str
    choices: [linux, ovs]
    default: linux
  state:
    description:
      - V(present) creates or updates the bridge. V(absent) deletes it and the VLAN sub-interfaces among its
        ports, releases its other ports and removes its persistence files.
    type: str
    choices: [present, absent]
    default: present
  ports:
    description:
      - Ports, by interface name (a string) or as a dictionary.
    type: list
    elements: raw
    suboptions:
      name:
        description: The interface (for a VLAN port, the parent the VLAN sub-interface is created on).
        type: str
        required: true
      vlan:
        description:
          - Create a VLAN sub-interface with this id (1-4094) on O(ports[].name) and make it the port; named by
            O(vlan_interface_name). Linux bridges only.
        type: int
      cost:
        description: STP path cost of the port (Linux).
        type: int
      priority:
        description: STP priority of the port, 0-63 (Linux).
        type: int
      pvid:
        description: Untagged VLAN of the port on a VLAN-aware bridge (O(vlan_filtering=true)).
        type: int
      vids:
        description: Tagged VLANs of the port on a VLAN-aware bridge.
        type: list
        elements: int
      tag:
        description: Access VLAN of the port (Open vSwitch).
        type: int
      trunks:
        description: VLANs the port carries tagged (Open vSwitch).
        type: list
        elements: int
  purge_ports:
    description: Remove ports that are not listed (guests' taps are kept).
    type: bool
    default: false
  vlans:
    description:
      - One Linux bridge per VLAN, each with the uplink's VLAN sub-interface as its port, declared and
        removed together with O(name).
    type: dict
    suboptions:
      uplink:
        description: The interface that carries the tagged VLANs (C(eth0)).
        type: str
        required: true
      ids:
        description: VLAN ids, 1-4094.
        type: list
        elements: int
        required: true
      bridge_name:
        description: Naming pattern of the per-VLAN bridges; C({vlan}) and C({parent}) are replaced.
        type: str
        default: "brvlan{vlan}"
  vlan_interface_name:
    description: Naming pattern of VLAN sub-interfaces; C({parent}) and C({vlan}) are replaced.
    type: str
    default: "{parent}.{vlan}"
  stp:
    description: Spanning tree protocol on the bridge.
    type: bool
  forward_delay:
    description: STP forward delay in seconds (Linux).
    type: int
  hello_time:
    description: STP hello time in seconds (Linux).
    type: int
  max_age:
    description: STP maximum message age in seconds (Linux).
    type: int
  priority:
    description: Bridge priority for the STP root election, 0-65535 (Linux).
    type: int
  mtu:
    description: MTU of the bridge.
    type: int
  addresses:
    description:
      - The host's addresses on the bridge (C(10.0.0.1/24), C(fd00::1/64)). A given list is complete.
    type: list
    elements: str
  vlan_filtering:
    description: Make the Linux bridge VLAN-aware (per-port O(ports[].pvid) and O(ports[].vids)).
    type: bool
  default_pvid:
    description: Default untagged VLAN of ports on a VLAN-aware bridge.
    type: int
  datapath_type:
    description: Open vSwitch datapath - V(system) (the kernel module) or V(netdev) (userspace).
    type: str
    choices: [system, netdev]
  move_addresses:
    description:
      - Allow enslaving a port that carries the host's addresses; its addresses and routes move onto the bridge.
      - Check that the host's own configuration of that port no longer assigns the address at boot.
    type: bool
    default: false
  steal:
    description: Allow taking a port from the bridge it belongs to now.
    type: bool
    default: false
  force:
    description: Allow deleting a bridge that guests' ports are on (they lose connectivity).
    type: bool
    default: false
  persist:
    description:
      - How the layout survives a reboot. V(auto) uses NetworkManager when it runs, else systemd-networkd when it
        runs, else ifupdown when C(/etc/network/interfaces) exists, else nothing.
      - V(none) changes only the running host.
      - Open vSwitch keeps its bridges and ports itself; files carry only their host addresses.
    type: str
    choices: [auto, networkmanager, networkd, ifupdown, none]
    default: auto
seealso:
  - module: sharedvirt.kvm.bridge_info
  - module: sharedvirt.kvm.network
"""

EXAMPLES = r"""
- name: The classic layout - br0 on the NIC, moving the host's address onto the bridge
  sharedvirt.kvm.bridge:
    name: br0
    ports: [eno1]
    move_addresses: true
    stp: false

- name: One bridge per VLAN on the uplink (eno2.10 -> brvlan10, eno2.20 -> brvlan20)
  sharedvirt.kvm.bridge:
    name: br1
    ports: [eno2]
    vlans:
      uplink: eno2
      ids: [10, 20]

- name: An Open vSwitch bridge with a trunk uplink
  sharedvirt.kvm.bridge:
    name: ovsbr0
    type: ovs
    ports:
      - {name: eno3, trunks: [10, 20]}
"""

RETURN = r"""
actions:
  description: What the module did (or would do in check mode), one sentence each.
  returned: always
  type: list
  elements: str
bridge:
  description: The bridge after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    ports:
      description: Ports; C(guest) is true for guests' taps.
      type: list
      elements: dict
    addresses:
      description: The host's addresses on the bridge.
      type: list
      elements: str
vlan_bridges:
  description: The per-VLAN bridges of O(vlans), in the same form.
  returned: when O(vlans) is set
  type: list
  elements: dict
persist:
  description: The persistence backend used.
  returned: always
  type: str
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils.bridge.module import BridgeModule, run_bridge

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "type": {"type": "str", "default": "linux", "choices": ["linux", "ovs"]},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "ports": {"type": "list", "elements": "raw"},
    "purge_ports": {"type": "bool", "default": False},
    "vlans": {
        "type": "dict",
        "options": {
            "uplink": {"type": "str", "required": True},
            "ids": {"type": "list", "elements": "int", "required": True},
            "bridge_name": {"type": "str", "default": "brvlan{vlan}"},
        },
    },
    "vlan_interface_name": {"type": "str", "default": "{parent}.{vlan}"},
    "stp": {"type": "bool"},
    "forward_delay": {"type": "int"},
    "hello_time": {"type": "int"},
    "max_age": {"type": "int"},
    "priority": {"type": "int"},
    "mtu": {"type": "int"},
    "addresses": {"type": "list", "elements": "str"},
    "vlan_filtering": {"type": "bool"},
    "default_pvid": {"type": "int"},
    "datapath_type": {"type": "str", "choices": ["system", "netdev"]},
    "move_addresses": {"type": "bool", "default": False},
    "steal": {"type": "bool", "default": False},
    "force": {"type": "bool", "default": False},
    "persist": {
        "type": "str",
        "default": "auto",
        "choices": ["auto", "networkmanager", "networkd", "ifupdown", "none"],
    },
}


def main() -> None:
    module = BridgeModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.run(run_bridge)


if __name__ == "__main__":
    main()
