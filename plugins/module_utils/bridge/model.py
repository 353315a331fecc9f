"""BridgeSpec: a host bridge (Linux or Open vSwitch) and its ports, in one model for both kinds.

Times are in seconds and converted to the kernel's centiseconds by the netlink client. A port with
``vlan`` is a VLAN sub-interface the module creates on ``parent`` (``eth0`` + 10 -> ``eth0.10``).
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import SpecError
from .._core.names import IFNAME_MAX, validate_ifname
from .._core.netaddr import interface_address, vlan_id
from .._core.spec import Spec, choice, join_path, option

BRIDGE_TYPES = ("linux", "ovs")
DEFAULT_VLAN_INTERFACE = "{parent}.{vlan}"
DEFAULT_VLAN_BRIDGE = "brvlan{vlan}"
# Options that exist only for one kind of bridge, with the kind.
LINUX_ONLY = ("forward_delay", "hello_time", "max_age", "vlan_filtering", "default_pvid")
OVS_ONLY = ("datapath_type",)
LINUX_PORT_ONLY = ("cost", "priority", "pvid", "vids")
OVS_PORT_ONLY = ("tag", "trunks")


@dataclasses.dataclass
class BridgePort(Spec):
    """A bridge port: an existing interface, or a VLAN sub-interface created on ``parent``."""

    IDENTITY = ("name",)

    name: t.Optional[str] = option(normalize=validate_ifname)
    parent: t.Optional[str] = option(normalize=validate_ifname)
    vlan: t.Optional[int] = option(normalize=vlan_id)
    # Linux bridge: STP cost and priority; VLAN-aware mode: untagged VLAN and tagged VLANs.
    cost: t.Optional[int] = option()
    priority: t.Optional[int] = option()
    pvid: t.Optional[int] = option(normalize=vlan_id)
    vids: t.Optional[t.List[int]] = option(normalize=vlan_id, unordered=True)
    # Open vSwitch: access tag or trunk list.
    tag: t.Optional[int] = option(normalize=vlan_id)
    trunks: t.Optional[t.List[int]] = option(normalize=vlan_id, unordered=True)

    def validate(self, path: str) -> None:
        if self.tag is not None and self.trunks:
            raise SpecError(path, "set tag (an access port) or trunks (tagged VLANs), not both")
        if self.priority is not None and not 0 <= self.priority <= 63:
            raise SpecError(join_path(path, "priority"), f"{self.priority} is out of range 0-63")


@dataclasses.dataclass
class BridgeSpec(Spec):
    """A host bridge as declared; unset fields are left as the host has them."""

    name: t.Optional[str] = option(normalize=validate_ifname)
    type: t.Optional[str] = option(normalize=choice(BRIDGE_TYPES))
    ports: t.Optional[t.List[BridgePort]] = option(spec=BridgePort, many=True, extra="keep")
    stp: t.Optional[bool] = option()
    forward_delay: t.Optional[int] = option()
    hello_time: t.Optional[int] = option()
    max_age: t.Optional[int] = option()
    priority: t.Optional[int] = option()
    mtu: t.Optional[int] = option()
    addresses: t.Optional[t.List[str]] = option(normalize=interface_address, unordered=True)
    vlan_filtering: t.Optional[bool] = option()
    default_pvid: t.Optional[int] = option(normalize=vlan_id)
    datapath_type: t.Optional[str] = option(normalize=choice(("system", "netdev")))

    def validate(self, path: str) -> None:
        kind = self.type or "linux"
        wrong = OVS_ONLY if kind == "linux" else LINUX_ONLY
        for name in wrong:
            if getattr(self, name) is not None:
                raise SpecError(join_path(path, name), f"applies to {_other(kind)} bridges only, not type={kind}")
        port_wrong = OVS_PORT_ONLY if kind == "linux" else LINUX_PORT_ONLY + ("vlan",)
        for index, port in enumerate(self.ports or []):
            for name in port_wrong:
                if getattr(port, name) is not None:
                    hint = (
                        " (VLAN sub-interfaces need the kernel's 8021q; on OVS use tag or trunks)"
                        if name == "vlan"
                        else ""
                    )
                    raise SpecError(
                        f"{join_path(path, 'ports')}[{index}].{name}",
                        f"applies to {_other(kind)} bridges only, not type={kind}{hint}",
                    )
            if (port.pvid is not None or port.vids) and not self.vlan_filtering:
                raise SpecError(
                    f"{join_path(path, 'ports')}[{index}]",
                    "pvid and vids need a VLAN-aware bridge: set vlan_filtering=true",
                )
            if port.name == self.name:
                raise SpecError(f"{join_path(path, 'ports')}[{index}].name", "a bridge cannot be its own port")
        if self.priority is not None and not 0 <= self.priority <= 65535:
            raise SpecError(join_path(path, "priority"), f"{self.priority} is out of range 0-65535")
        if self.mtu is not None and not 68 <= self.mtu <= 65535:
            raise SpecError(join_path(path, "mtu"), f"{self.mtu} is out of range 68-65535")

    def created_vlans(self) -> t.List[BridgePort]:
        """Ports that are VLAN sub-interfaces this declaration creates."""
        return [p for p in self.ports or [] if p.vlan is not None]


def _other(kind: str) -> str:
    return "Open vSwitch" if kind == "linux" else "Linux"


def expand_ports(
    ports: t.Optional[t.Sequence[t.Any]], path: str, pattern: str = DEFAULT_VLAN_INTERFACE
) -> t.Optional[t.List[t.Dict[str, t.Any]]]:
    """Port options as dicts, VLAN ports renamed to their sub-interface (``eth0`` + 10 -> ``eth0.10``)."""
    if ports is None:
        return None
    out = []
    for index, raw in enumerate(ports):
        port = {"name": raw} if isinstance(raw, str) else {k: v for k, v in dict(raw).items() if v is not None}
        if port.get("vlan") is not None:
            parent = validate_ifname(port.get("name"), f"{path}[{index}].name")
            vid = vlan_id(port["vlan"], f"{path}[{index}].vlan")
            port["parent"] = parent
            port["name"] = interface_name(pattern, parent, vid, f"{path}[{index}]")
        out.append(port)
    return out


def interface_name(pattern: str, parent: str, vid: int, path: str) -> str:
    """Apply a naming pattern (``{parent}``, ``{vlan}``) and check the result is a usable interface name."""
    try:
        name = pattern.format(parent=parent, vlan=vid, uplink=parent)
    except (KeyError, IndexError, ValueError) as err:
        raise SpecError(path, f"naming pattern {pattern!r} is invalid ({err}); use {{parent}} and {{vlan}}") from None
    if len(name) > IFNAME_MAX:
        raise SpecError(
            path,
            f"{name!r} ({len(name)} characters) is longer than the kernel's {IFNAME_MAX}-character limit for "
            "interface names; set a shorter naming pattern",
        )
    return validate_ifname(name, path)


def vlan_bridges(
    uplink: str, ids: t.Sequence[int], bridge_pattern: str, interface_pattern: str, path: str
) -> t.List[t.Dict[str, t.Any]]:
    """The classic per-VLAN layout as bridge options: ``eth0.10 -> brvlan10`` for each id."""
    parent = validate_ifname(uplink, join_path(path, "uplink"))
    out = []
    for index, raw in enumerate(ids):
        vid = vlan_id(raw, f"{join_path(path, 'ids')}[{index}]")
        out.append(
            {
                "name": interface_name(bridge_pattern, parent, vid, join_path(path, "bridge_name")),
                "type": "linux",
                "ports": [
                    {
                        "name": interface_name(interface_pattern, parent, vid, join_path(path, "interface_name")),
                        "parent": parent,
                        "vlan": vid,
                    }
                ],
            }
        )
    return out
