from __future__ import annotations

import dataclasses
import datetime
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import ConflictError
from ansible_collections.sharedvirt.kvm.plugins.module_utils.backup.model import DiskBackup, Point
from ansible_collections.sharedvirt.kvm.plugins.module_utils.backup.plan import BackupRequest
from ansible_collections.sharedvirt.kvm.plugins.module_utils.replication.model import (
    Extent,
    ReplicaRecord,
    read_record,
    replica_xml,
    ship_extents,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.replication.plan import (
    SyncRequest,
    plan_failover,
    plan_sync,
)

MAP = [
    {"start": 0, "length": 1048576, "depth": 1, "present": False, "zero": True, "data": False},
    {"start": 1048576, "length": 65536, "depth": 0, "present": True, "zero": False, "data": True, "offset": 327680},
    {"start": 1114112, "length": 65536, "depth": 0, "present": True, "zero": False, "data": True, "offset": 393216},
    {"start": 2097152, "length": 65536, "depth": 0, "present": True, "zero": True, "data": False},
]
NOW = datetime.datetime(2026, 12, 2, 3, 0, tzinfo=datetime.timezone.utc)
RECORD = ReplicaRecord(
    "qemu+tcp://h0/system", "20261202T020000Z", "2026-12-02T02:00:00+00:00", (("vda", "db1-vda.replica.raw"),)
)


def test_only_the_files_own_blocks_ship_merged_and_its_zeroed_ranges_as_zeros() -> None:
    assert ship_extents(MAP, whole=False) == [Extent(1048576, 131072, 327680), Extent(2097152, 65536, None)]
    assert ship_extents(MAP, whole=True) == [Extent(1048576, 131072, 327680)]  # a fresh volume is zeros already


def test_the_replica_definition_points_at_raw_volumes_and_carries_its_record() -> None:
    source = "<domain><name>db1</name><devices><disk type='file'><driver name='qemu' type='qcow2'/>" \
             "<source file='/i/db1.qcow2'/><target dev='vda'/></disk></devices></domain>"  # fmt: skip
    xml = replica_xml(source, "replicas", RECORD)
    disk = ET.fromstring(xml).find("devices/disk")
    assert disk is not None and disk.get("type") == "volume"
    assert disk.find("source").attrib == {"pool": "replicas", "volume": "db1-vda.replica.raw"}  # type: ignore[union-attr]
    assert read_record(xml) == RECORD and read_record(replica_xml(xml, "replicas", RECORD)) == RECORD


def sync(points: list[Point], record: ReplicaRecord | None) -> list[str]:
    backup = BackupRequest("db1", "/s/db1", (("vda", "qcow2"),), True, False, frozenset(p.id for p in points), NOW)
    return plan_sync(
        SyncRequest(backup, "qemu+tcp://h0/system", "qemu+tcp://h1/system", "replicas"), points, record
    ).actions


def test_a_replica_at_the_newest_point_gets_the_changes_else_it_is_rebuilt() -> None:
    newest = Point("20261202T020000Z", "full", "2026-12-02T02:00:00+00:00", (DiskBackup("vda", "x"),), checkpoint=True)
    assert sync([], None)[0] == "back up db1 (full): vda into /s/db1"
    actions = sync([newest], RECORD)
    assert actions[0].startswith("back up db1 (incremental since 20261202T020000Z)")
    assert actions[-2] == "ship the changed blocks to replicas/db1-vda.replica.raw on qemu+tcp://h1/system"
    behind = sync([newest], dataclasses.replace(RECORD, point="20261202T010000Z"))
    assert behind[0].endswith("the replica on qemu+tcp://h1/system is not at the newest point, so it is rebuilt whole")


def test_a_failover_needs_a_silent_source_and_proof_that_it_cannot_write() -> None:
    with pytest.raises(ConflictError, match="the source of db1 answers; starting the replica would run db1 twice"):
        plan_failover("db1", "h1", source_answers=True, proof="", replica_running=False)
    with pytest.raises(ConflictError, match="does not prove it stopped writing"):
        plan_failover("db1", "h1", source_answers=False, proof="", replica_running=False)
    assert plan_failover("db1", "h1", False, "fenced: true", False).actions == [
        "start the replica db1 on h1 (fenced: true)"
    ]
    assert plan_failover("db1", "h1", False, "", replica_running=True).actions == []
