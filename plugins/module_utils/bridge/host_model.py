"""The host's network as the bridge planner sees it: links from netlink, Open vSwitch, our files (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import re
import typing as t

_LIBVIRT_TAP = re.compile(r"^vnet[0-9]+$")


@dataclasses.dataclass
class HostLink:
    """One network interface as netlink reports it."""

    name: str
    kind: t.Optional[str] = None  # bridge, veth, tun, vlan, openvswitch...; None for physical NICs
    master: t.Optional[str] = None
    mtu: int = 1500
    up: bool = False
    carrier: bool = False
    addresses: t.List[str] = dataclasses.field(default_factory=list)  # global scope, CIDR
    bridge: t.Dict[str, t.Any] = dataclasses.field(default_factory=dict)  # BRIDGE_ATTRS, when kind=bridge
    port: t.Dict[str, t.Any] = dataclasses.field(default_factory=dict)  # cost, priority, pvid, vids
    vlan: t.Optional[t.Tuple[str, int]] = None  # (parent, id) when kind=vlan


@dataclasses.dataclass
class OvsPort:
    name: str
    tag: t.Optional[int] = None
    trunks: t.List[int] = dataclasses.field(default_factory=list)
    guest: bool = False  # added by libvirt for a domain's NIC


@dataclasses.dataclass
class OvsBridge:
    name: str
    datapath_type: str = "system"
    stp: bool = False
    mtu: t.Optional[int] = None
    ports: t.Dict[str, OvsPort] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class HostNet:
    """What the planner needs to know about the host."""

    links: t.Dict[str, HostLink] = dataclasses.field(default_factory=dict)
    ovs: t.Optional[t.Dict[str, OvsBridge]] = None  # None: Open vSwitch is not running
    files: t.Dict[str, str] = dataclasses.field(default_factory=dict)  # our persistence files -> content

    def ovs_bridge_of(self, port: str) -> t.Optional[str]:
        for bridge in (self.ovs or {}).values():
            if port in bridge.ports:
                return bridge.name
        return None

    def is_guest_port(self, bridge: str, port: str) -> bool:
        ovs = (self.ovs or {}).get(bridge)
        if ovs is not None and port in ovs.ports:
            return ovs.ports[port].guest
        link = self.links.get(port)
        # A guest's tap: a tap a running process (QEMU) holds open, or one libvirt named vnetN.
        return link is not None and link.kind == "tun" and (link.carrier or bool(_LIBVIRT_TAP.match(port)))


def vlan_action(name: str, parent: str, vlan: int) -> str:
    """How creating VLAN interface ``name`` reads in plans and errors."""
    return f"create VLAN interface {name} (VLAN {vlan} on {parent})"
