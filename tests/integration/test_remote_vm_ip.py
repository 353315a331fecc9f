"""The brief's scenario from a controller that is not the hypervisor: guests on a plain bridge of namespace
hypervisor h1 (DHCP from dnsmasq in a further namespace, no guest agent), found over SSH by the vm_ip lookup,
the inventory and the vm_ip_info module, with a sweep that stays on the guests' bridge."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import typing as t
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleError
from testbed.ansible import run_inventory, run_playbook
from testbed.dhcp import OutsideDhcp
from testbed.guest import free_subnet
from testbed.hosts import HostBed
from testbed.lab import Guest, Lab
from testbed.netns import NetNs
from testbed.plugins import lookup

ETH_P_ALL = 0x0003


@pytest.fixture(scope="module")
def bed() -> t.Iterator[HostBed]:
    with HostBed("svt-rip", 2) as hosts:
        yield hosts


@pytest.fixture
def bridged(bed: HostBed, prefix: str) -> t.Iterator[tuple[Lab, OutsideDhcp, list[Guest], Guest]]:
    """Two running guests and a stopped one on a plain bridge of h1, whose DHCP server is outside libvirt."""
    h1 = bed.hosts[1]
    conn = h1.open()
    lab = Lab(conn, prefix)
    server = OutsideDhcp(prefix, free_subnet(), host_ns=h1.name)
    try:
        running = [lab.guest(f"g{i}", bridges=[server.bridge], agent=False, wait_ready=False) for i in range(2)]
        stopped = lab.guest("win7", bridges=[server.bridge], agent=False, start=False, boots=False)
        yield lab, server, running, stopped
    finally:
        lab.cleanup()
        server.stop()
        conn.close()


class Capture:
    """Frames seen on one interface of a namespace: a packet socket made inside it, read in a thread."""

    def __init__(self, netns: str, interface: str) -> None:
        with NetNs.entered(netns):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.sock.bind((interface, 0))
        self.sock.settimeout(0.2)
        self.frames: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError, socket.timeout):
                self.frames.append(self.sock.recv(2048))

    def stop(self) -> list[bytes]:
        self._stop.set()
        self._thread.join()
        self.sock.close()
        return self.frames


def probes_in(frames: list[bytes], subnet: t.Any) -> list[bytes]:
    """ARP requests for, and IPv4 datagrams to, addresses of ``subnet`` (what a sweep of it sends)."""
    wanted = {str(a) for a in subnet}
    # (ethertype, offset of the target address): ARP's target protocol address, IPv4's destination.
    where = {b"\x08\x06": 38, b"\x08\x00": 30}
    return [
        f for f in frames if f[12:14] in where and socket.inet_ntoa(f[where[f[12:14]] : where[f[12:14]] + 4]) in wanted
    ]


def spellings(mac: str) -> list[str]:
    bare = mac.replace(":", "")
    return [mac.upper(), mac.replace(":", "-"), f"{bare[:4]}.{bare[4:8]}.{bare[8:]}", bare.upper()]


def test_a_controller_finds_silent_bridged_guests_on_a_remote_hypervisor_by_sweeping_there(
    bed: HostBed, bridged: tuple[Lab, OutsideDhcp, list[Guest], Guest]
) -> None:
    lab, server, running, stopped = bridged
    h1 = bed.hosts[1]
    uri = bed.ssh_uri(h1)
    ips = {g.name: g.wait_for(r"SVKVM-IP eth0 \S+").split()[-1] for g in running}
    assert all(g.macs[0] in server.leases() for g in running)  # the outside server gave the addresses
    NetNs.run_in(h1.name, "ip", "neigh", "flush", "dev", server.bridge)
    names = [g.name for g in running]

    # Without a probe the hypervisor's table (read over SSH) does not know the silent guests.
    with pytest.raises(AnsibleError) as silent:
        lookup("vm_ip", *names, uri=uri, sources=["arp"])
    assert f"{running[0].macs[0]} not in the neighbour table (ipv4) of {uri}" in str(silent.value)

    capture = Capture(h1.name, "lan")  # h1's other interface, toward the controller and h0
    try:
        found = lookup("vm_ip", *names, uri=uri, sources=["arp"], probe=True, probe_rate=500)
    finally:
        frames = capture.stop()
    assert found == [ips[name] for name in names]
    assert frames, "the capture on h1's lan bridge saw nothing at all (not even the SSH traffic)"
    assert probes_in(frames, server.subnet) == []  # the sweep stayed on the guests' bridge

    mac = running[1].macs[0]
    assert lookup("vm_ip", *spellings(mac), uri=uri, sources=["arp"]) == [ips[running[1].name]] * 4
    with pytest.raises(AnsibleError) as down:
        lookup("vm_ip", stopped.name, uri=uri, sources=["arp"], probe=True)
    assert (
        str(down.value)
        == f"vm_ip: no address for {stopped.name!r}: arp: domain {stopped.name!r} is not running (state shutoff)"
    )


def test_probe_limits_hold_on_the_remote_side_and_name_the_hypervisor(
    bed: HostBed, bridged: tuple[Lab, OutsideDhcp, list[Guest], Guest]
) -> None:
    _lab, server, running, _stopped = bridged
    h1 = bed.hosts[1]
    uri = bed.ssh_uri(h1)
    running[0].wait_for(r"SVKVM-IP eth0 \S+")
    NetNs.run_in(h1.name, "ip", "neigh", "flush", "dev", server.bridge)
    mac = running[0].macs[0]
    with pytest.raises(AnsibleError) as refused:
        lookup("vm_ip", running[0].name, uri=uri, sources=["arp"], probe=True, probe_max_addresses=100)
    assert str(refused.value) == (
        f"vm_ip: no address for {running[0].name!r}: arp: {mac} not in the neighbour table of {uri}, and probing "
        f"was not possible: subnet {server.subnet} of bridge {server.bridge} has 254 addresses, more than "
        f"probe_max_addresses=100; raise it to sweep anyway (on {uri})"
    )
    # The rate is kept there too: 253 datagrams at 50 per second take at least 5 s.
    started = time.monotonic()
    lookup("vm_ip", running[0].name, uri=uri, sources=["arp"], probe=True, probe_rate=50)
    assert time.monotonic() - started >= 253 / 50


def test_inventory_and_the_module_fill_addresses_of_bridged_guests_on_remote_hypervisors(
    bed: HostBed, bridged: tuple[Lab, OutsideDhcp, list[Guest], Guest], prefix: str, tmp_path: Path
) -> None:
    _lab, server, running, stopped = bridged
    h0, h1 = bed.hosts
    ips = {g.name: g.wait_for(r"SVKVM-IP eth0 \S+").split()[-1] for g in running}
    NetNs.run_in(h1.name, "ip", "neigh", "flush", "dev", server.bridge)
    config = {
        "plugin": "sharedvirt.kvm.libvirt",
        "uri": [bed.ssh_uri(h0), bed.ssh_uri(h1)],
        "filter": f"starts_with(libvirt_name, '{prefix}')",
        "sources": ["lease", "arp"],
        "probe": True,
        "probe_rate": 500,
    }
    inventory = tmp_path / "bridged.libvirt.yml"
    inventory.write_text(yaml.safe_dump(config))
    listed = run_inventory(inventory)
    assert listed.returncode == 0, listed.stderr
    hostvars = json.loads(listed.stdout)["_meta"]["hostvars"]
    assert {name: v["ansible_host"]["__ansible_unsafe"] for name, v in hostvars.items() if "ansible_host" in v} == ips
    assert stopped.name in hostvars and "ansible_host" not in hostvars[stopped.name]

    # The module form, as a task on h1 (its normal SSH connection), with the same answers and reasons.
    NetNs.run_in(h1.name, "ip", "neigh", "flush", "dev", server.bridge)
    play = f"""
- name: Find the guests from the hypervisor itself
  hosts: {h1.name}
  gather_facts: false
  tasks:
    - name: Look them up there
      sharedvirt.kvm.vm_ip_info:
        terms: {json.dumps([*ips, stopped.name, running[0].macs[0].upper()])}
        sources: [arp]
        probe: true
        probe_rate: 500
        on_missing: skip
      register: found
      check_mode: true
    - name: Show them
      ansible.builtin.debug:
        msg: "FOUND {{{{ found.first | to_json }}}} MISSING {{{{ found.missing | to_json }}}}"
"""
    hosts = tmp_path / "hosts.yml"
    reached = bed.inventory()
    reached["hypervisors"]["vars"]["ansible_connection"] = "ssh"  # run_playbook's default is local
    hosts.write_text(yaml.safe_dump({"all": {"children": reached}}))
    played = run_playbook(play, inventory=hosts)
    assert played.rc == 0, played.output
    first = json.loads(played.output.split("FOUND ", 1)[1].split(" MISSING ", 1)[0].replace('\\"', '"'))
    assert first == {**ips, stopped.name: "", running[0].macs[0].upper(): ips[running[0].name]}
    assert f"domain '{stopped.name}' is not running (state shutoff)" in played.output
