"""Bridge planning from recorded host snapshots: the netlink/OVSDB steps, refusals and files."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import (
    ConflictError,
    SpecError,
    UnsafeOperation,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.bridge.host_model import (
    HostLink,
    HostNet,
    OvsBridge,
    OvsPort,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.bridge.module import desired_bridges
from ansible_collections.sharedvirt.kvm.plugins.module_utils.bridge.netlink import (
    NetlinkFailure,
    explain,
    kernel_bridge_attrs,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.bridge.ovs import decode
from ansible_collections.sharedvirt.kvm.plugins.module_utils.bridge.plan import BridgeRequest, plan_bridges


def host(*links: HostLink, ovs: dict[str, OvsBridge] | None = None) -> HostNet:
    return HostNet(links={link.name: link for link in links}, ovs=ovs)


def plan(params: dict[str, t.Any], snapshot: HostNet, **request: t.Any) -> t.Any:
    defaults = {"type": "linux", "vlan_interface_name": "{parent}.{vlan}"}
    return plan_bridges(desired_bridges({**defaults, **params}), BridgeRequest(**request), snapshot)


def test_vlan_sub_interfaces_plan_on_eth0() -> None:
    # The brief's layout, eth0.10 -> brvlan10; this kernel has no 8021q, so the plan is what is proven here.
    result, facts = plan(
        {"name": "br0", "ports": ["eth0"], "vlans": {"uplink": "eth0", "ids": [10, 20]}}, host(HostLink("eth0"))
    )
    steps = [(s.op, s.args.get("name") or s.args.get("port")) for s in result.steps]
    assert steps == [
        ("bridge_add", "br0"),
        ("enslave", "eth0"),
        ("bridge_add", "brvlan10"),
        ("vlan_add", "eth0.10"),
        ("enslave", "eth0.10"),
        ("bridge_add", "brvlan20"),
        ("vlan_add", "eth0.20"),
        ("enslave", "eth0.20"),
    ]
    assert result.steps[3].args == {"name": "eth0.10", "parent": "eth0", "vlan": 10}
    assert [f["name"] for f in facts] == ["br0", "brvlan10", "brvlan20"]


def test_vlan_plan_is_idempotent_on_a_host_that_has_it() -> None:
    snapshot = host(
        HostLink("eth0", master="br0"),
        HostLink("br0", kind="bridge", up=True),
        HostLink("brvlan10", kind="bridge", up=True),
        HostLink("eth0.10", kind="vlan", master="brvlan10", vlan=("eth0", 10)),
    )
    result, _facts = plan({"name": "br0", "ports": ["eth0"], "vlans": {"uplink": "eth0", "ids": [10]}}, snapshot)
    assert result.actions == []


def test_naming_patterns_and_the_15_character_limit() -> None:
    result, _facts = plan(
        {
            "name": "br0",
            "vlan_interface_name": "v{vlan}",
            "vlans": {"uplink": "eth0", "ids": [7], "bridge_name": "lan{vlan}"},
        },
        host(HostLink("eth0")),
    )
    assert (
        "create VLAN interface v7 (VLAN 7 on eth0)" in result.actions and "create Linux bridge lan7" in result.actions
    )
    with pytest.raises(SpecError, match="longer than the kernel's 15-character limit"):
        plan({"name": "br0", "vlans": {"uplink": "enp0s31f6xy", "ids": [1000]}}, host(HostLink("enp0s31f6xy")))


def test_vlan_aware_bridge_plan() -> None:
    params = {
        "name": "br0",
        "vlan_filtering": True,
        "default_pvid": 1,
        "ports": [{"name": "eth0", "vids": [10, 20]}, {"name": "tap1", "pvid": 10}],
    }
    result, _facts = plan(params, host(HostLink("eth0"), HostLink("tap1", kind="tun")))
    assert result.steps[0].args["attrs"] == {"vlan_filtering": True, "default_pvid": 1}
    assert kernel_bridge_attrs(result.steps[0].args["attrs"]) == {"br_vlan_filtering": 1, "br_vlan_default_pvid": 1}
    port_sets = [s.args for s in result.steps if s.op == "port_set"]
    assert port_sets == [
        {"port": "eth0", "attrs": {"vids": [10, 20]}, "before": {}},
        {"port": "tap1", "attrs": {"pvid": 10}, "before": {}},
    ]
    with pytest.raises(SpecError, match="need a VLAN-aware bridge"):
        plan({"name": "br0", "ports": [{"name": "eth0", "pvid": 10}]}, host(HostLink("eth0")))


def test_seconds_become_centiseconds() -> None:
    assert kernel_bridge_attrs({"stp": True, "forward_delay": 4}) == {"br_stp_state": 1, "br_forward_delay": 400}


def test_refusals() -> None:
    with pytest.raises(ConflictError, match="exists already and is not a linux bridge"):
        plan({"name": "eth0"}, host(HostLink("eth0")))
    with pytest.raises(ConflictError, match="is a linux bridge, not ovs"):
        plan(
            {"name": "br0", "type": "ovs"},
            host(HostLink("br0", kind="bridge")),
        )
    with pytest.raises(SpecError, match="Open vSwitch is not running"):
        plan({"name": "ovs0", "type": "ovs"}, host())
    with pytest.raises(ConflictError, match="port eth0 belongs to bridge ovs0"):
        plan(
            {"name": "br0", "ports": ["eth0"]},
            host(HostLink("eth0"), ovs={"ovs0": OvsBridge("ovs0", ports={"eth0": OvsPort("eth0")})}),
        )
    with pytest.raises(UnsafeOperation, match="carries the host's addresses 10.0.0.5/24"):
        plan({"name": "br0", "ports": ["eth0"]}, host(HostLink("eth0", addresses=["10.0.0.5/24"])))


def test_moved_addresses_persist_on_the_bridge() -> None:
    result, _facts = plan(
        {"name": "br0", "ports": ["eth0"]},
        host(HostLink("eth0", addresses=["10.0.0.5/24"])),
        move_addresses=True,
        persist="ifupdown",
    )
    text = next(s.args["content"] for s in result.steps if s.op == "write_file")
    assert "iface br0 inet static\n    address 10.0.0.5/24\n    bridge_ports eth0\n" in text


def test_ovs_plan_and_guest_ports() -> None:
    ovs = {
        "ovs0": OvsBridge(
            "ovs0", datapath_type="netdev", ports={"vnet3": OvsPort("vnet3", tag=10, guest=True), "old": OvsPort("old")}
        )
    }
    snapshot = host(HostLink("ovs0", kind="openvswitch"), HostLink("eth1"), HostLink("old"), ovs=ovs)
    result, facts = plan(
        {"name": "ovs0", "type": "ovs", "ports": [{"name": "eth1", "trunks": [10, 20]}]}, snapshot, purge_ports=True
    )
    assert result.actions == ["add port eth1 to bridge ovs0", "remove port old from bridge ovs0"]
    assert {p["name"]: p["guest"] for p in facts[0]["ports"]} == {"eth1": False, "vnet3": True}
    with pytest.raises(UnsafeOperation, match="carries guests' ports vnet3"):
        plan({"name": "ovs0", "type": "ovs"}, snapshot, state="absent")


def test_persistence_backends() -> None:
    snapshot = host(HostLink("eth0"))
    params = {
        "name": "br0",
        "ports": ["eth0", {"name": "eth0", "vlan": 10}],
        "stp": True,
        "addresses": ["10.0.0.1/24", "fd00::1/64"],
    }
    files = {}
    for backend in ("ifupdown", "networkd", "networkmanager"):
        result, _facts = plan(params, snapshot, persist=backend)
        files[backend] = {s.args["path"]: s.args["content"] for s in result.steps if s.op == "write_file"}
    assert sorted(files["ifupdown"]) == ["/etc/network/interfaces.d/sharedvirt-br0"]
    assert (
        "iface eth0.10 inet manual\n    vlan-raw-device eth0"
        in files["ifupdown"]["/etc/network/interfaces.d/sharedvirt-br0"]
    )
    assert sorted(files["networkd"]) == [
        "/etc/systemd/network/60-sharedvirt-br0-eth0.10.netdev",
        "/etc/systemd/network/60-sharedvirt-br0-eth0.10.network",
        "/etc/systemd/network/60-sharedvirt-br0-eth0.network",
        "/etc/systemd/network/60-sharedvirt-br0.netdev",
        "/etc/systemd/network/60-sharedvirt-br0.network",
    ]
    assert "[VLAN]\nId=10" in files["networkd"]["/etc/systemd/network/60-sharedvirt-br0-eth0.10.netdev"]
    nm = files["networkmanager"]
    bridge_file = nm["/etc/NetworkManager/system-connections/sharedvirt-br0.nmconnection"]
    assert (
        "[bridge]\nstp=true" in bridge_file
        and "address1=10.0.0.1/24" in bridge_file
        and "address1=fd00::1/64" in bridge_file
    )
    vlan_file = nm["/etc/NetworkManager/system-connections/sharedvirt-br0-eth0.10.nmconnection"]
    assert "type=vlan" in vlan_file and "[vlan]\nparent=eth0\nid=10" in vlan_file and "master=br0" in vlan_file


def test_unchanged_files_are_not_rewritten_and_stale_ones_removed() -> None:
    snapshot = host(HostLink("br0", kind="bridge", up=True))
    first, _facts = plan({"name": "br0"}, snapshot, persist="ifupdown")
    path = "/etc/network/interfaces.d/sharedvirt-br0"
    content = next(s.args["content"] for s in first.steps if s.op == "write_file")
    snapshot.files = {path: content, "/etc/network/interfaces.d/sharedvirt-br0-old": "# stale"}
    again, _facts = plan({"name": "br0"}, snapshot, persist="ifupdown")
    assert again.actions == ["remove /etc/network/interfaces.d/sharedvirt-br0-old"]


def test_kernel_refusals_are_explained() -> None:
    err = type("E", (Exception,), {"code": 95})()
    assert "no 802.1Q VLAN support" in explain(err, "create VLAN interface eth0.10 (VLAN 10 on eth0)").message
    assert "CONFIG_BRIDGE_VLAN_FILTERING" in explain(err, "set vlan_filtering of bridge br0").message
    perm = type("E", (Exception,), {"code": 1})()
    assert isinstance(explain(perm, "x"), NetlinkFailure) and "become=true" in explain(perm, "x").message


def test_ovsdb_json_values() -> None:
    assert decode(["set", []]) == [] and decode(["uuid", "u1"]) == "u1"
    assert decode(["map", [["vm-id", ["uuid", "x"]]]]) == {"vm-id": "x"} and decode(10) == 10
