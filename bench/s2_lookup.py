"""Scenario 2: IP lookup of running guests by name and by MAC, and of 500 synthetic leases/neighbours."""

from __future__ import annotations

import json
import re
import subprocess
import time
import typing as t

import libvirt
from env import PREFIX, URI, connect, remove_domains, remove_networks, wait_for_markers
from harness import WORK, Goal, Section, rotations
from s2_remote import measure_remote
from testbed.guest import free_subnet, guest_domain_xml, guest_image, isolated_network_xml, local_domain_type
from testbed.plugins import lookup

SYNTHETIC = 500
LEASES = f"ours, {SYNTHETIC} MACs from leases"
NEIGHBOURS = f"ours, {SYNTHETIC} MACs from neighbours"
MANUAL = f"manual, {SYNTHETIC} MACs (arp | grep)"
FLOOR_LEASES = f"libvirt-python, {SYNTHETIC} MACs from leases, same calls"
FLOOR_ARP = f"libvirt-python + /proc/net/arp, {SYNTHETIC} MACs, same calls"
ARP_ALONE = "/proc/net/arp read alone"


def measure_all(section: Section, reps: int, runs: t.Mapping[str, t.Callable[[], None]]) -> None:
    """One untimed run of each (imports, first connection), then ``reps`` alternating timed runs."""
    for run in runs.values():
        run()
    for _rep, label in rotations(list(runs), reps):
        section.measure(label, runs[label])


def spellings(mac: str, i: int) -> str:
    """The MAC as operators paste it: colons, upper case, hyphens, Cisco dots."""
    bare = mac.replace(":", "")
    return [mac, mac.upper(), "-".join(mac.split(":")), f"{bare[0:4]}.{bare[4:8]}.{bare[8:12]}"][i % 4]


def manual_by_name(name: str) -> str:
    """The brief's manual method: virsh dumpxml for the MAC, then the host ARP table."""
    xml = subprocess.run(["virsh", "-c", URI, "dumpxml", name], capture_output=True, text=True, check=True).stdout
    mac = re.search(r"<mac address='([0-9a-f:]+)'", xml)
    return manual_by_mac(mac.group(1)) if mac else ""


def manual_by_mac(mac: str) -> str:
    out = subprocess.run(f"arp -an | grep -i {mac}", shell=True, capture_output=True, text=True, check=False).stdout
    found = re.search(r"\(([\d.]+)\)", out)
    return found.group(1) if found else ""


def floor_by_name(names: t.Sequence[str]) -> t.List[str]:
    conn = libvirt.open(URI)
    out = []
    for name in names:
        addrs = conn.lookupByName(name).interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE)
        out.append(next(a["addr"] for nic in addrs.values() for a in nic["addrs"] if a["type"] == 0))
    conn.close()
    return out


def floor_by_mac(macs: t.Sequence[str]) -> t.List[str]:
    conn = libvirt.open(URI)
    leases = {x["mac"]: x["ipaddr"] for net in conn.listAllNetworks() if net.isActive() for x in net.DHCPLeases()}
    conn.close()
    return [leases[m] for m in macs]


def arp_table() -> t.Dict[str, str]:
    """MAC -> IPv4 address from one read of /proc/net/arp."""
    with open("/proc/net/arp", encoding="ascii") as handle:
        return {line.split()[3]: line.split()[0] for line in handle.read().splitlines()[1:]}


def floor_neighbours(macs: t.Sequence[str]) -> t.List[str]:
    table = arp_table()
    return [table[m] for m in macs]


def same_calls(terms: t.Sequence[str], by_name: bool, leases: bool = True, arp: bool = False) -> t.List[str]:
    """libvirt's cost of what the lookup reads: every domain's XML (to know its MACs), every network's XML
    (reservations) and leases, or the neighbour table - then a dictionary lookup per term."""
    conn = libvirt.open(URI)
    mac_of = {}
    for dom in conn.listAllDomains(0):
        dom.state()
        found = re.search(r"<mac address='([0-9a-f:]+)'", dom.XMLDesc(0))
        if found:
            mac_of[dom.name()] = found.group(1)
    nets = conn.listAllNetworks()
    for net in nets:
        net.XMLDesc(0)
    table: t.Dict[str, str] = {}
    if leases:
        table.update((x["mac"], x["ipaddr"]) for net in nets if net.isActive() for x in net.DHCPLeases())
    if arp:
        table.update(arp_table())
    conn.close()
    return [table[mac_of[term] if by_name else term] for term in terms]


def ours(terms: t.Sequence[str], **options: t.Any) -> t.List[str]:
    return t.cast(t.List[str], lookup("vm_ip", *terms, uri=[URI], **options))


def synthetic(conn: t.Any) -> t.Tuple[t.Any, t.List[str], t.List[str]]:
    """500 leases in a network's lease file and 500 permanent neighbour entries on its bridge (no traffic)."""
    subnet = free_subnet(22)
    name = f"{PREFIX}syn"
    net = conn.networkCreateXML(isolated_network_xml(name, subnet))
    bridge = net.bridgeName()
    hosts = list(subnet.hosts())[10 : 10 + SYNTHETIC]
    macs = [f"52:54:00:5c:{i >> 8:02x}:{i & 255:02x}" for i in range(SYNTHETIC)]
    expiry = int(time.time()) + 3600
    leases = [
        {"ip-address": str(ip), "mac-address": mac, "hostname": f"syn{i}", "expiry-time": expiry}
        for i, (ip, mac) in enumerate(zip(hosts, macs))
    ]
    # libvirt reads a network's leases from this file (dnsmasq's lease helper writes it).
    with open(f"/var/lib/libvirt/dnsmasq/{bridge}.status", "w", encoding="utf-8") as handle:
        json.dump(leases, handle)
    batch = "".join(f"neigh replace {ip} lladdr {mac} dev {bridge} nud permanent\n" for ip, mac in zip(hosts, macs))
    subprocess.run(["ip", "-batch", "-"], input=batch, text=True, check=True)
    return net, macs, [str(ip) for ip in hosts]


def running_guests(conn: t.Any, count: int) -> t.Tuple[t.Any, t.List[str], t.List[str]]:
    subnet = free_subnet()
    net = conn.networkCreateXML(isolated_network_xml(f"{PREFIX}net", subnet))
    gateway = str(next(subnet.hosts()))
    image, kind = guest_image(), local_domain_type(conn)
    names, macs, serials = [], [], []
    for i in range(count):
        name = f"{PREFIX}ip{i:02d}"
        serial = WORK / "serial" / f"{name}.log"
        serial.unlink(missing_ok=True)
        mac = f"52:54:00:5d:00:{i:02x}"
        # sv_ping keeps the host's neighbour entry fresh, as a guest in use would.
        xml = guest_domain_xml(
            name,
            image,
            kind,
            networks=[net.name()],
            serial=serial,
            memory_mib=96,
            agent=False,
            macs=[mac],
            cmdline=f"sv_ping={gateway}",
        )
        conn.createXML(xml, 0)
        names.append(name)
        macs.append(mac)
        serials.append(serial)
    wait_for_markers(serials, f"SVKVM-PING {gateway} ok")
    return net, names, macs


def check(label: str, got: t.Sequence[str], want: t.Sequence[str]) -> None:
    if list(got) != list(want):
        raise RuntimeError(f"{label} found {list(got)[:4]}..., expected {list(want)[:4]}...")


def scenario(reps: int, count: int = 8) -> Section:
    conn = connect()
    remove_domains(conn)
    remove_networks(conn)
    section = Section(
        f"2. IP lookup: {count} running guests, and {SYNTHETIC} synthetic leases/neighbours",
        f"{count} guests on an isolated libvirt network (DHCP), looked up all at once by name and by MAC (mixed "
        f"spellings); then {SYNTHETIC} MACs that are only in a lease file or only in the neighbour table. Ours: the "
        "`vm_ip` lookup's `run()` in-process (a new connection each time; default sources, so reservations are read "
        "too). Manual: `virsh dumpxml` for the MAC, then `arp -an | grep -i MAC`, per VM, as the brief describes. "
        "Floors: libvirt-python making the same calls as the lookup (each domain's state and XML, each network's "
        "XML and leases; or /proc/net/arp) then a dict lookup - libvirt's cost; and, for reference, the fewest calls "
        "that can answer (`interfaceAddresses` per domain by name; `DHCPLeases` per network by MAC). Every "
        "alternative's answers are checked against the expected addresses.",
    )
    try:
        net, names, macs = running_guests(conn, count)
        ips = floor_by_name(names)
        terms = [spellings(m, i) for i, m in enumerate(macs)]
        measure_all(
            section,
            reps,
            {
                "ours by name": lambda: check("ours", ours(names), ips),
                "ours by MAC": lambda: check("ours", ours(terms), ips),
                "manual by name": lambda: check("manual", [manual_by_name(n) for n in names], ips),
                "manual by MAC": lambda: check("manual", [manual_by_mac(m) for m in macs], ips),
                "libvirt-python by name, same calls": lambda: check("floor", same_calls(names, True), ips),
                "libvirt-python by MAC, same calls": lambda: check("floor", same_calls(macs, False), ips),
                "libvirt-python by name, fewest calls": lambda: check("floor", floor_by_name(names), ips),
                "libvirt-python by MAC, fewest calls": lambda: check("floor", floor_by_mac(macs), ips),
            },
        )
        # The synthetic entries come after, so that the guests' lookups read only their own leases.
        _syn_net, syn_macs, syn_ips = synthetic(conn)
        measure_all(
            section,
            reps,
            {
                LEASES: lambda: check("ours", ours(syn_macs, sources=["lease"]), syn_ips),
                NEIGHBOURS: lambda: check("ours", ours(syn_macs, sources=["arp"]), syn_ips),
                MANUAL: lambda: check("manual", [manual_by_mac(m) for m in syn_macs], syn_ips),
                FLOOR_LEASES: lambda: check("floor", same_calls(syn_macs, False), syn_ips),
                FLOOR_ARP: lambda: check("floor", same_calls(syn_macs, False, leases=False, arp=True), syn_ips),
                ARP_ALONE: lambda: check("floor", floor_neighbours(syn_macs), syn_ips),
            },
        )
        remote_lookup, remote_task, local_task = measure_remote(section, reps, measure_all, syn_macs, syn_ips)
    finally:
        remove_domains(conn)
        remove_networks(conn)
        conn.close()
    section.goals = [
        Goal("≥ 10× faster than the manual method, by name", "ours by name", "manual by name", 10),
        Goal("≥ 10× faster than the manual method, by MAC", "ours by MAC", "manual by MAC", 10),
        Goal(f"≥ 10× faster than the manual method, {SYNTHETIC} neighbours", NEIGHBOURS, MANUAL, 10),
        Goal(
            "within 2× of libvirt-python's same calls, by name",
            "ours by name",
            "libvirt-python by name, same calls",
            2,
            within=True,
        ),
        Goal(
            "within 2× of libvirt-python's same calls, by MAC",
            "ours by MAC",
            "libvirt-python by MAC, same calls",
            2,
            within=True,
        ),
        Goal(
            "by MAC within 2× of libvirt-python's fewest calls (8 VMs)",
            "ours by MAC",
            "libvirt-python by MAC, fewest calls",
            2,
            within=True,
        ),
        # One DHCPLeases call per network is both the same and the fewest calls for a batch of MACs.
        Goal(f"within 2× of libvirt-python's fewest calls, {SYNTHETIC} leases", LEASES, FLOOR_LEASES, 2, within=True),
        Goal(f"within 2× of the same reads, {SYNTHETIC} neighbours", NEIGHBOURS, FLOOR_ARP, 2, within=True),
        Goal(
            f"within 2× of reading /proc/net/arp alone, {SYNTHETIC} neighbours", NEIGHBOURS, ARP_ALONE, 2, within=True
        ),
        # Reported, not promised: what reaching the hypervisor over SSH costs against reading here.
        Goal("remote lookup over SSH, time against the local lookup", remote_lookup, NEIGHBOURS, 0, reported=True),
        Goal("vm_ip_info over SSH, time against the same task run locally", remote_task, local_task, 0, reported=True),
    ]
    return section
