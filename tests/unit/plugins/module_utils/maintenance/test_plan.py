from __future__ import annotations

import re

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import ConflictError, SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.cluster_model import ClusterPolicy, Origin
from ansible_collections.sharedvirt.kvm.plugins.module_utils.maintenance.plan import (
    Drained,
    HostMove,
    check_hosts,
    plan_drain,
    plan_restore,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.placement.model import Capacity, GuestLoad, HostLoad

A, B, C = "qemu+tcp://a/system", "qemu+tcp://b/system", "qemu+tcp://c/system"
MIB, GIB = 2**20, 2**30
CAPACITY = Capacity(reserve_memory=0)


def host(uri: str, *guests: GuestLoad, maintenance: str | None = None) -> HostLoad:
    return HostLoad(uri, 4 * GIB, 4, 4 * GIB, list(guests), maintenance)


def vm(name: str, memory: int = 512 * MIB, group: str | None = None, active: bool = True) -> GuestLoad:
    return GuestLoad(name, memory, 1, group, active)


def test_a_drain_marks_first_and_spreads_the_group_over_the_others() -> None:
    drained = host(A, vm("db1", group="db"), vm("db2", group="db"), vm("batch"), vm("off", active=False))
    policies = {"batch": ClusterPolicy(maintenance_policy="shutdown"), "db2": ClusterPolicy(priority=90)}
    plan = plan_drain(drained, [host(B), host(C)], policies, CAPACITY)
    assert plan.actions == [
        f"mark {A} in maintenance",
        f"live-migrate db2 from {A} to {B}",  # highest priority first
        f"shut down batch on {A}",
        f"live-migrate db1 from {A} to {C}",  # not next to db2: anti-affinity
    ]
    assert plan.changed and "off" not in [m.domain for m in plan.moves]


def test_a_drained_host_has_nothing_left_to_do() -> None:
    plan = plan_drain(host(A, vm("off", active=False), maintenance="in maintenance"), [host(B)], {}, CAPACITY)
    assert plan.actions == [] and plan.changed is False


def test_every_vm_that_cannot_go_is_named_and_nothing_moves() -> None:
    drained = host(A, vm("huge", memory=8 * GIB), vm("pinned"), vm("fine"))
    with pytest.raises(ConflictError) as refused:
        plan_drain(drained, [host(B)], {"pinned": ClusterPolicy(maintenance_policy="stay")}, CAPACITY)
    message = str(refused.value)
    assert message.startswith(f"cannot drain {A}, nothing was moved: ")
    assert "no hypervisor can take domain 'huge'" in message
    assert "pinned has maintenance_policy stay (set force to drain the others around it)" in message
    forced = plan_drain(drained.without("huge"), [host(B)], {"pinned": ClusterPolicy(maintenance_policy="stay")},
                        CAPACITY, force=True)  # fmt: skip
    assert [(m.domain, m.action) for m in forced.moves] == [("fine", "migrate"), ("pinned", "stay")]
    assert "leave pinned" not in " ".join(forced.actions)


def test_hosts_in_maintenance_take_nothing_and_the_last_one_in_service_is_kept() -> None:
    plan = plan_drain(host(A, vm("web")), [host(B, maintenance="in maintenance"), host(C)], {}, CAPACITY)
    assert [m.destination for m in plan.moves] == [C]
    with pytest.raises(ConflictError, match=f"^{re.escape(A)} is the last hypervisor in service"):
        plan_drain(host(A, vm("web")), [host(B, maintenance="in maintenance since x")], {}, CAPACITY)
    with pytest.raises(SpecError, match="^host: qemu:///x is not one of hypervisors"):
        check_hosts("qemu:///x", [A, B])


def test_a_restore_brings_back_what_the_drain_took_and_forgets_the_rest() -> None:
    gone = [
        Drained("db1", Origin(A, "migrated"), B, True),
        Drained("batch", Origin(A, "shutdown"), A, False),
        Drained("stopped", Origin(A, "migrated"), C, False),
        Drained("elsewhere", Origin(C, "migrated"), B, True),  # another host's drain: not this one's
    ]
    plan = plan_restore(host(A, maintenance="in maintenance"), gone, restore=True)
    assert plan.moves == [
        HostMove("batch", "start", A),
        HostMove("db1", "migrate", B, A),
        HostMove("stopped", "forget", C),
    ]
    assert plan.actions[-1] == f"put {A} back in service"
    assert plan_restore(host(A, maintenance="x"), gone, restore=False).moves == []
    assert plan_restore(host(A), [], restore=True).changed is False
