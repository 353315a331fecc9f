from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import ConflictError
from ansible_collections.sharedvirt.kvm.plugins.module_utils.disk_move.model import DiskAt, MoveRecord
from ansible_collections.sharedvirt.kvm.plugins.module_utils.disk_move.plan import Destination, MoveRequest, plan_move

DISK = DiskAt("vda", "file", "/slow/web1.qcow2", "qcow2", pool="slow", volume="web1.qcow2", capacity=64, allocation=8)
FAST = Destination("fast", available=1000, volume="web1-vda.raw", format="raw")
RUNNING = MoveRequest("web1", running=True, bandwidth=20, timeout=60)
STOPPED = MoveRequest("web1", running=False)


def ops(plan: object) -> list[str]:
    return [step.op for step in plan.steps]  # type: ignore[attr-defined]


def test_a_running_domain_is_copied_live_then_pointed_at_the_copy() -> None:
    plan = plan_move(RUNNING, DISK, FAST, None)
    assert ops(plan) == ["record", "create", "copy_live", "point", "forget"]
    assert plan.actions[2] == (
        "copy web1/vda live into fast/web1-vda.raw (at most 20 MiB/s, within 60 s) and switch the running guest over "
        "once the copy is in step"
    )
    assert (plan.before, plan.after) == (
        {"location": "slow/web1.qcow2", "format": "qcow2"},
        {"location": "fast/web1-vda.raw", "format": "raw"},
    )


def test_a_stopped_domain_gets_a_volume_copy() -> None:
    assert ops(plan_move(STOPPED, DISK, FAST, None)) == ["record", "copy_stopped", "point", "forget"]


def test_there_already_is_no_change_and_a_record_left_after_the_switch_is_finished() -> None:
    moved = DiskAt("vda", "volume", "", "raw", pool="fast", volume="web1-vda.raw", capacity=64)
    assert plan_move(RUNNING, moved, FAST, None).actions == []
    left = MoveRecord("vda", "fast", "web1-vda.raw", "slow", "web1.qcow2")
    assert ops(plan_move(RUNNING, moved, FAST, left)) == ["forget"]
    removing = MoveRequest("web1", running=True, remove_source=True)
    assert ops(plan_move(removing, moved, FAST, left)) == ["remove_source", "forget"]
    with pytest.raises(ConflictError, match=r"still used by domain web2 \(vda\); the disk moved, its old volume stays"):
        plan_move(removing, moved, FAST, left, users=["domain web2 (vda)"])


def test_an_earlier_killed_move_is_cleaned_up_first_and_its_volume_may_be_reused() -> None:
    left = MoveRecord("vda", "fast", "web1-vda.raw", "slow", "web1.qcow2")
    plan = plan_move(RUNNING, DISK, Destination("fast", 1000, "web1-vda.raw", "raw", exists=True), left)
    assert ops(plan) == ["clean_up", "record", "create", "copy_live", "point", "forget"]
    assert plan.steps[0].args == {
        "target": "vda", "pool": "fast", "volume": "web1-vda.raw", "source_pool": "slow", "source_volume": "web1.qcow2",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("disk", "dest", "message"),
    [
        (DiskAt("vdb", "file", "/s/q.raw", "raw", shareable=True), FAST, "disk web1/vdb is shareable"),
        (DISK, Destination("fast", 1000, "taken.raw", "raw", exists=True), "volume fast/taken.raw exists already"),
        (DISK, Destination("fast", 4, "web1-vda.raw", "raw"), "pool fast has 4 bytes free, and web1/vda holds 8 bytes"),
        (DiskAt("hdc", "file", "/iso/x.iso", "raw", device="cdrom"), FAST, "web1/hdc is a cdrom, not a disk"),
    ],
)
def test_refusals_change_nothing(disk: DiskAt, dest: Destination, message: str) -> None:
    with pytest.raises(ConflictError, match=message):
        plan_move(RUNNING, disk, dest, None)
