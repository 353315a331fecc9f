from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import ConflictError, SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils.snapshot.plan import (
    SnapshotRequest,
    disk_choice,
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
