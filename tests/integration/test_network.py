"""The network and network_info modules on the real libvirtd, with a guest taking leases."""

from __future__ import annotations

import ipaddress
import typing as t

from testbed.guest import free_subnet
from testbed.lab import Lab, Network
from testbed.modules import ladder, run_module
from testbed.params import URI
from testbed.wait import wait_for

from ansible_collections.sharedvirt.kvm.plugins.modules import network, network_info


def isolated(name: str, subnet: ipaddress.IPv4Network, **extra: t.Any) -> dict[str, t.Any]:
    hosts = list(subnet.hosts())
    return {
        "uri": URI,
        "name": name,
        "forward": {"mode": "none"},
        "bridge": {"name": name[:15], "stp": False},
        "ips": [
            {
                "address": str(hosts[0]),
                "prefix": subnet.prefixlen,
                "dhcp_ranges": [{"start": str(hosts[99]), "end": str(hosts[149])}],
            }
        ],
        **extra,
    }


def leased_info(name: str, address: str) -> dict[str, t.Any] | None:
    """network_info of the network once libvirt lists a lease of ``address``."""
    info = run_module(network_info, {"uri": URI, "name": name})
    return info if any(lease["ip"] == address for lease in info["networks"][0]["leases"]) else None


def test_reservation_added_live_reaches_the_guest_on_its_next_lease(lab: Lab, prefix: str) -> None:
    name = f"{prefix}-n"
    subnet = free_subnet()
    lab.networks.append(name)
    created = ladder(network, isolated(name, subnet))
    assert created[2]["network"]["state"] == "active"
    guest = lab.guest(networks=[Network(name, subnet, None)])
    leased = guest.wait_for(r"SVKVM-IP eth0 \S+").split()[-1]
    assert ipaddress.ip_address(leased) in subnet

    # The guest prints its address on the DHCP answer; dnsmasq's lease helper tells libvirt a moment later.
    info = wait_for("libvirt to list the lease", lambda: leased_info(name, leased), 30)
    leases = info["networks"][0]["leases"]
    assert [(lease["mac"], lease["ip"], lease["hostname"]) for lease in leases] == [(guest.macs[0], leased, guest.name)]
    assert info["networks"][0]["users"] == [guest.name]

    reserved = str(list(subnet.hosts())[49])
    desired = isolated(name, subnet)
    # The MAC as an operator copies it from elsewhere: upper case, dashes.
    desired["ips"][0]["dhcp_hosts"] = [{"mac": guest.macs[0].upper().replace(":", "-"), "ip": reserved, "name": "db1"}]
    results = ladder(network, desired)
    assert results[0]["actions"] == [
        f"update network {name}: ips[address={list(subnet.hosts())[0]}].dhcp_hosts[mac={guest.macs[0]}]",
        f"add DHCP host mac={guest.macs[0]} ({reserved}) on running network {name}",
    ]
    assert results[2]["reboot_required"] is False and results[2]["network"]["restart_pending"] == []
    net = lab.conn.networkLookupByName(name)
    assert f"ip='{reserved}'" in net.XMLDesc(0)  # live, no restart
    assert f"ip='{reserved}'" in net.XMLDesc(1)  # and persistent (VIR_NETWORK_XML_INACTIVE)
    guest.dom.reset(0)  # the guest boots again and asks for a new lease
    guest.wait_for(rf"SVKVM-IP eth0 {reserved.replace('.', '[.]')}$")
    leases = wait_for("libvirt to list the new lease", lambda: leased_info(name, reserved), 30)["networks"][0]["leases"]
    assert (reserved, guest.macs[0]) in [(lease["ip"], lease["mac"]) for lease in leases]


def test_other_changes_are_pending_until_restart(lab: Lab, prefix: str) -> None:
    name = f"{prefix}-n"
    subnet = free_subnet()
    lab.networks.append(name)
    run_module(network, isolated(name, subnet))
    narrower = isolated(name, subnet)
    hosts = list(subnet.hosts())
    narrower["ips"][0]["dhcp_ranges"] = [{"start": str(hosts[99]), "end": str(hosts[119])}]
    first = run_module(network, narrower)
    path = f"ips[address={hosts[0]}].dhcp_ranges"
    assert first["changed"] is True and first["actions"] == [
        f"update network {name}: {path}[start={hosts[99]},end={hosts[119]}], {path}[start={hosts[99]},end={hosts[149]}]"
    ]
    assert first["reboot_required"] is True and first["network"]["restart_pending"]
    assert any(f"network {name} runs with an older definition" in w for w in first["warnings"])
    again = run_module(network, narrower)
    assert again["changed"] is False and again["reboot_required"] is True
    assert again["warnings"] == first["warnings"]
    restarted = ladder(network, dict(narrower, restart=True))
    assert restarted[0]["actions"][0].startswith(f"restart network {name} to apply ")
    assert restarted[2]["reboot_required"] is False
    assert f"end='{hosts[119]}'" in lab.conn.networkLookupByName(name).XMLDesc(0)


def test_overlap_with_an_active_network_is_refused(lab: Lab, prefix: str) -> None:
    other = lab.network("busy")
    name = f"{prefix}-n"
    refused = run_module(network, isolated(name, other.subnet))
    assert refused["failed"] is True
    assert refused["msg"].startswith(
        f"network {name}: {other.subnet} overlaps {other.subnet} of the active network {other.name}"
    )
    assert name not in [n.name() for n in lab.conn.listAllNetworks(0)]


def test_removing_a_network_in_use_needs_force(lab: Lab, prefix: str) -> None:
    name = f"{prefix}-n"
    subnet = free_subnet()
    lab.networks.append(name)
    run_module(network, isolated(name, subnet))
    guest = lab.guest(networks=[Network(name, subnet, None)], wait_ready=False)
    refused = run_module(network, {"uri": URI, "name": name, "state": "absent"})
    assert refused["failed"] is True and refused["consent_option"] == "force"
    assert guest.name in refused["msg"]
    removed = ladder(network, {"uri": URI, "name": name, "state": "absent", "force": True})
    assert removed[0]["actions"] == [f"stop network {name}", f"undefine network {name}"]
