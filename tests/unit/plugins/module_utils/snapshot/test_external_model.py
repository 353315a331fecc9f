from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import ConflictError, UnsafeOperation
from ansible_collections.sharedvirt.kvm.plugins.module_utils.snapshot.external_model import (
    Layer,
    built_on,
    chain_depths,
    read_external,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.snapshot.plan import (
    SnapshotActual,
    SnapshotRequest,
    plan_snapshot,
)


def snapshot_xml(name: str, vda: str, memory: str = "no", overlay: str = "") -> str:
    """As libvirt 9.0 keeps a disk-only external snapshot: the overlay it made and the domain as it was."""
    return f"""<domainsnapshot><name>{name}</name><state>shutoff</state><memory snapshot='{memory}'/>
  <disks><disk name='vda' snapshot='external' type='file'><driver type='qcow2'/>
    <source file='{overlay or vda.rsplit(".", 1)[0] + "." + name}'/></disk>
    <disk name='vdb' snapshot='no'/></disks>
  <domain type='qemu'><name>db1</name><devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{vda}'/><target dev='vda'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/s/q.raw'/><target dev='vdb'/>
      <shareable/></disk></devices></domain></domainsnapshot>"""


def test_an_external_snapshot_is_its_overlays_on_the_images_it_froze() -> None:
    snap = read_external(snapshot_xml("s1", "/i/db1.raw"))
    assert snap.layers == [Layer("vda", "/i/db1.s1", "/i/db1.raw", "raw")]  # vdb was left out
    assert snap.memory is False and snap.disk_files == frozenset({"/i/db1.raw", "/s/q.raw"})
    internal = read_external(snapshot_xml("s0", "/i/db1.raw").replace("'external'", "'internal'"))
    assert internal.layers == []


def test_a_later_snapshot_on_the_overlay_is_found() -> None:
    files = {
        "s1": read_external(snapshot_xml("s1", "/i/db1.raw")),
        "s2": read_external(snapshot_xml("s2", "/i/db1.s1")),  # taken while vda was s1's overlay
        "other": read_external(snapshot_xml("other", "/i/else.raw")),
    }
    assert built_on("s1", files) == ["s2"] and built_on("s2", files) == []


def actual(*names_and_xml: tuple[str, str], active: bool = False) -> SnapshotActual:
    files = {name: read_external(xml) for name, xml in names_and_xml}
    states = {name: ("disk-snapshot" if active else "shutoff") for name in files}
    return SnapshotActual("<domain/>", active, snapshots=states, current=None, files=files)


def test_revert_to_an_external_snapshot_is_planned_as_new_overlays() -> None:
    plan = plan_snapshot(SnapshotRequest("db1", "s1", state="reverted"), actual(("s1", snapshot_xml("s1", "/i/a.raw"))))
    assert plan.actions == ["revert db1 to snapshot s1 (external: new empty overlays for vda on /i/a.raw)"]
    assert [s.op for s in plan.steps] == ["revert_external"]
    assert plan.steps[0].args["layers"] == [
        {"target": "vda", "overlay": "/i/a.s1", "base": "/i/a.raw", "base_format": "raw"}
    ]


def test_external_revert_refusals() -> None:
    later = actual(("s1", snapshot_xml("s1", "/i/a.raw")), ("s2", snapshot_xml("s2", "/i/a.s1")))
    with pytest.raises(ConflictError, match="^snapshot 's2' of 'db1' was taken on top of snapshot 's1'"):
        plan_snapshot(SnapshotRequest("db1", "s1", state="reverted"), later)
    assert plan_snapshot(SnapshotRequest("db1", "s2", state="reverted"), later).changed
    memory = actual(("m", snapshot_xml("m", "/i/a.raw", memory="external")))
    with pytest.raises(ConflictError, match="saved the guest's memory in a file, which libvirt 9.0 cannot restore"):
        plan_snapshot(SnapshotRequest("db1", "m", state="reverted"), memory)
    running = actual(("s1", snapshot_xml("s1", "/i/a.raw")), active=True)
    with pytest.raises(UnsafeOperation):  # the writes since, and the running guest, go: only with force
        plan_snapshot(SnapshotRequest("db1", "s1", state="reverted"), running)
    assert plan_snapshot(SnapshotRequest("db1", "s1", state="reverted", force=True), running).changed


def test_chain_depth_counts_the_images_below_each_disk() -> None:
    xml = """<domain><devices>
      <disk><source file='/i/top.qcow2'/><backingStore type='file'><source file='/i/mid.qcow2'/>
        <backingStore type='file'><source file='/i/base.raw'/><backingStore/></backingStore></backingStore>
        <target dev='vda'/></disk>
      <disk><source file='/i/data.raw'/><backingStore/><target dev='vdb'/></disk>
    </devices></domain>"""
    assert chain_depths(xml) == {"vda": 2, "vdb": 0}
