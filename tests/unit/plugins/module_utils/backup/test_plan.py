from __future__ import annotations

import dataclasses
import datetime

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import (
    ConflictError,
    SpecError,
    UnsafeOperation,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.backup.model import DiskBackup, Point, chain_to
from ansible_collections.sharedvirt.kvm.plugins.module_utils.backup.plan import BackupRequest, plan_backup
from ansible_collections.sharedvirt.kvm.plugins.module_utils.backup.restore_plan import (
    RestoreRequest,
    chosen_point,
    plan_restore,
)

NOW = datetime.datetime(2026, 12, 2, 3, 0, tzinfo=datetime.timezone.utc)
REQUEST = BackupRequest(
    "db1", "/b/db1", (("vda", "qcow2"),), running=True, agent=False, checkpoints=frozenset(), now=NOW
)


def point(pid: str, kind: str = "full", parent: str = "", hours: int = 1) -> Point:
    time = (NOW - datetime.timedelta(hours=hours)).isoformat()
    return Point(pid, kind, time, (DiskBackup("vda", f"{pid}.vda.qcow2"),), parent, checkpoint=True)


def test_the_first_backup_is_full_and_the_next_incremental_from_its_checkpoint() -> None:
    first = plan_backup(REQUEST, [])
    assert first.actions == ["back up db1 (full; no earlier restore point): vda into /b/db1"]
    older = point("20261202T020000Z")
    second = plan_backup(dataclasses.replace(REQUEST, checkpoints=frozenset({older.id}), agent=True), [older])
    assert [s.op for s in second.steps] == ["backup", "uncheckpoint"]
    assert second.actions[0] == (
        "back up db1 (incremental since 20261202T020000Z): vda into /b/db1 (quiesced through the guest agent)"
    )
    assert second.steps[0].args["parent"] == older.id and second.steps[1].args == {"names": [older.id]}


def test_raw_disks_and_lost_checkpoints_fall_back_to_full_and_say_why() -> None:
    older = point("20261202T020000Z")
    raw = dataclasses.replace(REQUEST, disks=(("vda", "raw"),), checkpoints=frozenset({older.id}))
    assert "vda not qcow2: the changed-block bitmaps live in qcow2 images" in plan_backup(raw, [older]).actions[0]
    lost = plan_backup(REQUEST, [older])
    assert "restore point 20261202T020000Z has no checkpoint in libvirt to start from" in lost.actions[0]
    with pytest.raises(ConflictError, match="cannot back up db1 incrementally"):
        plan_backup(dataclasses.replace(REQUEST, mode="incremental"), [older])


def test_max_age_makes_a_rerun_a_no_op_and_quiesce_always_needs_the_agent() -> None:
    recent = point("20261202T025000Z", hours=0)
    assert plan_backup(dataclasses.replace(REQUEST, max_age=3600), [recent]).actions == []
    with pytest.raises(SpecError, match="guest agent does not answer"):
        plan_backup(dataclasses.replace(REQUEST, quiesce="always"), [])


def test_retention_merges_the_oldest_into_the_next_incremental_or_deletes_a_whole_full() -> None:
    a, b, c = "20261201T000000Z", "20261201T010000Z", "20261201T020000Z"
    chain = [point(a), point(b, "incremental", a), point(c, "full")]
    plan = plan_backup(dataclasses.replace(REQUEST, keep=2, mode="full"), chain)
    assert [s.op for s in plan.steps] == ["backup", "fold", "drop"]
    assert plan.actions[1] == f"drop the oldest restore point {a} (merged into {b}, which becomes a full one)"
    assert plan.actions[2] == f"delete the oldest restore point {b}"
    assert [p["id"] for p in plan.after["points"]] == [c, "20261202T030000.000Z"]  # type: ignore[index]


def test_a_restore_reads_the_chain_and_refuses_to_overwrite_other_data() -> None:
    chain = [point("A"), point("B", "incremental", "A")]
    assert [p.id for p in chain_to(chain, "B")] == ["A", "B"]
    request = RestoreRequest("db1", "latest", "vda", "images", "r.qcow2")
    chosen = chosen_point(request, chain)
    assert plan_restore(request, chosen, exists=True, identical=True).actions == []
    with pytest.raises(UnsafeOperation, match="set replace=true"):
        plan_restore(request, chosen, exists=True, identical=False)
    assert plan_restore(request, chosen, exists=False, identical=False).actions == [
        "restore vda of db1 as of B (incremental) into new volume images/r.qcow2 (qcow2)"
    ]
    with pytest.raises(SpecError, match="no restore point X of db1; there are A, B"):
        chosen_point(dataclasses.replace(request, point="X"), chain)
