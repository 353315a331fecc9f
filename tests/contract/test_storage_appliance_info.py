"""storage_appliance_info on libvirt's test:///default driver (which has no guest agent)."""

from __future__ import annotations

import typing as t

from testbed.modules import run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import storage_appliance_info

from .conftest import TEST_URI

# Nothing listens on port 1: a hypervisor that died, as a peer sees it.
DEAD_URI = "qemu+tcp://127.0.0.1:1/system"


def test_an_appliance_that_is_not_defined_is_reported_so(prefix: str) -> None:
    result = run_module(storage_appliance_info, {"uri": TEST_URI, "name": f"{prefix}-none"})
    assert not result.get("failed"), result.get("msg")
    assert result["appliance"] == {"name": f"{prefix}-none", "reachable": True, "defined": False, "running": False}
    assert result["changed"] is False


def test_a_running_domain_without_an_agent_reports_role_unknown_and_says_what_it_needs(test_conn: t.Any) -> None:
    assert test_conn.lookupByName("test").isActive()  # the driver's own running domain
    result = run_module(storage_appliance_info, {"uri": TEST_URI, "name": "test"})
    assert not result.get("failed"), result.get("msg")
    appliance = result["appliance"]
    assert appliance["running"] and appliance["role"] == "unknown" and appliance["degraded"] == []
    assert "needs the guest agent channel (guest_agent: true)" in appliance["reason"], appliance["reason"]


def test_an_unreachable_host_fails_unless_allowed_and_then_is_reported_unreachable() -> None:
    failed = run_module(storage_appliance_info, {"uri": DEAD_URI, "name": "sa", "connect_timeout": 5})
    assert failed.get("failed") and "127.0.0.1" in failed["msg"], failed
    allowed = run_module(
        storage_appliance_info, {"uri": DEAD_URI, "name": "sa", "connect_timeout": 5, "allow_unreachable": True}
    )
    assert not allowed.get("failed"), allowed.get("msg")
    assert allowed["appliance"]["reachable"] is False and allowed["appliance"]["reason"]
