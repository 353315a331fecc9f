"""The test platform itself, proven on the real libvirtd: network, guest, lease, agent, ARP, disks."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import typing as t
from pathlib import Path

import libvirt
import libvirt_qemu
import pytest
from testbed.guest import Disk
from testbed.lab import Guest, Lab, Network
from testbed.wait import wait_for

from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.model import neighbours_from_table
from ansible_collections.sharedvirt.kvm.plugins.module_utils.addresses.neighbours import read_table

SOURCES = {
    "lease": libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE,
    "agent": libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT,
    "arp": libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP,
}
# libvirt 9.0's ARP source rejects neighbour dumps whose NLMSG_DONE shares a buffer with the
# entries, as newer kernels send them; the collection reads the neighbour table itself.
LIBVIRT_ARP_BUG = "wrong nlmsg len"


def ipv4_by_mac(addresses: dict[str, t.Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for iface in addresses.values():
        for addr in iface.get("addrs") or []:
            if addr["type"] == libvirt.VIR_IP_ADDR_TYPE_IPV4 and iface.get("hwaddr"):
                out.setdefault(iface["hwaddr"].lower(), set()).add(addr["addr"])
    return out


def agent_answers(dom: t.Any) -> bool:
    try:
        reply = libvirt_qemu.qemuAgentCommand(dom, json.dumps({"execute": "guest-ping"}), 5, 0)
    except libvirt.libvirtError:
        return False
    return json.loads(reply) == {"return": {}}


def poke(ip: str) -> None:
    """One UDP datagram to the guest's discard port: makes the host resolve its MAC (ARP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"svkvm", (ip, 9))


def test_guest_gets_a_lease_and_every_address_source_reports_it(booted_guest: tuple[Network, Guest]) -> None:
    net, guest = booted_guest
    (mac,) = guest.macs

    lease = wait_for(
        f"a DHCP lease for {mac} on {net.name}",
        lambda: [x for x in net.net.DHCPLeases() if x["mac"].lower() == mac],
        timeout=max(1.0, 60 - (time.monotonic() - guest.started)),
    )[0]
    ip = lease["ipaddr"]
    assert lease["hostname"] == guest.name
    assert ip in [str(h) for h in net.subnet.hosts()]
    guest.wait_for(rf"SVKVM-IP eth0 {ip}\b", timeout=30)

    assert ipv4_by_mac(guest.dom.interfaceAddresses(SOURCES["lease"])) == {mac: {ip}}

    wait_for(f"the guest agent of {guest.name} to answer guest-ping", lambda: agent_answers(guest.dom), 60)
    agent = wait_for(
        "the agent to report the leased address",
        lambda: ipv4_by_mac(guest.dom.interfaceAddresses(SOURCES["agent"])).get(mac),
        30,
    )
    assert agent == {ip}

    poke(ip)
    neighbour = wait_for(
        f"{mac} in the host neighbour table",
        lambda: [n for n in neighbours_from_table(read_table()) if n.mac == mac],
        10,
    )
    assert [(n.ip, n.device) for n in neighbour] == [(ip, net.name[:15])]
    try:
        arp = ipv4_by_mac(guest.dom.interfaceAddresses(SOURCES["arp"]))
    except libvirt.libvirtError as err:
        if LIBVIRT_ARP_BUG not in str(err):
            raise
        print(f"libvirt ARP source: known libvirt 9.0 bug on this kernel ({err}); neighbour table checked directly")
    else:
        assert arp.get(mac) == {ip}


def test_disk_markers_and_acpi_power_off(lab: Lab, tmp_path: Path) -> None:
    disk = Path("/var/tmp/sharedvirt-kvm") / f"{lab.prefix}-disk.raw"
    lab.files.append(disk)
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(disk), "8M"], check=True)
    guest = lab.guest(cmdline="sv_disk=/dev/vda sv_write=A1 sv_sector=1 sv_read=0,1", disks=[Disk(str(disk))])
    guest.wait_for(r"SVKVM-WROTE /dev/vda sector=1 mark=A1")
    guest.wait_for(r"SVKVM-READ /dev/vda s0=<> s1=<SVKVM-MARK A1>")
    assert disk.read_bytes()[4096:4110] == b"SVKVM-MARK A1\n"

    # Another writer's marker appears in the guest's reads (what shared-disk tests rely on).
    with disk.open("r+b") as handle:
        handle.write(b"SVKVM-MARK B2\n")
    guest.wait_for(r"SVKVM-READ /dev/vda s0=<SVKVM-MARK B2> s1=<SVKVM-MARK A1>", timeout=30)

    guest.dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
    guest.wait_for(r"SVKVM-POWEROFF \./PWRF/00000080", timeout=30)
    wait_for(f"{guest.name} to power off", lambda: not _exists(lab.conn, guest.name), 30)


def _exists(conn: t.Any, name: str) -> bool:
    try:
        conn.lookupByName(name)
    except libvirt.libvirtError:
        return False
    return True


def test_address_sources_fail_clearly_for_a_guest_without_network_or_agent(lab: Lab) -> None:
    guest = lab.guest(suffix="nonet", agent=False)
    assert guest.macs == []
    assert guest.dom.interfaceAddresses(SOURCES["lease"]) == {}
    with pytest.raises(libvirt.libvirtError) as err:
        guest.dom.interfaceAddresses(SOURCES["agent"])
    assert "QEMU guest agent is not configured" in str(err.value)
