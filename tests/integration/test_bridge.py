"""The bridge and bridge_info modules on real interfaces, inside network namespaces the tests create."""

from __future__ import annotations

import json
import os
import typing as t
from pathlib import Path

import pytest
from testbed.modules import ladder, run_module
from testbed.netns import NetNs

from ansible_collections.sharedvirt.kvm.plugins.modules import bridge, bridge_info


@pytest.fixture
def netns(prefix: str) -> t.Iterator[NetNs]:
    ns = NetNs(prefix)
    try:
        yield ns
    finally:
        ns.delete()


def links(ns: NetNs) -> dict[str, dict[str, t.Any]]:
    return {link["ifname"]: link for link in json.loads(ns.ip("-d", "-j", "link", "show"))}


def addresses(ns: NetNs, name: str) -> list[str]:
    found = json.loads(ns.ip("-j", "addr", "show", "dev", name))[0]["addr_info"]
    return sorted(f"{a['local']}/{a['prefixlen']}" for a in found if a.get("scope") == "global")


def test_linux_bridge_with_veth_and_tap_ports_ladder(netns: NetNs) -> None:
    netns.ip("link", "add", "v1", "type", "veth", "peer", "name", "v1p")
    netns.ip("tuntap", "add", "dev", "t1", "mode", "tap")
    params = {
        "name": "br0",
        "ports": ["v1", {"name": "t1", "cost": 7}],
        "stp": True,
        "forward_delay": 4,
        "mtu": 1400,
        "addresses": ["10.77.0.1/24"],
        "persist": "none",
    }
    with netns.inside():
        results = ladder(bridge, params)
    assert results[0]["actions"] == [
        "create Linux bridge br0",
        "add port v1 to bridge br0",
        "add port t1 to bridge br0",
        "set the MTU of bridge br0 to 1400",
        "add 10.77.0.1/24 on bridge br0",
    ]
    assert results[1]["diff"]["after"]["stp"] is True
    facts = results[2]["bridge"]
    assert [p["name"] for p in facts["ports"]] == ["t1", "v1"]
    assert facts["stp"] is True and facts["forward_delay"] == 4 and facts["mtu"] == 1400
    assert facts["addresses"] == ["10.77.0.1/24"]
    seen = links(netns)
    assert seen["br0"]["linkinfo"]["info_data"]["stp_state"] == 1
    assert seen["br0"]["linkinfo"]["info_data"]["forward_delay"] == 400
    assert seen["v1"]["master"] == "br0" and seen["t1"]["master"] == "br0"
    assert seen["t1"]["linkinfo"]["info_slave_data"]["cost"] == 7
    assert addresses(netns, "br0") == ["10.77.0.1/24"]

    # A change: STP off, an address replaced, a port's cost; then removal releases the ports.
    changed = dict(params, stp=False, addresses=["10.77.1.1/24"], ports=["v1", {"name": "t1", "cost": 9}])
    with netns.inside():
        results = ladder(bridge, changed)
        info = run_module(bridge_info, {"name": "br0"})
    assert results[0]["actions"] == [
        "set stp of bridge br0",
        "set cost of port t1 on bridge br0",
        "add 10.77.1.1/24 and remove 10.77.0.1/24 on bridge br0",
    ]
    assert info["bridges"][0]["stp"] is False and info["bridges"][0]["addresses"] == ["10.77.1.1/24"]
    with netns.inside():
        removed = ladder(bridge, {"name": "br0", "state": "absent", "persist": "none"})
    assert removed[0]["actions"] == ["delete Linux bridge br0"]
    seen = links(netns)
    assert "br0" not in seen and "master" not in seen["v1"] and "master" not in seen["t1"]


def test_purge_keeps_guest_taps(netns: NetNs) -> None:
    for name in ("v1", "v2"):
        netns.ip("link", "add", name, "type", "veth", "peer", "name", f"{name}p")
    with netns.inside():
        run_module(bridge, {"name": "br0", "ports": ["v1", "v2"], "persist": "none"})
    netns.ip("tuntap", "add", "dev", "vnet7", "mode", "tap")  # as libvirt adds a guest's NIC
    netns.ip("link", "set", "vnet7", "master", "br0")
    with netns.inside():
        results = ladder(bridge, {"name": "br0", "ports": ["v1"], "purge_ports": True, "persist": "none"})
        refused = run_module(bridge, {"name": "br0", "state": "absent", "persist": "none"})
    assert results[0]["actions"] == ["remove port v2 from bridge br0"]
    assert {p["name"]: p["guest"] for p in results[2]["bridge"]["ports"]} == {"v1": False, "vnet7": True}
    assert refused["failed"] is True and refused["consent_option"] == "force"
    assert "carries guests' ports vnet7" in refused["msg"]
    assert "br0" in links(netns)


def test_port_of_another_bridge_moves_only_with_steal(netns: NetNs) -> None:
    netns.ip("link", "add", "v1", "type", "veth", "peer", "name", "v1p")
    netns.ip("link", "add", "old0", "type", "bridge")
    netns.ip("link", "set", "v1", "master", "old0")
    with netns.inside():
        refused = run_module(bridge, {"name": "br0", "ports": ["v1"], "persist": "none"})
        before = links(netns)
        moved = ladder(bridge, {"name": "br0", "ports": ["v1"], "steal": True, "persist": "none"})
    assert refused["failed"] is True
    assert refused["msg"].startswith("bridge br0: port v1 belongs to bridge old0; set steal=true to move it")
    assert "br0" not in before and before["v1"]["master"] == "old0"
    assert moved[0]["actions"] == [
        "create Linux bridge br0",
        "take port v1 from bridge old0",
        "add port v1 to bridge br0",
    ]
    assert links(netns)["v1"]["master"] == "br0"


def test_management_address_moves_only_with_consent(netns: NetNs) -> None:
    netns.ip("link", "add", "eth9", "type", "veth", "peer", "name", "eth9p")
    netns.ip("addr", "add", "192.0.2.5/24", "dev", "eth9")
    netns.ip("link", "set", "eth9", "up")
    netns.ip("route", "add", "198.51.100.0/24", "via", "192.0.2.1", "dev", "eth9")
    params = {"name": "br0", "ports": ["eth9"], "persist": "none"}
    with netns.inside():
        refused = run_module(bridge, params)
    assert refused["failed"] is True and refused["consent_option"] == "move_addresses"
    assert "port eth9 carries the host's addresses 192.0.2.5/24" in refused["msg"]
    assert addresses(netns, "eth9") == ["192.0.2.5/24"] and "br0" not in links(netns)
    with netns.inside():
        results = ladder(bridge, dict(params, move_addresses=True))
    assert results[0]["actions"][1] == "move addresses 192.0.2.5/24 and their routes from eth9 to bridge br0"
    assert addresses(netns, "br0") == ["192.0.2.5/24"] and addresses(netns, "eth9") == []
    assert "198.51.100.0/24 via 192.0.2.1 dev br0" in netns.ip("route", "show")


@pytest.mark.parametrize(
    ("params", "option", "message"),
    [
        (
            {"name": "br0", "ports": [{"name": "v1", "vlan": 0}]},
            "ports[0].vlan",
            "ports[0].vlan: VLAN id 0 is not usable (0 means untagged); use 1-4094",
        ),
        (
            {"name": "br0", "ports": [{"name": "v1", "vlan": 4095}]},
            "ports[0].vlan",
            "ports[0].vlan: VLAN id 4095 is not usable (4095 is reserved by 802.1Q); use 1-4094",
        ),
        (
            {"name": "br-much-too-long0"},
            "name",
            "name: interface name 'br-much-too-long0' is 17 characters long; the limit is 15",
        ),
        (
            {"name": "br0", "ports": ["nosuch0"]},
            "ports[name=nosuch0]",
            "ports[name=nosuch0]: bridge br0: port nosuch0 does not exist on this host; create the interface first "
            "or fix the name",
        ),
        (
            {"name": "br0", "type": "ovs", "ports": [{"name": "v1", "vlan": 10}]},
            "ports[0].vlan",
            "ports[0].vlan: applies to Linux bridges only, not type=ovs (VLAN sub-interfaces need the kernel's 8021q; "
            "on OVS use tag or trunks)",
        ),
    ],
)
def test_bad_input_changes_nothing(netns: NetNs, params: dict[str, t.Any], option: str, message: str) -> None:
    netns.ip("link", "add", "v1", "type", "veth", "peer", "name", "v1p")
    before = sorted(links(netns))
    with netns.inside():
        result = run_module(bridge, dict(params, persist="none"))
    assert result["failed"] is True and result.get("option") == option, result
    assert result["msg"] == message
    assert sorted(links(netns)) == before


def kernel_has_8021q(ns: NetNs) -> bool:
    ns.ip("link", "add", "probe0", "type", "veth", "peer", "name", "probe1")
    try:
        ns.ip("link", "add", "link", "probe0", "name", "probe0.7", "type", "vlan", "id", "7")
    except Exception:
        return False
    finally:
        ns.ip("link", "del", "probe0")
    return True


def test_vlan_bridges_without_8021q_fail_clearly_and_change_nothing(netns: NetNs) -> None:
    if kernel_has_8021q(netns):
        pytest.skip("this kernel has 8021q; the real eth0.10 -> brvlan10 path runs in test_vlan_bridges_for_real")
    netns.ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
    before = netns.ip("-o", "link", "show")
    with netns.inside():
        result = run_module(
            bridge, {"name": "br0", "ports": ["eth0"], "vlans": {"uplink": "eth0", "ids": [10]}, "persist": "none"}
        )
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"] == (
        "create VLAN interface eth0.10 (VLAN 10 on eth0): this kernel has no 802.1Q VLAN support (8021q module); "
        "tag VLANs in an Open vSwitch bridge (type=ovs, ports with tag/trunks) instead"
    )
    assert netns.ip("-o", "link", "show") == before  # no bridge br0, no brvlan10: refused before the first step


def test_vlan_bridges_for_real(netns: NetNs) -> None:
    if not kernel_has_8021q(netns):
        pytest.skip(
            "this kernel has no 8021q (CONFIG_VLAN_8021Q unset): VLAN sub-interfaces cannot exist here; the "
            "eth0.10 -> brvlan10 plan is unit-tested and the refusal is tested above"
        )
    netns.ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
    params = {"name": "br0", "ports": ["eth0"], "vlans": {"uplink": "eth0", "ids": [10, 20]}, "persist": "none"}
    with netns.inside():
        results = ladder(bridge, params)
    seen = links(netns)
    assert seen["eth0.10"]["master"] == "brvlan10" and seen["eth0.20"]["master"] == "brvlan20"
    assert [b["name"] for b in results[2]["vlan_bridges"]] == ["brvlan10", "brvlan20"]
    with netns.inside():
        ladder(bridge, dict(params, state="absent"))
    assert not {"brvlan10", "eth0.10", "br0"} & set(links(netns))


@pytest.mark.parametrize("backend", ["ifupdown", "networkd"])
def test_persistence_files_follow_the_bridge(netns: NetNs, prefix: str, backend: str) -> None:
    name = f"b{prefix[4:]}"  # unique, so that parallel or earlier runs never share a file
    netns.ip("link", "add", "v1", "type", "veth", "peer", "name", "v1p")
    params = {"name": name, "ports": ["v1"], "stp": False, "addresses": ["10.78.0.1/24"], "persist": backend}
    directory = Path("/etc/network/interfaces.d" if backend == "ifupdown" else "/etc/systemd/network")
    before = set(os.listdir(directory)) if directory.exists() else set()
    try:
        with netns.inside():
            results = ladder(bridge, params)
        written = sorted(set(os.listdir(directory)) - before)
        if backend == "ifupdown":
            assert written == [f"sharedvirt-{name}"]
            text = (directory / written[0]).read_text()
            assert (
                f"iface {name} inet static\n    address 10.78.0.1/24\n    bridge_ports v1\n    bridge_stp off\n" in text
            )
        else:
            assert written == [
                f"60-sharedvirt-{name}-v1.network",
                f"60-sharedvirt-{name}.netdev",
                f"60-sharedvirt-{name}.network",
            ]
            assert "[Network]\nBridge=" + name in (directory / written[0]).read_text()
        assert results[2]["persist"] == backend
        assert [a for a in results[0]["actions"] if a.startswith("write ")] == [
            f"write {directory}/{w}" for w in written
        ]
        with netns.inside():
            removed = ladder(bridge, {"name": name, "state": "absent", "persist": backend})
        assert [a for a in removed[0]["actions"] if a.startswith("remove ")] == [
            f"remove {directory}/{w}" for w in written
        ]
        assert set(os.listdir(directory)) == before
    finally:
        for entry in set(os.listdir(directory)) - before if directory.exists() else ():
            (directory / entry).unlink()
