"""Sources of MAC -> IP knowledge, parsed into plain records (pure: no libvirt, no I/O).

Shared by the vm_ip lookup and the inventory plugin: a domain's NICs from its live XML, static DHCP
reservations from network XML, DHCP leases, guest agent replies and the host neighbour table.

We read the neighbour table ourselves where we can rather than through libvirt's ARP source:
libvirt 9.0 rejects netlink dumps whose NLMSG_DONE shares a buffer with the entries ("internal
error: wrong nlmsg len"), which newer kernels always send.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import ipaddress
import typing as t
from urllib.parse import parse_qs, urlsplit

from .._core.mac import normalize_mac
from .._core.netaddr import family_of
from .._core.units import from_libvirt
from .._core.xmlutil import parse_xml
from ..domain.metadata_model import read_metadata

AGENT_CHANNEL = "org.qemu.guest_agent.0"
# /proc/net/arp flags: ATF_COM (0x2) marks a completed entry with a valid hardware address.
_ATF_COM = 0x2
# libvirt's VIR_IP_ADDR_TYPE_* in lease and interface-address records.
_LIBVIRT_FAMILY = {0: "ipv4", 1: "ipv6"}


def usable_address(ip: str) -> bool:
    """False for addresses nobody can reach a guest on: loopback, link-local, unspecified, multicast."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return not (addr.is_loopback or addr.is_link_local or addr.is_unspecified or addr.is_multicast)


def _mac_or_none(value: t.Any) -> t.Optional[str]:
    try:
        return normalize_mac(value)
    except Exception:  # a record without a (valid) MAC cannot be matched to a NIC
        return None


@dataclasses.dataclass(frozen=True)
class Nic:
    """One NIC of a domain as the host sees it."""

    mac: str
    device: t.Optional[str] = None  # host-side tap (vnet3), known while the domain runs
    network: t.Optional[str] = None  # libvirt network name for type='network'
    bridge: t.Optional[str] = None  # host bridge the tap is on
    kind: str = "network"


@dataclasses.dataclass(frozen=True)
class DomainView:
    """What address resolution and the inventory need to know about one domain."""

    name: str
    uuid: str
    active: bool
    state: str
    agent_channel: bool
    nics: t.Tuple[Nic, ...]
    metadata: t.Mapping[str, str] = dataclasses.field(default_factory=dict)
    vcpus: int = 0
    memory: int = 0  # bytes


def domain_view(xml: str, active: bool, state: str) -> DomainView:
    """Parse a domain's XML (live XML for a running one: it names the taps and bridges)."""
    root = parse_xml(xml, "domain XML")
    nics = []
    for iface in root.findall("devices/interface"):
        mac_el = iface.find("mac")
        mac = _mac_or_none(mac_el.get("address") if mac_el is not None else None)
        if mac is None:
            continue
        source = iface.find("source")
        attrs = source.attrib if source is not None else {}
        target = iface.find("target")
        kind = iface.get("type", "network")
        nics.append(
            Nic(
                mac=mac,
                device=target.get("dev") if target is not None and active else None,
                network=attrs.get("network") if kind == "network" else None,
                bridge=attrs.get("bridge"),
                kind=kind,
            )
        )
    channels = {c.get("name") for c in root.findall("devices/channel/target")}
    memory = root.find("memory")
    vcpu = root.find("vcpu")
    return DomainView(
        name=root.findtext("name", ""),
        uuid=root.findtext("uuid", ""),
        active=active,
        state=state,
        agent_channel=AGENT_CHANNEL in channels,
        nics=tuple(nics),
        metadata=read_metadata(root),
        vcpus=int(vcpu.text or 0) if vcpu is not None else 0,
        memory=(from_libvirt(memory.text, memory.get("unit")) or 0) if memory is not None else 0,
    )


@dataclasses.dataclass(frozen=True)
class Reservation:
    """A static DHCP host entry of a libvirt network."""

    mac: str
    ip: str
    prefix: t.Optional[int]
    network: str


def parse_reservations(xml: str) -> t.List[Reservation]:
    """The MAC-keyed <ip><dhcp><host> entries of a network (IPv6 ones keyed by DUID are skipped)."""
    root = parse_xml(xml, "network XML")
    name = root.findtext("name", "")
    out = []
    for ip_el in root.findall("ip"):
        prefix = _prefix(ip_el.get("prefix"), ip_el.get("netmask"))
        for host in ip_el.findall("dhcp/host"):
            mac = _mac_or_none(host.get("mac"))
            if mac is not None and host.get("ip"):
                out.append(Reservation(mac=mac, ip=host.get("ip", ""), prefix=prefix, network=name))
    return out


def _prefix(prefix: t.Optional[str], netmask: t.Optional[str]) -> t.Optional[int]:
    if prefix:
        return int(prefix)
    if netmask:
        return ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen
    return None


@dataclasses.dataclass(frozen=True)
class Lease:
    """A DHCP lease dnsmasq holds for a libvirt network."""

    mac: str
    ip: str
    prefix: t.Optional[int]
    family: str
    network: str
    expires: int  # epoch seconds; 0 for a lease without end
    hostname: t.Optional[str] = None


def parse_leases(network: str, raw: t.Iterable[t.Mapping[str, t.Any]], now: float) -> t.List[Lease]:
    """virNetworkGetDHCPLeases records -> leases, expired and MAC-less (DHCPv6) ones dropped, newest first."""
    leases = []
    for record in raw:
        mac = _mac_or_none(record.get("mac"))
        expires = int(record.get("expirytime") or 0)
        if mac is None or not record.get("ipaddr") or (expires and expires < now):
            continue
        leases.append(
            Lease(
                mac=mac,
                ip=str(record["ipaddr"]),
                prefix=record.get("prefix"),
                family=_LIBVIRT_FAMILY.get(record.get("type", 0), family_of(str(record["ipaddr"]))),
                network=network,
                expires=expires,
                hostname=record.get("hostname") or None,
            )
        )
    return sorted(leases, key=_newest_first)


def _newest_first(lease: Lease) -> float:
    # Leases of one network share their length, so the one ending last was granted last; no end = newest.
    return -(lease.expires or float("inf"))


def newest_per_family(leases: t.Iterable[Lease]) -> t.List[Lease]:
    """Of leases already sorted newest first, the first per (MAC, family): what the guest holds now."""
    seen: t.Set[t.Tuple[str, str]] = set()
    out = []
    for lease in leases:
        key = (lease.mac, lease.family)
        if key not in seen:
            seen.add(key)
            out.append(lease)
    return out


@dataclasses.dataclass(frozen=True)
class GuestAddress:
    """An address the guest agent reports on one guest interface."""

    mac: str
    ip: str
    prefix: t.Optional[int]
    family: str
    guest_interface: str


def parse_agent_reply(reply: t.Mapping[str, t.Mapping[str, t.Any]]) -> t.List[GuestAddress]:
    """virDomainInterfaceAddresses(AGENT) reply -> usable addresses (no loopback, no link-local)."""
    out = []
    for name, iface in reply.items():
        mac = _mac_or_none(iface.get("hwaddr"))
        if mac is None or mac == "00:00:00:00:00:00":
            continue
        for addr in iface.get("addrs") or ():
            ip = str(addr.get("addr", ""))
            if usable_address(ip):
                family = _LIBVIRT_FAMILY.get(addr.get("type", 0), family_of(ip))
                out.append(GuestAddress(mac, ip, addr.get("prefix"), family, name))
    return out


@dataclasses.dataclass(frozen=True)
class Neighbour:
    """One neighbour (ARP / NDP) entry of the host."""

    ip: str
    mac: str
    device: str


def parse_proc_net_arp(text: str) -> t.List[Neighbour]:
    """Completed entries of /proc/net/arp (header skipped, MACs normalised, incomplete dropped)."""
    entries = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 6:
            continue
        ip, _hw_type, flags, mac, _mask, device = fields[:6]
        try:
            complete = int(flags, 16) & _ATF_COM
        except ValueError:
            continue
        if not complete or mac == "00:00:00:00:00:00":
            continue
        entries.append(Neighbour(ip=ip, mac=normalize_mac(mac), device=device))
    return entries


# Neighbour states (NUD_*) whose link-layer address is current enough to name a guest.
NUD_VALID = {0x02: "reachable", 0x04: "stale", 0x08: "delay", 0x10: "probe", 0x40: "noarp", 0x80: "permanent"}


def neighbour_from_netlink(ip: t.Optional[str], mac: t.Optional[str], state: int, device: str) -> t.Optional[Neighbour]:
    """One RTM_NEWNEIGH entry (already decoded) -> a Neighbour, or None for incomplete/failed ones."""
    if not ip or not mac or not state & sum(NUD_VALID):
        return None
    normalised = _mac_or_none(mac)
    if normalised is None or normalised == "00:00:00:00:00:00":
        return None
    return Neighbour(ip=ip, mac=normalised, device=device)


def neighbours_from_table(table: t.Mapping[str, t.Any]) -> t.List[Neighbour]:
    """neighbours.read_table's raw table (read here or on a hypervisor over SSH) -> neighbours."""
    if "proc_net_arp" in table:
        return parse_proc_net_arp(str(table["proc_net_arp"]))
    found = (neighbour_from_netlink(ip, mac, int(state), str(device)) for ip, mac, state, device in table["netlink"])
    return [entry for entry in found if entry is not None]


def agent_reply_neighbours(reply: t.Mapping[str, t.Mapping[str, t.Any]]) -> t.List[Neighbour]:
    """libvirt's ARP-source reply (same shape as the agent's, keyed by host tap) -> neighbours."""
    out = []
    for device, iface in reply.items():
        mac = _mac_or_none(iface.get("hwaddr"))
        for addr in iface.get("addrs") or ():
            if mac is not None and addr.get("addr"):
                out.append(Neighbour(ip=str(addr["addr"]), mac=mac, device=device))
    return out


SSH_SCHEMES = ("qemu+ssh", "qemu+libssh", "qemu+libssh2")


def ssh_argv(uri: str, connect_timeout: int) -> t.Optional[t.List[str]]:
    """The ssh command that reaches the host of a libvirt SSH URI as libvirt does (user, port, key, host
    key checking from the URI), or None for URIs of other transports."""
    parts = urlsplit(uri)
    if parts.scheme not in SSH_SCHEMES or not parts.hostname:
        return None
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect_timeout}", "-o", "LogLevel=ERROR"]
    if parts.port:
        argv += ["-p", str(parts.port)]
    if query.get("keyfile"):
        argv += ["-i", query["keyfile"]]
    if query.get("known_hosts"):
        argv += ["-o", f"UserKnownHostsFile={query['known_hosts']}"]
    if query.get("no_verify") == "1":  # the trust the URI already gives libvirt's own SSH connection
        argv += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    argv += ["--", f"{parts.username}@{parts.hostname}" if parts.username else parts.hostname]
    return argv
