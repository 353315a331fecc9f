from __future__ import annotations

import pytest
from testbed.figures import GIB, HV1, HV2, HV3, recorded_hosts

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils.placement.model import Capacity, GuestLoad, HostLoad
from ansible_collections.sharedvirt.kvm.plugins.module_utils.placement.rebalance_plan import (
    Move,
    Spread,
    plan_rebalance,
    violations,
)

PERCENT_MEMORY = [Spread.parse("memory", "25%", "memory_spread")]
ABSOLUTE = [Spread.parse("memory", "8GiB", "memory_spread"), Spread.parse("vcpus", "4", "cpu_spread")]


def moves(plan: object) -> list[tuple[str, str, str]]:
    return [(m.domain, m.source, m.destination) for m in plan.moves]  # type: ignore[attr-defined]


def test_spread_options() -> None:
    assert Spread.parse("memory", "10%", "m") == Spread("memory", 10.0, True)
    assert Spread.parse("memory", "2GiB", "m") == Spread("memory", 2.0 * GIB, False)
    assert Spread.parse("vcpus", " 4 ", "c") == Spread("vcpus", 4.0, False)
    with pytest.raises(SpecError, match=r"^cpu_spread: 'many' is neither a number of vCPUs nor a percentage"):
        Spread.parse("vcpus", "many", "cpu_spread")
    with pytest.raises(SpecError, match=r"^memory_spread: '0%' must be more than zero$"):
        Spread.parse("memory", "0%", "memory_spread")
    with pytest.raises(SpecError, match=r"^memory_spread: 'lots' is not a size"):
        Spread.parse("memory", "lots", "memory_spread")


def test_loaded_host_sheds_groups_first_then_memory() -> None:
    hosts = recorded_hosts()
    assert violations(hosts) == 2  # db1+db2 and web1+web2 on hv1
    plan = plan_rebalance(hosts, PERCENT_MEMORY, Capacity(), max_migrations=10)
    # db1 and web1 leave their group mate; web1 cannot go to hv2 (web3 is there); then cache1 evens memory out.
    assert moves(plan) == [("db1", HV1, HV3), ("web1", HV1, HV3), ("cache1", HV1, HV2)]
    assert plan.before["spread"] == {"memory": "65.6%"} and plan.before["anti_affinity_violations"] == 2
    assert plan.after["spread"] == {"memory": "15.6%"} and plan.after["anti_affinity_violations"] == 0
    assert plan.after["hosts"][HV3]["running"] == ["db1", "web1"]
    assert plan.balanced and plan.reason == "within the spread"
    assert plan.moves[0] == Move("db1", HV1, HV3, 8 * GIB, 4)


def test_absolute_limits_on_both_resources() -> None:
    plan = plan_rebalance(recorded_hosts(), ABSOLUTE, Capacity(), max_migrations=10)
    assert moves(plan) == [("db1", HV1, HV3), ("web1", HV1, HV3), ("cache1", HV1, HV2), ("mon1", HV2, HV3)]
    assert plan.before["spread"] == {"memory": "43008 MiB", "vcpus": "17 vCPUs"}
    assert plan.after["spread"] == {"memory": "6144 MiB", "vcpus": "1 vCPUs"}


def test_balanced_hosts_plan_nothing_so_a_rerun_is_idempotent() -> None:
    first = plan_rebalance(recorded_hosts(), PERCENT_MEMORY, Capacity(), max_migrations=10)
    hosts = recorded_hosts()
    for move in first.moves:
        guest = next(g for h in hosts for g in h.guests if g.name == move.domain)
        next(h for h in hosts if h.name == move.source).guests.remove(guest)
        next(h for h in hosts if h.name == move.destination).guests.append(guest)
    again = plan_rebalance(hosts, PERCENT_MEMORY, Capacity(), max_migrations=10)
    assert again.moves == [] and again.balanced and again.before == again.after


def test_stopped_transient_and_pinned_domains_stay() -> None:
    plan = plan_rebalance(recorded_hosts(), PERCENT_MEMORY, Capacity(), max_migrations=10, pinned={"db1", "cache1"})
    moved = [m.domain for m in plan.moves]
    assert "db1" not in moved and "cache1" not in moved
    assert "build1" not in moved and "scratch" not in moved  # stopped; transient
    assert moved[0] == "db2"  # the group is still split, by its other member


def test_max_migrations_stops_early_and_says_so() -> None:
    plan = plan_rebalance(recorded_hosts(), PERCENT_MEMORY, Capacity(), max_migrations=1)
    assert moves(plan) == [("db1", HV1, HV3)]
    assert not plan.balanced and plan.reason == "stopped after max_migrations (1)"


def test_nothing_helps() -> None:
    # One big guest: moving it only swaps which host is loaded.
    hosts = [
        HostLoad("a", 16 * GIB, 4, 8 * GIB, [GuestLoad("big", 8 * GIB, 2)]),
        HostLoad("b", 16 * GIB, 4, 16 * GIB, []),
    ]
    plan = plan_rebalance(hosts, PERCENT_MEMORY, Capacity(), max_migrations=10)
    assert plan.moves == [] and not plan.balanced
    assert plan.reason == "no migration of a movable domain narrows the spread further"


def test_capacity_limits_the_destinations() -> None:
    hosts = [
        HostLoad("a", 16 * GIB, 4, 8 * GIB, [GuestLoad("g1", 4 * GIB, 2), GuestLoad("g2", 4 * GIB, 2)]),
        HostLoad("b", 4 * GIB, 4, 4 * GIB, []),  # 4 GiB - 1 reserved: g1 does not fit
    ]
    plan = plan_rebalance(hosts, [Spread.parse("memory", "1GiB", "m")], Capacity(), max_migrations=10)
    assert plan.moves == [] and not plan.balanced


def test_needs_two_hypervisors() -> None:
    with pytest.raises(SpecError, match="^hypervisors: rebalancing needs at least two hypervisors$"):
        plan_rebalance(recorded_hosts()[:1], PERCENT_MEMORY, Capacity(), max_migrations=1)
