"""The vm_ip lookup against real guests: leases, reservations, the agent, and ARP on a plain bridge."""

from __future__ import annotations

import ipaddress
import json
import re
import time
import typing as t

import pytest
from ansible.errors import AnsibleError
from testbed.ansible import run_playbook
from testbed.dhcp import OutsideDhcp
from testbed.guest import free_subnet
from testbed.lab import Lab
from testbed.params import URI
from testbed.paths import ROOT
from testbed.plugins import lookup


def vm_ip(*terms: str, **options: t.Any) -> list[t.Any]:
    return lookup("vm_ip", *terms, uri=URI, **options)


def serial_ips(guest_serial_text: str) -> dict[str, str]:
    """Guest interface -> address, from the SVKVM-IP lines of a serial log."""
    return dict(re.findall(r"SVKVM-IP (\S+) (\S+)", guest_serial_text))


def test_wait_across_boot_then_lease_agent_two_nics_and_mac_spellings(lab: Lab) -> None:
    first, second = lab.network("a"), lab.network("b")
    guest = lab.guest(networks=[first, second], wait_ready=False)
    # (g) asked while the guest is still booting: the lookup waits for a first address.
    assert "SVKVM-IP" not in guest.serial.read_text()
    [found] = vm_ip(guest.name, wait=True, timeout=120, interval=1)
    # libvirt may list the lease before the guest's DHCP hook has printed it: wait for both NICs' lines.
    guest.wait_for(r"SVKVM-IP eth0 \S+")
    guest.wait_for(r"SVKVM-IP eth1 \S+")
    ips = serial_ips(guest.serial.read_text())
    assert found in ips.values()

    # (a) + (e): the lease source, both NICs, each on its own network.
    [leased] = vm_ip(guest.name, sources=["lease"], wait=True, timeout=60, **{"return": "all"})
    assert [(a["mac"], a["ip"], a["network"], a["source"]) for a in leased] == [
        (guest.macs[0], ips["eth0"], first.name, "lease"),
        (guest.macs[1], ips["eth1"], second.name, "lease"),
    ]
    assert ipaddress.ip_address(ips["eth0"]) in first.subnet and ipaddress.ip_address(ips["eth1"]) in second.subnet
    assert leased[0]["interface"].startswith("vnet") and leased[0]["prefix"] == 24

    # (c): the guest agent, which names the guest's own interfaces.
    [agent] = vm_ip(guest.name, sources=["agent"], wait=True, timeout=60, **{"return": "all"})
    assert {(a["guest_interface"], a["ip"], a["source"]) for a in agent} == {
        ("eth0", ips["eth0"], "agent"),
        ("eth1", ips["eth1"], "agent"),
    }

    # (f): MAC terms as operators paste them, in one bulk call.
    second_mac = guest.macs[1]
    dotted = ".".join(second_mac.replace(":", "")[i : i + 4] for i in (0, 4, 8))
    assert vm_ip(guest.macs[0].upper(), dotted, second_mac.replace(":", "-").upper()) == [
        ips["eth0"],
        ips["eth1"],
        ips["eth1"],
    ]


def test_reservation_answers_before_the_guest_boots_and_reasons_name_every_source(lab: Lab) -> None:
    subnet = free_subnet()
    mac, reserved = "52:54:00:5e:00:42", str(list(subnet.hosts())[42])
    net = lab.network(subnet=subnet, reservations={mac: reserved})
    guest = lab.guest(networks=[net], macs=[mac], start=False)

    with pytest.raises(AnsibleError) as failed:
        vm_ip(guest.name, sources=["lease", "agent"])
    assert str(failed.value) == (
        f"vm_ip: no address for {guest.name!r}: lease: no unexpired DHCP lease (ipv4) for {mac} in network "
        f"{net.name}; agent: domain {guest.name!r} is not running (state shutoff)"
    )
    with pytest.raises(AnsibleError) as unknown:
        vm_ip("svt-no-such-vm")
    assert str(unknown.value) == f"vm_ip: no address for 'svt-no-such-vm': no domain named 'svt-no-such-vm' on {URI}"
    assert vm_ip("svt-no-such-vm", guest.name, on_missing="skip") == ["", reserved]

    # (b): defined, not running, and the reservation already answers; then the guest really gets it.
    assert vm_ip(guest.name) == [reserved]
    guest.dom.create()
    [answer] = vm_ip(guest.name, **{"return": "all"})
    assert "SVKVM-IP" not in guest.serial.read_text()
    with pytest.raises(AnsibleError) as booting:
        vm_ip(guest.name, sources=["agent"])
    assert str(booting.value) == (
        f"vm_ip: no address for {guest.name!r}: agent: the guest agent of {guest.name!r} did not answer: "
        "Guest agent is not responding: QEMU guest agent is not connected"
    )
    assert (answer[0]["ip"], answer[0]["source"]) == (reserved, "reservation")
    assert guest.wait_for(r"SVKVM-IP eth0 \S+").split()[-1] == reserved


@pytest.fixture
def outside_dhcp(prefix: str) -> t.Iterator[OutsideDhcp]:
    server = OutsideDhcp(prefix, free_subnet())
    try:
        yield server
    finally:
        server.stop()


def test_plain_bridge_with_outside_dhcp_needs_arp_and_a_probe_for_silent_guests(
    lab: Lab, outside_dhcp: OutsideDhcp
) -> None:
    guests = [lab.guest(f"g{i}", bridges=[outside_dhcp.bridge], wait_ready=False) for i in range(2)]
    ips = [g.wait_for(r"SVKVM-IP eth0 \S+").split()[-1] for g in guests]
    assert all(g.macs[0] in outside_dhcp.leases() for g in guests)
    names = [g.name for g in guests]

    # (d) The guests never talked to this host: libvirt knows no lease and the table has no entry.
    with pytest.raises(AnsibleError) as silent:
        vm_ip(*names, sources=["lease", "arp"])
    mac = guests[0].macs[0]
    assert str(silent.value).splitlines()[0] == (
        f"vm_ip: no address for {names[0]!r}: lease: no unexpired DHCP lease (ipv4) for {mac}; {mac} is on a "
        f"host bridge, not a libvirt network; arp: {mac} not in the neighbour table (ipv4) of {URI} "
        "(a silent guest is only there after traffic; probe=true sweeps its bridge's subnet first)"
    )

    started = time.monotonic()
    [probed] = [vm_ip(*names, sources=["arp"], probe=True, probe_rate=500, **{"return": "all"})]
    swept_in = time.monotonic() - started
    assert [[(a["ip"], a["source"], a["interface"]) for a in found] for found in probed] == [
        [(ip, "arp", g.dom.XMLDesc(0).split("<target dev='")[1].split("'")[0])] for ip, g in zip(ips, guests)
    ]
    # One sweep of the /24 for both guests (bulk), at 500 addresses per second plus one second to settle.
    assert swept_in < 10


def test_probe_refuses_what_it_must_not_sweep_and_says_what_it_swept(lab: Lab, outside_dhcp: OutsideDhcp) -> None:
    stopped = lab.guest("off", bridges=[outside_dhcp.bridge], start=False, boots=False)
    with pytest.raises(AnsibleError) as down:
        vm_ip(stopped.name, sources=["arp"], probe=True, probe_rate=500)
    assert (
        str(down.value)
        == f"vm_ip: no address for {stopped.name!r}: arp: domain {stopped.name!r} is not running (state shutoff)"
    )
    # A running guest whose address lies outside the bridge's subnet answers none of the sweep's ARP requests.
    guest = lab.guest(bridges=[outside_dhcp.bridge], cmdline="sv_ip=198.51.100.5/24", agent=False)
    with pytest.raises(AnsibleError) as absent:
        vm_ip(guest.name, sources=["arp"], probe=True, probe_rate=500)
    assert str(absent.value) == (
        f"vm_ip: no address for {guest.name!r}: arp: {guest.macs[0]} not in the neighbour table of {URI} even after "
        f"probing {outside_dhcp.subnet} on bridge {outside_dhcp.bridge} (253 addresses at 500/s)"
    )
    with pytest.raises(AnsibleError) as refused:
        vm_ip(guest.name, sources=["arp"], probe=True, probe_max_addresses=100)
    assert str(refused.value) == (
        f"vm_ip: no address for {guest.name!r}: arp: {guest.macs[0]} not in the neighbour table of {URI}, and "
        f"probing was not possible: subnet {outside_dhcp.subnet} of bridge {outside_dhcp.bridge} has 254 "
        "addresses, more than probe_max_addresses=100; raise it to sweep anyway"
    )


def test_shipped_boot_and_add_hosts_playbook(lab: Lab) -> None:
    net = lab.network()
    guests = [lab.guest(f"p{i}", networks=[net], start=False) for i in range(2)]
    names = [g.name for g in guests]
    run = run_playbook(ROOT / "playbooks" / "boot_and_add_hosts.yml", extra_vars=json.dumps({"sharedvirt_vms": names}))
    assert run.rc == 0, run.output
    ips = {g.name: g.wait_for(r"SVKVM-IP eth0 \S+").split()[-1] for g in guests}
    assert dict(re.findall(r'"msg": "(\S+) is at (\S+)"', run.output)) == ips
