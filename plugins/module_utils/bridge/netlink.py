"""Thin netlink client (pyroute2): read the host's links and change them; errors say what to do.

Only netlink is used (never /sys or parsed ``ip`` output), so the code sees the network namespace
it runs in, whatever is mounted.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import errno
import os
import subprocess
import typing as t

from .._core.errors import CollectionError, MissingLibrary
from .host_model import HostLink, vlan_action

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
except ImportError:  # reported by NetlinkClient.open() with the fix
    IPRoute = None

    class NetlinkError(Exception):  # type: ignore[no-redef]
        code = 0


CENTISECONDS = ("forward_delay", "hello_time", "max_age")  # seconds in specs, centiseconds in the kernel
KERNEL_BRIDGE_ATTRS = {
    "stp": "br_stp_state",
    "forward_delay": "br_forward_delay",
    "hello_time": "br_hello_time",
    "max_age": "br_max_age",
    "priority": "br_priority",
    "vlan_filtering": "br_vlan_filtering",
    "default_pvid": "br_vlan_default_pvid",
}
BRIDGE_VLAN_INFO_PVID, BRIDGE_VLAN_INFO_UNTAGGED = 2, 4
RT_SCOPE_UNIVERSE, RTPROT_KERNEL = 0, 2


class NetlinkFailure(CollectionError):
    """A netlink request the kernel refused."""


NO_8021Q = (
    "this kernel has no 802.1Q VLAN support (8021q module); tag VLANs in an Open vSwitch bridge "
    "(type=ovs, ports with tag/trunks) instead"
)


def require_8021q(action: str) -> None:
    """Fail before anything changes when VLAN interfaces cannot be made here (the kernel would refuse the
    first one only after the bridges before it exist). /proc/net/vlan exists once 8021q is loaded."""
    if os.path.isdir("/proc/net/vlan"):
        return
    subprocess.run(["modprobe", "-q", "8021q"], capture_output=True, check=False)  # what the kernel would load
    if not os.path.isdir("/proc/net/vlan"):
        raise NetlinkFailure(f"{action}: {NO_8021Q}")


def explain(err: BaseException, action: str) -> NetlinkFailure:
    """A kernel refusal as a message naming the action, the cause and the fix."""
    code = getattr(err, "code", 0)
    if code == errno.EOPNOTSUPP and "VLAN interface" in action:
        hint = NO_8021Q
    elif code == errno.EOPNOTSUPP and "vlan_filtering" in action:
        hint = (
            "this kernel's bridge has no VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING); use VLAN sub-interfaces or OVS"
        )
    elif code == errno.EPERM:
        hint = "changing interfaces needs root (CAP_NET_ADMIN); run the task with become=true"
    elif code == errno.EEXIST:
        hint = "it exists already"
    elif code == errno.ENODEV:
        hint = "the interface disappeared meanwhile; run again"
    else:
        hint = os.strerror(code) if code else str(err)
    return NetlinkFailure(f"{action}: {hint}")


class NetlinkClient:
    """One rtnetlink socket for the run."""

    def __init__(self, ipr: t.Any) -> None:
        self.ipr = ipr

    @classmethod
    def open(cls) -> NetlinkClient:
        if IPRoute is None:
            raise MissingLibrary("pyroute2", "the host whose bridges are managed")
        return cls(IPRoute())

    def close(self) -> None:
        self.ipr.close()

    def call(self, action: str, fn: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
        try:
            return fn(*args, **kwargs)
        except NetlinkError as err:
            raise explain(err, action) from None

    def index(self, name: str) -> int:
        found = self.ipr.link_lookup(ifname=name)
        if not found:
            raise NetlinkFailure(f"interface {name} does not exist")
        return int(found[0])

    # -- reading ---------------------------------------------------------------------------------

    def links(self) -> t.Dict[str, HostLink]:
        raw = self.call("list interfaces", self.ipr.get_links)
        names = {msg["index"]: msg.get_attr("IFLA_IFNAME") for msg in raw}
        addresses: t.Dict[int, t.List[str]] = {}
        for msg in self.call("list addresses", self.ipr.get_addr):
            if msg["scope"] == RT_SCOPE_UNIVERSE:
                addresses.setdefault(msg["index"], []).append(f"{msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}")
        out = {}
        for msg in raw:
            link = _link_from(msg, names)
            link.addresses = sorted(addresses.get(msg["index"], []))
            out[link.name] = link
        if any(link.bridge.get("vlan_filtering") for link in out.values()):
            self._read_port_vlans(out, names)
        return out

    def _read_port_vlans(self, links: t.Dict[str, HostLink], names: t.Mapping[int, str]) -> None:
        for msg in self.call("list bridge VLANs", self.ipr.get_vlans):
            name = names.get(msg["index"])
            spec = msg.get_attr("IFLA_AF_SPEC")
            if name not in links or spec is None:
                continue
            vids, pvid = [], None
            for key, value in spec.get("attrs", []):
                if key != "IFLA_BRIDGE_VLAN_INFO":
                    continue
                vids.append(int(value["vid"]))
                if int(value["flags"]) & BRIDGE_VLAN_INFO_PVID:
                    pvid = int(value["vid"])
            links[name].port.update(pvid=pvid, vids=sorted(v for v in vids if v != pvid) or None)

    def routes_via(self, name: str) -> t.List[t.Any]:
        """Routes that leave through ``name`` and that the kernel does not derive from an address."""
        index = self.index(name)
        routes = self.call(f"list routes of {name}", self.ipr.get_routes, oif=index)
        return [r for r in routes if r["proto"] != RTPROT_KERNEL and r.get_attr("RTA_TABLE") == 254]

    # -- changing --------------------------------------------------------------------------------

    def add_bridge(self, name: str, attrs: t.Mapping[str, t.Any]) -> None:
        self.call(f"create bridge {name}", self.ipr.link, "add", ifname=name, kind="bridge")
        if attrs:
            self.set_bridge(name, attrs)
        self.up(name)

    def set_bridge(self, name: str, attrs: t.Mapping[str, t.Any]) -> None:
        kernel = kernel_bridge_attrs(attrs)
        self.call(
            f"set {', '.join(sorted(attrs))} of bridge {name}",
            self.ipr.link,
            "set",
            index=self.index(name),
            kind="bridge",
            **kernel,
        )

    def add_vlan(self, name: str, parent: str, vlan: int) -> None:
        self.call(
            vlan_action(name, parent, vlan),
            self.ipr.link,
            "add",
            ifname=name,
            kind="vlan",
            link=self.index(parent),
            vlan_id=vlan,
        )
        self.up(name)

    def enslave(self, port: str, bridge: str) -> None:
        self.call(
            f"add port {port} to bridge {bridge}",
            self.ipr.link,
            "set",
            index=self.index(port),
            master=self.index(bridge),
        )
        self.up(port)

    def release(self, port: str, bridge: str, delete: bool) -> None:
        self.call(f"remove port {port} from bridge {bridge}", self.ipr.link, "set", index=self.index(port), master=0)
        if delete:
            self.delete(port)

    def set_port(self, port: str, attrs: t.Mapping[str, t.Any], before: t.Mapping[str, t.Any]) -> None:
        basic = {k: v for k, v in attrs.items() if k in ("cost", "priority")}
        if basic:
            self.call(
                f"set {', '.join(sorted(basic))} of port {port}",
                self.ipr.brport,
                "set",
                index=self.index(port),
                **basic,
            )
        if "pvid" in attrs or "vids" in attrs:
            self._set_port_vlans(port, attrs, before)

    def _set_port_vlans(self, port: str, attrs: t.Mapping[str, t.Any], before: t.Mapping[str, t.Any]) -> None:
        index = self.index(port)
        action = f"set the VLANs (vlan_filtering) of port {port}"
        old = set(before.get("vids") or []) | ({before["pvid"]} if before.get("pvid") else set())
        for vid in sorted(old):
            self.call(action, self.ipr.vlan_filter, "del", index=index, vlan_info={"vid": vid})
        for vid in attrs.get("vids") or []:
            self.call(action, self.ipr.vlan_filter, "add", index=index, vlan_info={"vid": vid})
        if attrs.get("pvid"):
            flags = BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED
            self.call(
                action, self.ipr.vlan_filter, "add", index=index, vlan_info={"vid": attrs["pvid"], "flags": flags}
            )

    def move_addresses(self, port: str, bridge: str, addresses: t.Sequence[str]) -> None:
        """Move addresses and the routes through ``port`` onto ``bridge``, keeping the host reachable."""
        routes = self.routes_via(port)
        target = self.index(bridge)
        self.set_addresses(port, add=(), remove=addresses)
        self.set_addresses(bridge, add=addresses, remove=())
        for route in routes:
            fields = {
                "dst": route.get_attr("RTA_DST"),
                "dst_len": route["dst_len"],
                "gateway": route.get_attr("RTA_GATEWAY"),
                "priority": route.get_attr("RTA_PRIORITY"),
                "family": route["family"],
            }
            kept = {k: v for k, v in fields.items() if v is not None}
            self.call(f"move a route from {port} to {bridge}", self.ipr.route, "replace", oif=target, **kept)

    def set_addresses(self, name: str, add: t.Sequence[str], remove: t.Sequence[str]) -> None:
        index = self.index(name)
        for cidr in remove:
            address, prefix = cidr.split("/")
            self.call(
                f"remove address {cidr} from {name}",
                self.ipr.addr,
                "del",
                index=index,
                address=address,
                prefixlen=int(prefix),
            )
        for cidr in add:
            address, prefix = cidr.split("/")
            self.call(
                f"add address {cidr} to {name}",
                self.ipr.addr,
                "add",
                index=index,
                address=address,
                prefixlen=int(prefix),
            )

    def set_mtu(self, name: str, mtu: int) -> None:
        self.call(f"set the MTU of {name} to {mtu}", self.ipr.link, "set", index=self.index(name), mtu=mtu)

    def up(self, name: str) -> None:
        self.call(f"bring {name} up", self.ipr.link, "set", index=self.index(name), state="up")

    def delete(self, name: str) -> None:
        self.call(f"delete interface {name}", self.ipr.link, "del", index=self.index(name))


def kernel_bridge_attrs(attrs: t.Mapping[str, t.Any]) -> t.Dict[str, int]:
    """Spec bridge options (seconds, booleans) as the kernel's IFLA_BR_* values (centiseconds, 0/1)."""
    out = {}
    for key, value in attrs.items():
        number = int(value) * 100 if key in CENTISECONDS else int(value)
        out[KERNEL_BRIDGE_ATTRS[key]] = number
    return out


def _seconds(centiseconds: t.Optional[int]) -> int:
    # The kernel keeps jiffies; read back, 400 cs can be 399.
    return int(round((centiseconds or 0) / 100))


def _link_from(msg: t.Any, names: t.Mapping[int, str]) -> HostLink:
    info = msg.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
    link = HostLink(
        name=msg.get_attr("IFLA_IFNAME"),
        kind=kind,
        master=names.get(msg.get_attr("IFLA_MASTER") or -1),
        mtu=int(msg.get_attr("IFLA_MTU") or 0),
        up=bool(msg["flags"] & 1),
        carrier=bool(msg.get_attr("IFLA_CARRIER")),
    )
    data = info.get_attr("IFLA_INFO_DATA") if info is not None else None
    if kind == "bridge" and data is not None:
        filtering = data.get_attr("IFLA_BR_VLAN_FILTERING")
        link.bridge = {
            "stp": bool(data.get_attr("IFLA_BR_STP_STATE")),
            "forward_delay": _seconds(data.get_attr("IFLA_BR_FORWARD_DELAY")),
            "hello_time": _seconds(data.get_attr("IFLA_BR_HELLO_TIME")),
            "max_age": _seconds(data.get_attr("IFLA_BR_MAX_AGE")),
            "priority": data.get_attr("IFLA_BR_PRIORITY"),
            "vlan_filtering": bool(filtering),
            "default_pvid": data.get_attr("IFLA_BR_VLAN_DEFAULT_PVID") if filtering else None,
        }
    if kind == "vlan" and data is not None:
        link.vlan = (names.get(msg.get_attr("IFLA_LINK") or -1, "?"), int(data.get_attr("IFLA_VLAN_ID")))
    slave = info.get_attr("IFLA_INFO_SLAVE_DATA") if info is not None else None
    if info is not None and info.get_attr("IFLA_INFO_SLAVE_KIND") == "bridge" and slave is not None:
        link.port = {"cost": slave.get_attr("IFLA_BRPORT_COST"), "priority": slave.get_attr("IFLA_BRPORT_PRIORITY")}
    return link
