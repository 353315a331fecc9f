"""VLAN isolation on a userspace Open vSwitch bridge, proven by guests pinging each other.

Two guests in VLAN 10 reach each other and the guests in VLAN 20 cannot reach them, whether a NIC
is tagged directly (``vlan: {tag: N}`` on an OVS port) or through a libvirt network's portgroup.
"""

from __future__ import annotations

import subprocess
import time
import typing as t

import pytest
from testbed import services
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.params import URI, guest_params, serial_path_of
from testbed.wait import wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.modules import bridge, bridge_info, domain, network

SUBNET = "10.99.{}.{}"


@pytest.fixture
def ovs_bridge(prefix: str) -> t.Iterator[str]:
    services.ensure_ovs()
    name = f"{prefix}-o"
    try:
        yield name
    finally:
        subprocess.run(["ovs-vsctl", "--if-exists", "del-br", name], check=False)


def nic(ovs: str, net: str, how: str, vlan: int) -> dict[str, t.Any]:
    if how == "tag":
        return {"source": {"bridge": ovs}, "virtualport": "openvswitch", "vlan": {"tag": vlan}, "model": "virtio"}
    source = {"network": net} if vlan == 10 else {"network": net, "portgroup": "vlan20"}  # vlan10 is the default
    return {"source": source, "model": "virtio"}


def test_vlan_isolation_between_guests(lab: Lab, prefix: str, ovs_bridge: str) -> None:
    created = ladder(bridge, {"name": ovs_bridge, "type": "ovs", "datapath_type": "netdev", "persist": "none"})
    assert created[0]["actions"] == [f"create Open vSwitch bridge {ovs_bridge}"]
    assert created[2]["bridge"]["datapath_type"] == "netdev"
    net = f"{prefix}-ovsnet"
    lab.networks.append(net)
    ladder(
        network,
        {
            "uri": URI,
            "name": net,
            "forward": {"mode": "bridge"},
            "bridge": {"name": ovs_bridge},
            "virtualport": "openvswitch",
            "portgroups": [{"name": "vlan10", "vlan": 10, "default": True}, {"name": "vlan20", "vlan": 20}],
        },
    )
    third = str(time.monotonic_ns() % 200 + 20)  # a private subnet per run: 10.99.<n>.0/24
    ip = {n: SUBNET.format(third, n) for n in (1, 2, 3, 4)}
    # (guest number, how its NIC is tagged, VLAN, peers it pings)
    layout = [
        (1, "tag", 10, (2, 3, 4)),
        (2, "portgroup", 10, (1,)),
        (3, "tag", 20, (4, 1)),
        (4, "portgroup", 20, (3, 1)),
    ]
    serials = {}
    for number, how, vlan, peers in layout:
        cmdline = f"sv_ip={ip[number]}/24 sv_ping={','.join(ip[p] for p in peers)}"
        params = guest_params(lab, f"{prefix}-g{number}", None, cmdline=cmdline, memory="160MiB", state="running")
        params["interfaces"] = [nic(ovs_bridge, net, how, vlan)]
        result = run_module(domain, params)
        assert not result.get("failed"), result.get("msg")
        serials[number] = serial_path_of(params)
    # Same VLAN: answers arrive, through direct tags and portgroups alike.
    for number, peer in ((1, 2), (2, 1), (3, 4), (4, 3)):
        wait_for_marker(serials[number], rf"SVKVM-PING {ip[peer]} ok", timeout=150)
    # Different VLANs: after the same-VLAN pings succeed, many more rounds pass and none gets through.
    time.sleep(10)
    for number, peer in ((1, 3), (1, 4), (3, 1), (4, 1)):
        log = serials[number].read_text(errors="replace")
        assert f"SVKVM-PING {ip[peer]} fail" in log and f"SVKVM-PING {ip[peer]} ok" not in log, (number, peer)

    info = run_module(bridge_info, {"name": ovs_bridge})
    ports = info["bridges"][0]["ports"]
    assert sorted(p.get("tag") for p in ports) == [10, 10, 20, 20]
    assert all(p["guest"] for p in ports)
    # The bridge declaration keeps the guests' ports, and removing the bridge needs force.
    kept = run_module(bridge, {"name": ovs_bridge, "type": "ovs", "purge_ports": True, "persist": "none"})
    assert kept["changed"] is False
    refused = run_module(bridge, {"name": ovs_bridge, "type": "ovs", "state": "absent", "persist": "none"})
    assert refused["failed"] is True and refused["consent_option"] == "force"


def test_ovs_port_tags_and_trunks_ladder(netns_veths: list[str], ovs_bridge: str) -> None:
    access, trunk = netns_veths
    params = {
        "name": ovs_bridge,
        "type": "ovs",
        "datapath_type": "netdev",
        "ports": [{"name": access, "tag": 10}, {"name": trunk, "trunks": [20, 10]}],
        "persist": "none",
    }
    results = ladder(bridge, params)
    assert results[0]["actions"][1:] == [
        f"add port {access} to bridge {ovs_bridge}",
        f"add port {trunk} to bridge {ovs_bridge}",
    ]
    ports = {p["name"]: p for p in results[2]["bridge"]["ports"]}
    assert ports[access]["tag"] == 10 and ports[trunk]["trunks"] == [10, 20]
    # Access becomes trunk and back: the other setting is cleared.
    swapped = dict(params, ports=[{"name": access, "trunks": [30]}, {"name": trunk, "tag": 20}])
    results = ladder(bridge, swapped)
    ports = {p["name"]: p for p in results[2]["bridge"]["ports"]}
    assert ports[access] == {"name": access, "trunks": [30], "guest": False}
    assert ports[trunk] == {"name": trunk, "tag": 20, "guest": False}
    gone = ladder(bridge, {"name": ovs_bridge, "type": "ovs", "state": "absent", "persist": "none"})
    assert gone[0]["actions"] == [f"delete Open vSwitch bridge {ovs_bridge}"]


@pytest.fixture
def netns_veths(prefix: str) -> t.Iterator[list[str]]:
    """Two veth pairs in the root namespace (OVS runs there); their names are unique to the test."""
    names = [f"{prefix[4:]}a", f"{prefix[4:]}b"]
    for name in names:
        subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p"], check=True)
    try:
        yield names
    finally:
        for name in names:
            subprocess.run(["ip", "link", "del", name], check=False, capture_output=True)
