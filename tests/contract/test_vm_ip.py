"""The vm_ip lookup on test:///default: sources, bulk reads, unreachable hypervisors."""

from __future__ import annotations

import collections
import typing as t
import xml.etree.ElementTree as ET

import pytest
from ansible.errors import AnsibleError
from testbed.netns import NetNs
from testbed.plugins import lookup

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.client import LibvirtClient
from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses import neighbours
from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.client import LibvirtKnowledge
from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.model import Neighbour
from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.remote import SshNeighbours
from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.resolve import (
    Chain,
    SourceUnavailable,
    resolve_all,
)

from .conftest import TEST_URI, libvirt

MACS = ("52:54:00:11:22:33", "52:54:00:11:22:34")


def agent_ips(dom: t.Any) -> list[str]:
    """What the test driver's fake agent answers, per NIC in order (it derives them from the domain id)."""
    reply = dom.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT)
    return [reply[name]["addrs"][0]["addr"] for name in sorted(reply)]


def domain_xml(name: str, macs: t.Sequence[str], agent: bool = True) -> str:
    root = ET.Element("domain", {"type": "test"})
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "memory").text = "65536"
    ET.SubElement(ET.SubElement(root, "os"), "type").text = "hvm"
    devices = ET.SubElement(root, "devices")
    for mac in macs:
        nic = ET.SubElement(devices, "interface", {"type": "network"})
        ET.SubElement(nic, "mac", {"address": mac})
        ET.SubElement(nic, "source", {"network": "default"})
    if agent:
        channel = ET.SubElement(devices, "channel", {"type": "unix"})
        ET.SubElement(channel, "target", {"type": "virtio", "name": "org.qemu.guest_agent.0"})
    return ET.tostring(root, encoding="unicode")


@pytest.fixture
def guest(test_conn: t.Any) -> t.Iterator[t.Any]:
    dom = test_conn.createXML(domain_xml("svt-ip1", MACS), 0)
    try:
        yield dom
    finally:
        dom.destroy()


def test_agent_source_gives_every_nic_with_its_guest_interface(guest: t.Any) -> None:
    ips = agent_ips(guest)
    [found] = lookup("vm_ip", "svt-ip1", uri=TEST_URI, sources=["agent"], **{"return": "all"})
    assert [(a["mac"], a["ip"], a["prefix"], a["source"], a["domain"]) for a in found] == [
        (MACS[0], ips[0], 24, "agent", "svt-ip1"),
        (MACS[1], ips[1], 24, "agent", "svt-ip1"),
    ]
    assert lookup("vm_ip", "5254.0011.2234", "svt-ip1", uri=TEST_URI) == [ips[1], ips[0]]


def test_a_driver_without_leases_says_so(guest: t.Any) -> None:
    with pytest.raises(AnsibleError) as failed:
        lookup("vm_ip", "svt-ip1", uri=TEST_URI, sources=["lease"])
    assert str(failed.value) == (
        "vm_ip: no address for 'svt-ip1': lease: the libvirt driver of test:///default cannot list DHCP leases"
    )


def test_an_unreachable_hypervisor_is_skipped_and_all_unreachable_fails(guest: t.Any) -> None:
    dead = "qemu+unix:///system?socket=/nonexistent/libvirt-sock"
    assert lookup("vm_ip", "svt-ip1", uri=[dead, TEST_URI], sources=["agent"]) == agent_ips(guest)[:1]
    with pytest.raises(AnsibleError) as failed:
        lookup("vm_ip", "svt-ip1", uri=[dead])
    assert str(failed.value).startswith(f"vm_ip: no hypervisor reachable: connect to {dead}: ")


class Counting:
    """A libvirt connection proxy that counts the calls made through it."""

    def __init__(self, conn: t.Any) -> None:
        self.conn, self.calls = conn, collections.Counter[str]()

    def __getattr__(self, name: str) -> t.Any:
        self.calls[name] += 1
        return getattr(self.conn, name)


def test_many_terms_read_each_source_once(test_conn: t.Any) -> None:
    doms = [test_conn.createXML(domain_xml(f"svt-bulk{i}", [f"52:54:00:00:10:{i:02x}"]), 0) for i in range(6)]
    try:
        counting = Counting(test_conn)
        knowledge = LibvirtKnowledge(LibvirtClient(counting, TEST_URI))
        terms = [f"svt-bulk{i}" for i in range(6)]
        outcomes = resolve_all(terms, [knowledge], Chain(sources=["reservation", "agent"]))
        assert all(o.addresses and o.addresses[0].source == "agent" for o in outcomes)
        # Connection-level calls stay constant whatever the number of domains and terms:
        # all domains, the active ones and every domain's state at once; the networks once.
        assert counting.calls == {"listAllDomains": 2, "getAllDomainStats": 1, "listAllNetworks": 1}
    finally:
        for dom in doms:
            dom.destroy()


class VanishingNetwork:
    """A connection whose network listing holds one that another play undefines right after the listing."""

    def __init__(self, conn: t.Any, only_the_vanished: bool = False) -> None:
        self.conn = conn
        self.only_the_vanished = only_the_vanished

    def listAllNetworks(self, flags: int = 0) -> list[t.Any]:  # noqa: N802 - libvirt's name
        xml = "<network><name>svt-vanishing</name><ip address='10.77.0.1' prefix='24'/></network>"
        vanishing = self.conn.networkDefineXML(xml)
        vanishing.create()
        listed = [vanishing] if self.only_the_vanished else self.conn.listAllNetworks(flags)
        vanishing.destroy()
        vanishing.undefine()
        return listed

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self.conn, name)


def test_a_network_removed_after_the_listing_is_left_out(test_conn: t.Any) -> None:
    expected = LibvirtKnowledge(LibvirtClient(test_conn, TEST_URI)).reservations()
    racing = LibvirtKnowledge(LibvirtClient(VanishingNetwork(test_conn), TEST_URI))
    assert racing.reservations() == expected
    alone = LibvirtKnowledge(LibvirtClient(VanishingNetwork(test_conn, only_the_vanished=True), TEST_URI))
    assert alone.leases() == []


def test_a_probe_makes_the_next_read_see_the_filled_neighbour_table(test_conn: t.Any, monkeypatch: t.Any) -> None:
    found = Neighbour(ip="10.9.0.7", mac="52:54:00:00:20:01", device="br0")
    table: list[list[t.Any]] = []
    monkeypatch.setattr(neighbours, "read_table", lambda ipv6=True: {"netlink": list(table)})

    def sweep(bridge: str, limit: int, rate: float) -> str:
        table.append([found.ip, found.mac, 0x02, found.device])  # what the real sweep achieves: guests answer ARP
        return "swept"

    monkeypatch.setattr(neighbours, "sweep", sweep)
    knowledge = LibvirtKnowledge(LibvirtClient(test_conn, TEST_URI))
    assert knowledge.neighbours(None, ipv6=False) == [] and knowledge.neighbours(None, ipv6=True) == []
    assert knowledge.probe("br0") == "swept"
    assert knowledge.neighbours(None, ipv6=False) == [found] and knowledge.neighbours(None, ipv6=True) == [found]


def test_the_remote_reader_runs_on_the_other_side_and_reads_its_table() -> None:
    """SshNeighbours with ``ip netns exec NS sh -c`` in place of ``ssh host``: the program it ships runs there
    and answers with that side's table, its sweep refusals and its failures."""
    ns = NetNs("svt-remote-nb")
    try:
        ns.ip("link", "add", "svt-br", "type", "bridge")
        ns.ip("link", "set", "svt-br", "up")
        ns.ip("neigh", "add", "10.9.9.9", "lladdr", "52:54:00:AA:BB:CC", "dev", "svt-br", "nud", "permanent")
        there = SshNeighbours("qemu+ssh://hv1/system", ["ip", "netns", "exec", ns.name, "sh", "-c"], 5, 100, 500)
        assert there.read(False) == ([Neighbour("10.9.9.9", "52:54:00:aa:bb:cc", "svt-br")], {})
        assert Neighbour("10.9.9.9", "52:54:00:aa:bb:cc", "svt-br") in there.read(True)[0]
        with pytest.raises(SourceUnavailable) as refused:
            there.read(False, ["svt-br"])  # no address on the bridge: the other side refuses to sweep
        assert str(refused.value).startswith("bridge svt-br has no IPv4 address on this host, so the host cannot")
        assert str(refused.value).endswith(" (on qemu+ssh://hv1/system)")
    finally:
        ns.delete()
    failing = ["sh", "-c", "echo 'ssh: connect to host hv1 port 22: Connection refused' >&2; exit 255"]
    with pytest.raises(SourceUnavailable) as failed:
        SshNeighbours("qemu+ssh://hv1/system", failing, 5, 100, 500).read(True)
    assert str(failed.value) == (
        "reading the neighbour table of qemu+ssh://hv1/system over SSH failed (exit 255): "
        "ssh: connect to host hv1 port 22: Connection refused"
    )
