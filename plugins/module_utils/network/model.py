"""NetworkSpec: a libvirt virtual network (forward mode, bridge, IP ranges, DHCP hosts, DNS, portgroups)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import typing as t
import xml.etree.ElementTree as ET

from .._core.errors import SpecError
from .._core.mac import normalize_mac
from .._core.names import validate_ifname, validate_name
from .._core.netaddr import family_of, ip_address, vlan_id
from .._core.spec import Spec, XmlSpec, choice, in_range, join_path, option
from .._core.xmlutil import child, element, sub, text_of, yes_no

FORWARD_MODES = ("none", "nat", "route", "open", "bridge")
# Sections of a network that libvirt can change on a running network (virNetworkUpdate).
LIVE_SECTIONS = ("dhcp_hosts", "dns_hosts", "portgroups")


def _mac(value: t.Any, path: str) -> str:
    return normalize_mac(value, path, unicast=True)


def _hostname(value: t.Any, path: str) -> str:
    text = str(value).strip()
    labels = text.split(".")
    if not text or len(text) > 253 or any(not label or len(label) > 63 for label in labels):
        raise SpecError(path, f"{value!r} is not a valid host name")
    if any(not (c.isalnum() or c == "-") for label in labels for c in label):
        raise SpecError(path, f"{value!r} is not a valid host name: use letters, digits, '-' and '.'")
    return text


@dataclasses.dataclass
class NetworkForward(Spec):
    mode: t.Optional[str] = option(normalize=choice(FORWARD_MODES))
    dev: t.Optional[str] = option(normalize=validate_ifname)


@dataclasses.dataclass
class NetworkBridge(Spec):
    name: t.Optional[str] = option(normalize=validate_ifname)
    stp: t.Optional[bool] = option()
    delay: t.Optional[int] = option()


@dataclasses.dataclass
class DhcpRange(Spec):
    IDENTITY = ("start", "end")

    start: t.Optional[str] = option(normalize=ip_address)
    end: t.Optional[str] = option(normalize=ip_address)
    lease: t.Optional[int] = option()  # minutes; libvirt's <lease expiry unit='minutes'>

    def validate(self, path: str) -> None:
        if self.start is None or self.end is None:
            raise SpecError(path, "a DHCP range needs start and end")
        start, end = ipaddress.ip_address(self.start), ipaddress.ip_address(self.end)
        if start.version != end.version:
            raise SpecError(path, f"range start {self.start} and end {self.end} are of different IP versions")
        if int(start) > int(end):
            raise SpecError(path, f"range start {self.start} is after its end {self.end}")


@dataclasses.dataclass
class DhcpHost(Spec):
    """A DHCP reservation: a MAC (IPv4) or a name/DUID (IPv6) gets a fixed address."""

    IDENTITY = ("mac",)
    FALLBACK_IDENTITY = ("name",)

    mac: t.Optional[str] = option(normalize=_mac)
    ip: t.Optional[str] = option(normalize=ip_address)
    name: t.Optional[str] = option(normalize=_hostname)

    def validate(self, path: str) -> None:
        if self.mac is None and self.name is None:
            raise SpecError(path, "a DHCP host needs mac (IPv4) or name")
        if self.ip is None:
            raise SpecError(join_path(path, "ip"), "a DHCP host needs the address it reserves")


@dataclasses.dataclass
class NetworkIp(Spec):
    IDENTITY = ("address",)

    address: t.Optional[str] = option(normalize=ip_address)
    prefix: t.Optional[int] = option()
    dhcp_ranges: t.Optional[t.List[DhcpRange]] = option(spec=DhcpRange, many=True)
    dhcp_hosts: t.Optional[t.List[DhcpHost]] = option(spec=DhcpHost, many=True)

    def family(self) -> str:
        return family_of(self.address or "")

    def network(self) -> t.Union[ipaddress.IPv4Network, ipaddress.IPv6Network]:
        return ipaddress.ip_network(f"{self.address}/{self.prefix}", strict=False)

    def validate(self, path: str) -> None:
        if self.address is None:
            raise SpecError(join_path(path, "address"), "an IP entry needs the host's address on the network")
        limit = 128 if self.family() == "ipv6" else 32
        if self.prefix is None or not 1 <= self.prefix <= limit:
            raise SpecError(join_path(path, "prefix"), f"needs a prefix length of 1-{limit}")
        subnet = self.network()
        for index, rng in enumerate(self.dhcp_ranges or []):
            for end in ("start", "end"):
                if ipaddress.ip_address(getattr(rng, end)) not in subnet:
                    raise SpecError(f"{path}.dhcp_ranges[{index}].{end}", f"{getattr(rng, end)} is outside {subnet}")
        for index, host in enumerate(self.dhcp_hosts or []):
            if ipaddress.ip_address(host.ip or "") not in subnet:
                raise SpecError(f"{path}.dhcp_hosts[{index}].ip", f"{host.ip} is outside {subnet}")
            if self.family() == "ipv4" and host.mac is None:
                raise SpecError(f"{path}.dhcp_hosts[{index}].mac", "an IPv4 reservation needs the guest's MAC")


@dataclasses.dataclass
class DnsHost(Spec):
    IDENTITY = ("ip",)

    ip: t.Optional[str] = option(normalize=ip_address)
    hostnames: t.Optional[t.List[str]] = option(normalize=_hostname, unordered=True)


@dataclasses.dataclass
class Portgroup(Spec):
    """A named port profile; with ``vlan`` (access) or ``trunk`` (tagged list) on VLAN-capable networks."""

    IDENTITY = ("name",)

    name: t.Optional[str] = option(normalize=lambda v, p: validate_name(v, p, "portgroup"))
    default: t.Optional[bool] = option()
    vlan: t.Optional[int] = option(normalize=vlan_id)
    trunk: t.Optional[t.List[int]] = option(normalize=vlan_id, unordered=True)

    def validate(self, path: str) -> None:
        if self.vlan is not None and self.trunk:
            raise SpecError(path, "set vlan (an access port) or trunk (tagged VLANs), not both")


@dataclasses.dataclass
class NetworkSpec(XmlSpec):
    """A libvirt network as declared; unset fields are left as libvirt has them."""

    name: t.Optional[str] = option(normalize=lambda v, p: validate_name(v, p, "network"))
    uuid: t.Optional[str] = option(generated=True)
    forward: t.Optional[NetworkForward] = option(spec=NetworkForward)
    bridge: t.Optional[NetworkBridge] = option(spec=NetworkBridge)
    mtu: t.Optional[int] = option(normalize=in_range(68, 65535))
    domain: t.Optional[str] = option(normalize=_hostname)
    virtualport: t.Optional[str] = option(normalize=choice(("openvswitch",)))
    ips: t.Optional[t.List[NetworkIp]] = option(spec=NetworkIp, many=True)
    dns_hosts: t.Optional[t.List[DnsHost]] = option(spec=DnsHost, many=True)
    portgroups: t.Optional[t.List[Portgroup]] = option(spec=Portgroup, many=True)

    def mode(self) -> str:
        return (self.forward.mode if self.forward else None) or "none"

    def validate(self, path: str) -> None:
        mode = self.forward.mode if self.forward else None
        if mode == "bridge":
            if not (self.bridge and self.bridge.name):
                raise SpecError(join_path(path, "bridge.name"), "forward mode bridge needs the host bridge's name")
            if self.ips:
                raise SpecError(
                    join_path(path, "ips"), "a bridge-mode network has no addresses or DHCP of its own; remove ips"
                )
        if self.virtualport and mode not in (None, "bridge"):
            raise SpecError(join_path(path, "virtualport"), "an Open vSwitch network needs forward mode bridge")
        tagged = [pg.name for pg in self.portgroups or [] if pg.vlan is not None or pg.trunk]
        if tagged and mode is not None and not self.virtualport:
            raise SpecError(
                join_path(path, "portgroups"),
                f"portgroups {', '.join(str(n) for n in tagged)} carry VLAN tags, which need an Open vSwitch "
                "bridge: set virtualport=openvswitch",
            )
        if len([pg for pg in self.portgroups or [] if pg.default]) > 1:
            raise SpecError(join_path(path, "portgroups"), "only one portgroup can be the default")

    @classmethod
    def from_element(cls, root: ET.Element) -> NetworkSpec:
        fwd = root.find("forward")
        bridge = root.find("bridge")
        mtu = root.find("mtu")
        domain = root.find("domain")
        port = root.find("virtualport")
        return cls(
            name=text_of(root, "name"),
            uuid=text_of(root, "uuid"),
            forward=NetworkForward("none") if fwd is None else NetworkForward(fwd.get("mode", "nat"), fwd.get("dev")),
            bridge=None
            if bridge is None
            else NetworkBridge(bridge.get("name"), yes_no(bridge.get("stp")), _int(bridge.get("delay"))),
            mtu=None if mtu is None else _int(mtu.get("size")),
            domain=None if domain is None else domain.get("name"),
            virtualport=None if port is None else port.get("type"),
            ips=[_ip_from(node) for node in root.findall("ip")],
            dns_hosts=[
                DnsHost(node.get("ip"), [h.text.strip() for h in node.findall("hostname") if h.text])
                for node in root.findall("dns/host")
            ],
            portgroups=[_portgroup_from(node) for node in root.findall("portgroup")],
        )

    def to_element(self) -> ET.Element:
        return self.render(None)

    def render(self, base: t.Optional[ET.Element]) -> ET.Element:
        """Network XML: ``base`` (libvirt's) with the set fields applied, or a new document."""
        root = copy.deepcopy(base) if base is not None else element("network")
        if root.find("name") is None:
            root.insert(0, element("name"))
        name = root.find("name")
        if self.name and name is not None:
            name.text = self.name
        if self.uuid is not None:
            child(root, "uuid").text = self.uuid
        if self.forward is not None and self.forward.mode is not None:
            _render_forward(root, self.forward)
        self._render_link(root)
        if self.portgroups is not None:
            _replace_all(root, "portgroup", [portgroup_element(pg) for pg in self.portgroups])
        if self.dns_hosts is not None:
            _render_dns_hosts(root, self.dns_hosts)
        if self.ips is not None:
            _replace_all(root, "ip", [_ip_element(ip) for ip in self.ips])
        return root

    def _render_link(self, root: ET.Element) -> None:
        """The bridge, MTU, DNS domain and virtual port of the network."""
        if self.bridge is not None:
            node = child(root, "bridge")
            for attr in ("name", "stp", "delay"):
                value = getattr(self.bridge, attr)
                if value is not None:
                    node.set(attr, "on" if value is True else "off" if value is False else str(value))
        if self.mtu is not None:
            child(root, "mtu").set("size", str(self.mtu))
        if self.domain is not None:
            child(root, "domain").set("name", self.domain)
        if self.virtualport is not None:
            child(root, "virtualport").set("type", self.virtualport)


def _render_dns_hosts(root: ET.Element, hosts: t.Sequence[DnsHost]) -> None:
    dns = child(root, "dns")
    for old in dns.findall("host"):
        dns.remove(old)
    for host in hosts:
        dns.append(dns_host_element(host))


def dhcp_host_element(host: DhcpHost) -> ET.Element:
    return element("host", mac=host.mac, name=host.name, ip=host.ip)


def dns_host_element(host: DnsHost) -> ET.Element:
    node = element("host", ip=host.ip)
    for name in host.hostnames or []:
        sub(node, "hostname", name)
    return node


def portgroup_element(group: Portgroup) -> ET.Element:
    node = element("portgroup", name=group.name, default=group.default or None)
    if group.vlan is not None or group.trunk:
        vlan = sub(node, "vlan", trunk=True if group.trunk else None)
        for tag in [group.vlan] if group.vlan is not None else group.trunk or []:
            sub(vlan, "tag", id=tag)
    return node


def _ip_element(ip: NetworkIp) -> ET.Element:
    node = element("ip", family="ipv6" if ip.family() == "ipv6" else None, address=ip.address, prefix=ip.prefix)
    if ip.dhcp_ranges or ip.dhcp_hosts:
        dhcp = sub(node, "dhcp")
        for rng in ip.dhcp_ranges or []:
            range_node = sub(dhcp, "range", start=rng.start, end=rng.end)
            if rng.lease is not None:
                sub(range_node, "lease", expiry=rng.lease, unit="minutes")
        for host in ip.dhcp_hosts or []:
            dhcp.append(dhcp_host_element(host))
    return node


def _ip_from(node: ET.Element) -> NetworkIp:
    prefix = node.get("prefix")
    if prefix is None and node.get("netmask"):
        prefix = str(ipaddress.ip_network(f"0.0.0.0/{node.get('netmask')}").prefixlen)
    ranges = []
    for rng in node.findall("dhcp/range"):
        lease = rng.find("lease")
        ranges.append(DhcpRange(rng.get("start"), rng.get("end"), _lease_minutes(lease)))
    hosts = [
        DhcpHost(_mac_or_none(h.get("mac")), h.get("ip"), h.get("name") or h.get("id"))
        for h in node.findall("dhcp/host")
    ]
    return NetworkIp(node.get("address"), _int(prefix), ranges, hosts)


def _portgroup_from(node: ET.Element) -> Portgroup:
    vlan = node.find("vlan")
    tags = [] if vlan is None else [int(tag.get("id", "0")) for tag in vlan.findall("tag")]
    trunk = vlan is not None and (yes_no(vlan.get("trunk")) or len(tags) > 1)
    return Portgroup(
        name=node.get("name"),
        default=bool(yes_no(node.get("default"))),
        vlan=tags[0] if tags and not trunk else None,
        trunk=sorted(tags) if trunk else None,
    )


def _render_forward(root: ET.Element, forward: NetworkForward) -> None:
    old = root.find("forward")
    if forward.mode == "none":
        if old is not None:
            root.remove(old)
        return
    if old is not None and old.get("mode", "nat") == forward.mode:
        node = old
    else:
        node = element("forward")
        if old is not None:
            root.insert(list(root).index(old), node)
            root.remove(old)
        else:
            root.append(node)
    node.set("mode", forward.mode or "nat")
    if forward.dev is not None:
        node.set("dev", forward.dev)


def _replace_all(root: ET.Element, tag: str, new: t.List[ET.Element]) -> None:
    for old in root.findall(tag):
        root.remove(old)
    for node in new:
        root.append(node)


def _lease_minutes(lease: t.Optional[ET.Element]) -> t.Optional[int]:
    if lease is None:
        return None
    expiry = int(lease.get("expiry", "0"))
    unit = lease.get("unit", "minutes")
    return expiry * 60 if unit == "hours" else expiry // 60 if unit == "seconds" else expiry


def _mac_or_none(value: t.Optional[str]) -> t.Optional[str]:
    return None if value is None else normalize_mac(value)


def _int(value: t.Optional[str]) -> t.Optional[int]:
    return None if value is None else int(value)
