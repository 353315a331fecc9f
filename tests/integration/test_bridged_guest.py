"""The brief's network layout with a guest on it: a Linux bridge that the bridge module builds on this host,
with a veth uplink whose other end (a namespace) runs the site's DHCP server; a guest plugged into the bridge gets
its address from that server. (The VLAN step, eth0.10 -> brvlan10, needs 8021q: tested in test_bridge.py where
the kernel has it.)"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from testbed.dhcp import OutsideDhcp
from testbed.guest import free_subnet
from testbed.lab import Lab
from testbed.modules import ladder, run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import bridge


def test_a_guest_on_a_bridge_the_bridge_module_built_gets_dhcp_over_its_veth_uplink(lab: Lab) -> None:
    server = OutsideDhcp(lab.prefix, free_subnet(), make_bridge=False)
    try:
        params = {
            "name": server.bridge,
            "ports": [{"name": server.uplink}],
            "addresses": [f"{server.host_address}/{server.subnet.prefixlen}"],
            "stp": False,
            "persist": "none",
        }
        steps = ladder(bridge, params)
        assert {p["name"] for p in steps[2]["bridge"]["ports"]} == {server.uplink}
        guest = lab.guest("br", bridges=[server.bridge], wait_ready=False)
        address = guest.wait_for(r"SVKVM-IP eth0 \S+").split()[-1]
        low, high = (ipaddress.IPv4Address(a) for a in server.pool)
        assert low <= ipaddress.IPv4Address(address.split("/")[0]) <= high  # from the namespace's server
        assert guest.macs[0] in server.leases()
        ports = run_module(bridge, params)["bridge"]["ports"]
        assert {p["name"]: p["guest"] for p in ports}[guest.dom.XMLDesc(0).split("<target dev='")[1].split("'")[0]]
    finally:
        server.stop()


def kernel_has_8021q() -> bool:
    return Path("/proc/net/vlan").exists() or Path("/sys/module/8021q").exists()


@pytest.mark.skipif(
    not kernel_has_8021q(),
    reason="this kernel has no 8021q (CONFIG_VLAN_8021Q unset): no eth0.10 -> brvlan10 here; the untagged layout "
    "above runs, the VLAN plan is unit-tested and its refusal is tested in test_bridge.py",
)
def test_a_guest_on_brvlan10_gets_dhcp_from_vlan_10_of_the_uplink(lab: Lab) -> None:
    server = OutsideDhcp(lab.prefix, free_subnet(), make_bridge=False, vlan=10)
    params = {
        "name": server.bridge,
        "ports": [{"name": server.uplink}],
        "vlans": {"uplink": server.uplink, "ids": [10], "bridge_name": f"{lab.prefix[4:]}v{{vlan}}"},
        "persist": "none",
    }
    try:
        made = run_module(bridge, params)
        assert not made.get("failed"), made.get("msg")
        (vlan_bridge,) = [b["name"] for b in made["vlan_bridges"]]
        guest = lab.guest("vl", bridges=[vlan_bridge], wait_ready=False)
        address = guest.wait_for(r"SVKVM-IP eth0 \S+").split()[-1]
        low, high = (ipaddress.IPv4Address(a) for a in server.pool)
        assert low <= ipaddress.IPv4Address(address.split("/")[0]) <= high  # tagged 10 on the uplink, both ways
        assert guest.macs[0] in server.leases()
    finally:
        run_module(bridge, dict(params, state="absent"))
        server.stop()
