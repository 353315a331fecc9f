"""Persistence of host bridges through the host's own network stack: pure renderers of its files.

The module changes the running host through netlink or OVSDB; these files make a rebooted host come
back the same. Each backend gets only files named after the bridge (``sharedvirt-<bridge>...``), so
the module never edits a file it did not write. Open vSwitch keeps bridges and ports in its own
database; for OVS bridges only the host addresses need files.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.errors import SpecError
from .model import BridgeSpec

if t.TYPE_CHECKING:
    from .host_model import HostNet

BACKENDS = ("networkmanager", "networkd", "ifupdown", "none")
HEADER = "Managed by sharedvirt.kvm (bridge {bridge}); local changes are overwritten."
DIRS = {
    "ifupdown": "/etc/network/interfaces.d",
    "networkd": "/etc/systemd/network",
    "networkmanager": "/etc/NetworkManager/system-connections",
}
NETWORKD_PRIORITY = "60"

Section = t.Tuple[str, t.List[t.Tuple[str, t.Any]]]


def detect_backend(nm_running: bool, networkd_running: bool, ifupdown_present: bool) -> str:
    """The backend that owns the host's network configuration, in the order a host would use them."""
    if nm_running:
        return "networkmanager"
    if networkd_running:
        return "networkd"
    if ifupdown_present:
        return "ifupdown"
    return "none"


def file_mode(path: str) -> int:
    """NetworkManager refuses keyfiles others can read."""
    return 0o600 if path.startswith(DIRS["networkmanager"]) else 0o644


def persist_files(bridges: t.Sequence[BridgeSpec], backend: str, host: HostNet) -> t.Dict[str, str]:
    """Path -> content of every file that persists ``bridges`` (the state after the run)."""
    out: t.Dict[str, str] = {}
    for bridge in bridges:
        ports = [p for p in bridge.ports or [] if not host.is_guest_port(bridge.name or "", p.name or "")]
        spec = bridge.replace(ports=ports)
        if backend == "ifupdown":
            out.update(_ifupdown(spec))
        elif backend == "networkd":
            out.update(_networkd(spec))
        elif backend == "networkmanager":
            out.update(_networkmanager(spec, host))
    return out


def persistence_notes(bridges: t.Sequence[BridgeSpec], backend: str) -> t.List[str]:
    """What the operator must still do by hand for the layout to survive a reboot."""
    notes = []
    if backend == "networkd":
        for bridge in bridges:
            for port in bridge.created_vlans():
                notes.append(
                    f"networkd creates {port.name} only when the .network file that configures {port.parent} "
                    f"lists VLAN={port.name}; add that line there (this module writes only its own files)"
                )
    return notes


def _ifupdown(spec: BridgeSpec) -> t.Dict[str, str]:
    name = spec.name or ""
    lines = [f"# {HEADER.format(bridge=name)}", ""]
    for port in spec.created_vlans():
        lines += [f"auto {port.name}", f"iface {port.name} inet manual", f"    vlan-raw-device {port.parent}", ""]
    v4 = [a for a in spec.addresses or [] if ":" not in a]
    v6 = [a for a in spec.addresses or [] if ":" in a]
    lines.append(f"auto {name}")
    lines.append(f"iface {name} inet {'static' if v4 else 'manual'}")
    lines += [f"    address {a}" for a in v4]
    if spec.type == "ovs":
        lines += [f"    mtu {spec.mtu}"] * (spec.mtu is not None)
    else:
        port_names = " ".join(p.name or "" for p in spec.ports or []) or "none"
        lines.append(f"    bridge_ports {port_names}")
        options = (
            ("bridge_stp", None if spec.stp is None else ("on" if spec.stp else "off")),
            ("bridge_fd", spec.forward_delay),
            ("bridge_hello", spec.hello_time),
            ("bridge_maxage", spec.max_age),
            ("bridge_bridgeprio", spec.priority),
            ("bridge_vlan_aware", None if spec.vlan_filtering is None else ("yes" if spec.vlan_filtering else "no")),
            ("bridge_pvid", spec.default_pvid),
            ("mtu", spec.mtu),
        )
        lines += [f"    {key} {value}" for key, value in options if value is not None]
        for port in spec.ports or []:
            if port.cost is not None:
                lines.append(f"    bridge_pathcost {port.name} {port.cost}")
            if port.priority is not None:
                lines.append(f"    bridge_portprio {port.name} {port.priority}")
    for address in v6:
        lines += ["", f"iface {name} inet6 static", f"    address {address}"]
    return {f"{DIRS['ifupdown']}/sharedvirt-{name}": "\n".join(lines) + "\n"}


def _networkd(spec: BridgeSpec) -> t.Dict[str, str]:
    name = spec.name or ""
    base = f"{DIRS['networkd']}/{NETWORKD_PRIORITY}-sharedvirt-{name}"
    out: t.Dict[str, str] = {}
    addresses = [("Address", a) for a in spec.addresses or []]
    if spec.type != "ovs":
        bridge = [
            ("STP", _yes(spec.stp)),
            ("ForwardDelaySec", spec.forward_delay),
            ("HelloTimeSec", spec.hello_time),
            ("MaxAgeSec", spec.max_age),
            ("Priority", spec.priority),
            ("VLANFiltering", _yes(spec.vlan_filtering)),
            ("DefaultPVID", spec.default_pvid),
        ]
        out[f"{base}.netdev"] = _ini(
            name, [("NetDev", [("Name", name), ("Kind", "bridge"), ("MTUBytes", spec.mtu)]), ("Bridge", bridge)]
        )
        for port in spec.ports or []:
            port_base = f"{base}-{port.name}"
            if port.vlan is not None:
                out[f"{port_base}.netdev"] = _ini(
                    name, [("NetDev", [("Name", port.name), ("Kind", "vlan")]), ("VLAN", [("Id", port.vlan)])]
                )
            sections: t.List[Section] = [
                ("Match", [("Name", port.name)]),
                ("Network", [("Bridge", name)]),
                ("Bridge", [("Cost", port.cost), ("Priority", port.priority)]),
            ]
            if port.pvid is not None or port.vids:
                sections.append(("BridgeVLAN", [("PVID", port.pvid), ("EgressUntagged", port.pvid)]))
                sections += [("BridgeVLAN", [("VLAN", vid)]) for vid in port.vids or []]
            out[f"{port_base}.network"] = _ini(name, sections)
    network: t.List[t.Tuple[str, t.Any]] = list(addresses) or [("LinkLocalAddressing", "no")]
    network.append(("ConfigureWithoutCarrier", "yes"))
    out[f"{base}.network"] = _ini(name, [("Match", [("Name", name)]), ("Network", network)])
    return out


def _networkmanager(spec: BridgeSpec, host: HostNet) -> t.Dict[str, str]:
    name = spec.name or ""
    if spec.type == "ovs":
        if spec.addresses:
            raise SpecError(
                "persist",
                f"bridge {name}: NetworkManager persists Open vSwitch addresses only through its own OVS "
                "connections; use persist=none and configure the address with nmcli, or use ifupdown/networkd",
            )
        return {}
    base = f"{DIRS['networkmanager']}/sharedvirt-{name}"
    v4 = [a for a in spec.addresses or [] if ":" not in a]
    v6 = [a for a in spec.addresses or [] if ":" in a]
    out = {
        f"{base}.nmconnection": _ini(
            name,
            [
                ("connection", [("id", f"sharedvirt-{name}"), ("type", "bridge"), ("interface-name", name)]),
                (
                    "bridge",
                    [
                        ("stp", _bool(spec.stp)),
                        ("forward-delay", spec.forward_delay),
                        ("hello-time", spec.hello_time),
                        ("max-age", spec.max_age),
                        ("priority", spec.priority),
                        ("vlan-filtering", _bool(spec.vlan_filtering)),
                        ("vlan-default-pvid", spec.default_pvid),
                    ],
                ),
                ("ethernet", [("mtu", spec.mtu)]),
                ("ipv4", [("method", "manual" if v4 else "disabled")] + _numbered("address", v4)),
                ("ipv6", [("method", "manual" if v6 else "disabled")] + _numbered("address", v6)),
            ],
        )
    }
    for port in spec.ports or []:
        link = host.links.get(port.name or "")
        if port.vlan is not None:
            kind: t.List[Section] = [("vlan", [("parent", port.parent), ("id", port.vlan)])]
            ctype = "vlan"
        elif link is None or link.kind is None:
            kind, ctype = [], "ethernet"
        else:
            continue  # veth, bond members... keep their own connections
        out[f"{base}-{port.name}.nmconnection"] = _ini(
            name,
            [
                (
                    "connection",
                    [
                        ("id", f"sharedvirt-{name}-{port.name}"),
                        ("type", ctype),
                        ("interface-name", port.name),
                        ("master", name),
                        ("slave-type", "bridge"),
                    ],
                ),
                *kind,
                ("bridge-port", [("path-cost", port.cost), ("priority", port.priority)]),
            ],
        )
    return out


def _ini(bridge: str, sections: t.Sequence[Section]) -> str:
    lines = [f"# {HEADER.format(bridge=bridge)}"]
    for title, items in sections:
        values = [(k, v) for k, v in items if v is not None]
        if not values:
            continue
        lines += ["", f"[{title}]"] + [f"{k}={v}" for k, v in values]
    return "\n".join(lines) + "\n"


def _numbered(key: str, values: t.Sequence[str]) -> t.List[t.Tuple[str, t.Any]]:
    return [(f"{key}{i}", v) for i, v in enumerate(values, 1)]


def _yes(value: t.Optional[bool]) -> t.Optional[str]:
    return None if value is None else ("yes" if value else "no")


def _bool(value: t.Optional[bool]) -> t.Optional[str]:
    return None if value is None else ("true" if value else "false")
