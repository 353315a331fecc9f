from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import ConflictError, UnsafeOperation
from ansible_collections.sharedvirt.kvm.plugins.module_utils.network.model import NetworkSpec
from ansible_collections.sharedvirt.kvm.plugins.module_utils.network.plan import (
    NetworkActual,
    NetworkRequest,
    plan_network,
)

BASE = {
    "name": "lab",
    "forward": {"mode": "none"},
    "ips": [{"address": "10.5.0.1", "prefix": 24, "dhcp_ranges": [{"start": "10.5.0.100", "end": "10.5.0.199"}]}],
}


def spec(**changes: object) -> NetworkSpec:
    return NetworkSpec.from_params({**BASE, **changes})


def running(current: NetworkSpec, **extra: object) -> NetworkActual:
    return NetworkActual(config=current, config_xml=current.to_xml(), live=current, active=True, **extra)  # type: ignore[arg-type]


def with_host(mac: str, ip: str) -> dict[str, object]:
    ips = [dict(BASE["ips"][0], dhcp_hosts=[{"mac": mac, "ip": ip}])]  # type: ignore[index]
    return {"ips": ips}


def test_new_network_is_defined_and_started() -> None:
    plan = plan_network(spec(), NetworkRequest(), NetworkActual())
    assert plan.actions == ["define network lab", "start network lab"]
    assert [s.op for s in plan.steps] == ["define", "start"]


def test_dhcp_host_goes_live_without_restart() -> None:
    plan = plan_network(spec(**with_host("52-54-00-AA-BB-CC", "10.5.0.9")), NetworkRequest(), running(spec()))
    assert plan.actions == [
        "update network lab: ips[address=10.5.0.1].dhcp_hosts[mac=52:54:00:aa:bb:cc]",
        "add DHCP host mac=52:54:00:aa:bb:cc (10.5.0.9) on running network lab",
    ]
    update = plan.steps[1]
    assert update.op == "update" and update.args["section"] == "ip-dhcp-host" and update.args["parent_index"] == 0
    assert "52:54:00:aa:bb:cc" in update.args["xml"]
    assert plan.reboot_required is False


def test_changed_reservation_is_modified_and_removed_one_deleted() -> None:
    current = spec(**with_host("52:54:00:aa:bb:cc", "10.5.0.9"))
    moved = plan_network(spec(**with_host("52:54:00:aa:bb:cc", "10.5.0.10")), NetworkRequest(), running(current))
    assert moved.actions[1] == "change DHCP host mac=52:54:00:aa:bb:cc (10.5.0.10) on running network lab"
    emptied = dict(BASE["ips"][0], dhcp_hosts=[])  # type: ignore[index]
    removed = plan_network(spec(ips=[emptied]), NetworkRequest(), running(current))
    assert removed.actions[1] == "remove DHCP host mac=52:54:00:aa:bb:cc (10.5.0.9) on running network lab"


def test_dns_host_change_is_delete_then_add() -> None:
    current = spec(dns_hosts=[{"ip": "10.5.0.5", "hostnames": ["nas"]}])
    plan = plan_network(
        spec(dns_hosts=[{"ip": "10.5.0.5", "hostnames": ["nas", "files"]}]), NetworkRequest(), running(current)
    )
    assert [(s.args["command"], s.args["section"]) for s in plan.steps if s.op == "update"] == [
        ("delete", "dns-host"),
        ("add", "dns-host"),
    ]


def test_other_change_is_pending_or_restarts() -> None:
    wider = spec(mtu=9000)
    pending = plan_network(wider, NetworkRequest(), running(spec()))
    assert pending.actions == ["update network lab: mtu"] and pending.reboot_required
    assert pending.after is not None and pending.after["restart_pending"] == ["mtu"]
    restarted = plan_network(wider, NetworkRequest(restart=True), running(spec()))
    assert restarted.actions == ["update network lab: mtu", "restart network lab to apply mtu"]
    assert not restarted.reboot_required


def test_pending_restart_stays_reported_without_a_change() -> None:
    actual = NetworkActual(config=spec(mtu=9000), config_xml=spec(mtu=9000).to_xml(), live=spec(), active=True)
    plan = plan_network(spec(mtu=9000), NetworkRequest(), actual)
    assert plan.actions == [] and plan.reboot_required and plan.warnings


def test_overlap_is_refused() -> None:
    with pytest.raises(ConflictError, match="10.5.0.0/24 overlaps 10.5.0.128/25 of the active network other"):
        plan_network(spec(), NetworkRequest(), NetworkActual(others={"other": ["10.5.0.128/25"]}))


def test_users_block_stop_and_removal_without_force() -> None:
    actual = running(spec(), users=["vm1"])
    with pytest.raises(UnsafeOperation, match="carries running domains vm1"):
        plan_network(spec(), NetworkRequest(state="absent"), actual)
    with pytest.raises(UnsafeOperation):
        plan_network(spec(), NetworkRequest(state="inactive"), actual)
    forced = plan_network(spec(), NetworkRequest(state="absent", force=True), actual)
    assert forced.actions == ["stop network lab", "undefine network lab"]
