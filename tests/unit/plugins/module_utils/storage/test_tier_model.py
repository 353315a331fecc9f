from __future__ import annotations

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.plan import Plan
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.tier_model import plan_tier, read_tiers, tiers_xml


def test_labels_round_trip_through_the_carrier_network() -> None:
    assert read_tiers(tiers_xml({"fast": "ssd", "slow": "archive"})) == {"fast": "ssd", "slow": "archive"}
    assert read_tiers("<network><name>x</name></network>") == {}


def actions(wanted: str | None, current: str | None) -> list[str]:
    plan = Plan("pool", "fast")
    plan_tier(plan, "fast", wanted, current)
    return plan.actions


def test_a_label_is_set_changed_taken_off_or_left_alone() -> None:
    assert actions("ssd", None) == ["label pool fast as tier 'ssd'"]
    assert actions("ssd", "ssd") == [] and actions(None, "ssd") == [] and actions("", None) == []
    assert actions("", "ssd") == ["remove the tier label of pool fast"]
