#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network
short_description: Declare a libvirt virtual network - isolated, NAT, routed, bridged or Open vSwitch with VLAN portgroups
version_added: 0.1.0
description:
  - Defines, starts, stops and removes one libvirt virtual network, with its addresses, DHCP ranges,
    DHCP reservations (a MAC written in any case or format gets a fixed address), DNS host entries,
    MTU and portgroups.
  - Only the options you set are compared with the network's definition.
  - On a running network, changes to DHCP reservations (O(ips[].dhcp_hosts)), DNS host entries
    (O(dns_hosts)) and O(portgroups) are applied at once to the running network and to its persistent
    definition, without a restart - guests keep their connectivity and see a new reservation on their next lease.
  - Any other change is written to the persistent definition; the running network keeps its old one until
    it restarts. With O(restart=true) the module restarts it; otherwise the result lists the changes in
    RV(network.restart_pending), sets RV(reboot_required) and warns, on every run until the network restarts.
  - A new subnet that overlaps the subnet of another active network is refused before anything changes.
  - Stopping or removing a network that running domains use needs O(force=true).
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    description: When run twice in a row, the second run reports no change.
    support: full
options:
  name:
    description: Network name.
    type: str
    required: true
  state:
    description:
      - V(active) defines and starts the network; V(inactive) defines it and stops it; V(absent) stops and undefines it.
    type: str
    choices: [active, inactive, absent]
    default: active
  forward:
    description: How traffic leaves the network.
    type: dict
    suboptions:
      mode:
        description:
          - V(none) is an isolated network (guests and the host only); V(nat) and V(route) reach other networks
            through the host; V(open) routes without firewall rules; V(bridge) uses an existing host bridge
            (Linux or Open vSwitch, see O(bridge.name) and O(virtualport)).
        type: str
        choices: [none, nat, route, open, bridge]
      dev:
        description: The host interface traffic must leave through (V(nat), V(route)).
        type: str
  bridge:
    description: The bridge device of the network.
    type: dict
    suboptions:
      name:
        description:
          - Bridge name. libvirt creates it for V(none), V(nat), V(route) and V(open) networks (and picks a
            C(virbrN) name when unset); for V(bridge) networks it is the existing host bridge.
        type: str
      stp:
        description: Spanning tree on a bridge libvirt creates.
        type: bool
      delay:
        description: STP forward delay in seconds.
        type: int
  mtu:
    description: MTU of the network's bridge and of the guests' interfaces on it.
    type: int
  domain:
    description: DNS domain of the network's DHCP clients.
    type: str
  virtualport:
    description: V(openvswitch) for a V(bridge) network on an Open vSwitch bridge (needed for VLAN portgroups).
    type: str
    choices: [openvswitch]
  ips:
    description: The host's addresses on the network, with their DHCP service. A given list is complete.
    type: list
    elements: dict
    suboptions:
      address:
        description: The host's address on the network (IPv4 or IPv6); identifies the entry.
        type: str
        required: true
      prefix:
        description: Prefix length (24 for a /24).
        type: int
        required: true
      dhcp_ranges:
        description: Address ranges DHCP hands out. A given list is complete.
        type: list
        elements: dict
        suboptions:
          start:
            description: First address.
            type: str
            required: true
          end:
            description: Last address.
            type: str
            required: true
          lease:
            description: Lease time in minutes (dnsmasq accepts 2 or more; 0 means infinite).
            type: int
      dhcp_hosts:
        description:
          - DHCP reservations, identified by MAC (IPv4) or name (IPv6). A given list is complete.
          - MACs are accepted in any case and format (V(52:54:00:FA:61:75), V(52-54-00-fa-61-75), V(5254.00fa.6175)).
          - Applied to a running network without a restart.
        type: list
        elements: dict
        suboptions:
          mac:
            description: The guest's MAC.
            type: str
          ip:
            description: The reserved address; inside the entry's subnet.
            type: str
            required: true
          name:
            description: Host name given to the guest (and its DNS name on the network).
            type: str
  dns_hosts:
    description: DNS host entries of the network's resolver, identified by address. Applied live. A given list is complete.
    type: list
    elements: dict
    suboptions:
      ip:
        description: Address.
        type: str
        required: true
      hostnames:
        description: Names resolving to O(dns_hosts[].ip).
        type: list
        elements: str
        required: true
  portgroups:
    description:
      - Named port profiles guests select with C(portgroup) on their NIC, identified by name. Applied live.
        A given list is complete.
      - VLAN tags need an Open vSwitch bridge (O(virtualport=openvswitch)).
    type: list
    elements: dict
    suboptions:
      name:
        description: Portgroup name.
        type: str
        required: true
      default:
        description: Used by NICs that name no portgroup.
        type: bool
      vlan:
        description: Access VLAN (1-4094) - the guest sends and receives untagged frames of this VLAN.
        type: int
      trunk:
        description: Tagged VLANs (1-4094 each) the guest sees as a trunk.
        type: list
        elements: int
  xml:
    description:
      - Network XML used as the base of the declaration; the structured options override it. Parsed,
        normalised and compared like the options, so an unchanged XML reports no change.
    type: str
  autostart:
    description: Start the network when libvirtd starts.
    type: bool
  restart:
    description:
      - Restart a running network when its running definition differs from the declaration in something
        libvirt cannot change live (addresses, ranges, forward mode, bridge, MTU). Guests attached to it may
        lose connectivity until their NICs are re-attached (restarting the guest does that).
    type: bool
    default: false
  force:
    description: Stop or remove the network even when running domains use it.
    type: bool
    default: false
seealso:
  - module: sharedvirt.kvm.network_info
  - module: sharedvirt.kvm.bridge
"""

EXAMPLES = r"""
- name: An isolated network with DHCP and a reservation
  sharedvirt.kvm.network:
    name: lab
    forward: {mode: none}
    ips:
      - address: 192.168.150.1
        prefix: 24
        dhcp_ranges: [{start: 192.168.150.100, end: 192.168.150.199}]
        dhcp_hosts:
          - {mac: "52:54:00:FA:61:75", ip: 192.168.150.10, name: db1}
    dns_hosts:
      - {ip: 192.168.150.5, hostnames: [nas, nas.lab]}
    autostart: true

- name: An Open vSwitch network with VLAN portgroups
  sharedvirt.kvm.network:
    name: ovs-vlans
    forward: {mode: bridge}
    bridge: {name: ovsbr0}
    virtualport: openvswitch
    portgroups:
      - {name: vlan10, vlan: 10, default: true}
      - {name: vlan20, vlan: 20}
      - {name: trunk, trunk: [10, 20]}

- name: Change the subnet of a running network now, not at its next start
  sharedvirt.kvm.network:
    name: lab
    ips:
      - {address: 192.168.160.1, prefix: 24, dhcp_ranges: [{start: 192.168.160.100, end: 192.168.160.199}]}
    restart: true
"""

RETURN = r"""
actions:
  description: What the module did (or would do in check mode), one sentence each.
  returned: always
  type: list
  elements: str
reboot_required:
  description: True when the running network still uses an older definition (see RV(network.restart_pending)).
  returned: always
  type: bool
network:
  description: The network as declared and as libvirt has it after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    state:
      description: V(active) or V(inactive).
      type: str
    autostart:
      description: Whether libvirtd starts the network.
      type: bool
    restart_pending:
      description: Option paths whose new values apply only after the network restarts.
      type: list
      elements: str
    ips:
      description: Addresses with DHCP ranges and reservations (MACs in lower case, colon-separated).
      type: list
      elements: dict
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.network.module import run_network

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "default": "active", "choices": ["active", "inactive", "absent"]},
    "forward": {
        "type": "dict",
        "options": {
            "mode": {"type": "str", "choices": ["none", "nat", "route", "open", "bridge"]},
            "dev": {"type": "str"},
        },
    },
    "bridge": {
        "type": "dict",
        "options": {"name": {"type": "str"}, "stp": {"type": "bool"}, "delay": {"type": "int"}},
    },
    "mtu": {"type": "int"},
    "domain": {"type": "str"},
    "virtualport": {"type": "str", "choices": ["openvswitch"]},
    "ips": {
        "type": "list",
        "elements": "dict",
        "options": {
            "address": {"type": "str", "required": True},
            "prefix": {"type": "int", "required": True},
            "dhcp_ranges": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "start": {"type": "str", "required": True},
                    "end": {"type": "str", "required": True},
                    "lease": {"type": "int"},
                },
            },
            "dhcp_hosts": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "mac": {"type": "str"},
                    "ip": {"type": "str", "required": True},
                    "name": {"type": "str"},
                },
            },
        },
    },
    "dns_hosts": {
        "type": "list",
        "elements": "dict",
        "options": {
            "ip": {"type": "str", "required": True},
            "hostnames": {"type": "list", "elements": "str", "required": True},
        },
    },
    "portgroups": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "default": {"type": "bool"},
            "vlan": {"type": "int"},
            "trunk": {"type": "list", "elements": "int"},
        },
    },
    "xml": {"type": "str"},
    "autostart": {"type": "bool"},
    "restart": {"type": "bool", "default": False},
    "force": {"type": "bool", "default": False},
}


def main() -> None:
    module = LibvirtModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.run(run_network)


if __name__ == "__main__":
    main()
