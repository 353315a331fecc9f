from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import (
    ConflictError,
    SpecError,
    UnsafeOperation,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.snapshot.plan import (
    SnapshotActual,
    SnapshotRequest,
    disk_choice,
    plan_snapshot,
    snapshot_xml,
)

DOMAIN = """<domain><name>db1</name><devices>
  <disk type='file' device='disk'><source file='/i/db1.qcow2'/><target dev='vda'/></disk>
  <disk type='file' device='disk'><source file='/i/data.qcow2'/><target dev='vdc'/></disk>
  <disk type='file' device='disk'><source file='/s/quorum.raw'/><target dev='vdb'/><shareable/></disk>
  <disk type='file' device='cdrom'><target dev='sda'/><readonly/></disk>
</devices></domain>"""


def test_shared_and_read_only_disks_stay_out_and_auto_goes_external() -> None:
    assert disk_choice(DOMAIN, SnapshotRequest("db1", "s")) == (["vda", "vdc"], ["vdb", "sda"], "external")
    plain = DOMAIN.replace("<shareable/>", "")
    assert disk_choice(plain, SnapshotRequest("db1", "s")) == (["vda", "vdc", "vdb"], ["sda"], "internal")


def test_chosen_disks_and_refusals() -> None:
    assert disk_choice(DOMAIN, SnapshotRequest("db1", "s", disks=["vda"]))[:2] == (["vda"], ["vdb", "sda", "vdc"])
    with pytest.raises(ConflictError, match="^disk vdb of domain 'db1' is shared with other domains"):
        disk_choice(DOMAIN, SnapshotRequest("db1", "s", disks=["vdb"]))
    with pytest.raises(SpecError, match="^disks: domain 'db1' has no snapshottable disk sda$"):
        disk_choice(DOMAIN, SnapshotRequest("db1", "s", disks=["sda"]))
    with pytest.raises(ConflictError, match="libvirt takes internal snapshots of every disk or none"):
        disk_choice(DOMAIN, SnapshotRequest("db1", "s", kind="internal"))


def test_snapshot_xml_marks_each_disk() -> None:
    xml = snapshot_xml(SnapshotRequest("db1", "before", kind="external", description="x"), ["vda"], ["vdb"])
    assert xml == (
        '<domainsnapshot><name>before</name><description>x</description><memory snapshot="no" />'
        '<disks><disk name="vda" snapshot="external" /><disk name="vdb" snapshot="no" /></disks>'
        "</domainsnapshot>"
    )
    with pytest.raises(SpecError, match="^name: "):
        snapshot_xml(SnapshotRequest("db1", "../x"), ["vda"], [])


def snapshots_of(current: str | None, active: bool = False, taken: dict[str, str] | None = None) -> SnapshotActual:
    return SnapshotActual(DOMAIN, active, False, dict(taken or {}), current)


def test_reverted_rolls_back_on_every_run_current_only_when_another_is_current() -> None:
    actual = snapshots_of("before-upgrade", taken={"before-upgrade": "shutoff"})
    # The documented rollback: the snapshot is still current after the guest changed - it must revert.
    rollback = plan_snapshot(SnapshotRequest("db1", "before-upgrade", state="reverted"), actual)
    assert [s.op for s in rollback.steps] == ["revert"] and rollback.changed
    # "current" is a declared state: already current, nothing to do (which is why it is not the rollback).
    assert not plan_snapshot(SnapshotRequest("db1", "before-upgrade", state="current"), actual).changed
    other = snapshots_of("later", taken={"before-upgrade": "shutoff", "later": "shutoff"})
    assert plan_snapshot(SnapshotRequest("db1", "before-upgrade", state="current"), other).changed


def test_a_revert_that_stops_a_running_guest_needs_force() -> None:
    running = snapshots_of("s1", active=True, taken={"s1": "shutoff"})
    with pytest.raises(UnsafeOperation) as refused:
        plan_snapshot(SnapshotRequest("db1", "s1", state="reverted"), running)
    assert refused.value.consent == "force"
    forced = plan_snapshot(SnapshotRequest("db1", "s1", state="reverted", force=True), running)
    assert forced.steps[0].args == {"force": True}
    with pytest.raises(ConflictError, match="has no snapshot 'nope'"):
        plan_snapshot(SnapshotRequest("db1", "nope", state="reverted"), running)


def test_create_and_delete_steps() -> None:
    made = plan_snapshot(SnapshotRequest("db1", "s2", disks=["vda"]), snapshots_of(None))
    (create,) = made.steps
    assert create.op == "create" and "<name>s2</name>" in create.args["xml"] and create.args["disk_only"] is True
    assert not plan_snapshot(SnapshotRequest("db1", "s2", state="absent"), snapshots_of(None)).changed
    gone = plan_snapshot(SnapshotRequest("db1", "s2", state="absent"), snapshots_of(None, taken={"s2": "running"}))
    assert [s.op for s in gone.steps] == ["delete"] and gone.locator == {"domain": "db1"}
