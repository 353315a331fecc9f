"""Carries out replica syncs and failovers: the source's backup job, the shipping over the target's libvirt
connection, and the replica's definition there (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import json
import os
import subprocess
import typing as t

from .._core.client import LibvirtClient, libvirt
from .._core.errors import ConflictError, NotFoundError
from .._core.executor import Executor
from .._core.plan import Plan, Step
from .._core.xmlutil import to_string
from ..backup.client import BackupExecutor, read_points
from ..storage.volume_model import VolumeSpec
from .model import Extent, ReplicaRecord, read_record, replica_xml, ship_extents
from .plan import replica_volume

CHUNK = 1 << 20


class ReplicationExecutor(Executor):
    def __init__(self, target: LibvirtClient, domain: str, pool: str, backup: t.Optional[BackupExecutor]) -> None:
        self.target = target
        self.domain = domain
        self.pool_name = pool
        self.backup = backup  # None when the source is gone (a failover)

    def record(self) -> t.Optional[ReplicaRecord]:
        dom = self.replica()
        return read_record(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)) if dom is not None else None

    def replica(self) -> t.Any:
        return self.target._lookup(f"look up {self.domain}", self.target.conn.lookupByName, self.domain)

    # The source's backup steps ---------------------------------------------------------------------------
    def _step_backup(self, plan: Plan, step: Step) -> None:
        self._source()._step_backup(plan, step)
        self._check_visible(step.args["id"], step.args["targets"])

    def _step_copy_stopped(self, plan: Plan, step: Step) -> None:
        self._source()._step_copy_stopped(plan, step)
        self._check_visible(step.args["id"], step.args["targets"])

    def _step_fold(self, plan: Plan, step: Step) -> None:
        self._source()._step_fold(plan, step)

    def _step_drop(self, plan: Plan, step: Step) -> None:
        self._source()._step_drop(plan, step)

    def _step_uncheckpoint(self, plan: Plan, step: Step) -> None:
        self._source()._step_uncheckpoint(plan, step)

    # Shipping and the replica ----------------------------------------------------------------------------
    def _step_ship(self, plan: Plan, step: Step) -> None:
        point = read_points(self._source().directory)[-1]
        pool = self.target.pool(self.pool_name)
        if pool is None or not pool.isActive():
            missing = f"no active pool {self.pool_name!r} on {self.target.uri}"
            raise NotFoundError(f"look up pool {self.pool_name!r}", missing)
        for target in step.args["disks"]:
            path = os.path.join(self._source().directory, point.file_of(target) or "")
            vol = self._replica_volume(pool, replica_volume(self.domain, target), path, step.args["whole"])
            entries = json.loads(_qemu_img("map", "--output=json", "-f", "qcow2", path))
            self._write(vol, path, ship_extents(entries, step.args["whole"]), vol.name())

    def _replica_volume(self, pool: t.Any, name: str, path: str, whole: bool) -> t.Any:
        """The replica's raw volume; made anew (sparse) for a full sync."""
        vol = self.target.volume(pool, name)
        if vol is not None and whole:
            self.target.storage(self.pool_name, f"remove the old replica volume {name}", vol.delete, 0)
            vol = None
        if vol is None:
            size = int(json.loads(_qemu_img("info", "--output=json", path))["virtual-size"])
            xml = to_string(VolumeSpec(name=name, format="raw", capacity=size, allocation=0).to_element())
            vol = self.target.storage(self.pool_name, f"create the replica volume {name}", pool.createXML, xml, 0)
        return vol

    def _step_define(self, plan: Plan, step: Step) -> None:
        source = self._source()
        point = read_points(source.directory)[-1]
        volumes = tuple((d.target, replica_volume(self.domain, d.target)) for d in point.disks)
        record = ReplicaRecord(source.client.uri, point.id, point.time, volumes)
        xml = source.dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
        replica = replica_xml(xml, self.pool_name, record)
        self.target.call(f"define the replica {self.domain} on {self.target.uri}", self.target.conn.defineXML, replica)

    def _step_start(self, plan: Plan, step: Step) -> None:
        dom = self.replica()
        self.target.call(f"start the replica {self.domain} on {self.target.uri}", dom.create)

    # Helpers ---------------------------------------------------------------------------------------------
    def _source(self) -> BackupExecutor:
        if self.backup is None:
            raise ConflictError(f"the source of {self.domain} is not reachable; a sync needs it")
        return self.backup

    def _check_visible(self, point_id: str, targets: t.Sequence[str]) -> None:
        points = read_points(self._source().directory)
        if not points or points[-1].id != point_id:
            raise ConflictError(
                f"the backup of {self.domain} was written on {self._source().client.uri}, but its files are not in "
                f"{self._source().directory} here; staging must be a directory the task sees as the hypervisor does "
                "(run the task on the hypervisor, or put staging on storage both see)"
            )

    def _write(self, vol: t.Any, path: str, extents: t.Sequence[Extent], name: str) -> None:
        """Each extent into the replica volume at its place, through libvirt upload streams."""
        with open(path, "rb") as image:
            for extent in extents:
                stream = self.target.conn.newStream(0)
                self.target.call(f"write {extent.length} bytes at {extent.start} of {name}", vol.upload,
                                 stream, extent.start, extent.length, 0)  # fmt: skip
                left = extent.length
                if extent.offset is not None:
                    image.seek(extent.offset)
                while left:
                    size = min(CHUNK, left)
                    data = image.read(size) if extent.offset is not None else bytes(size)
                    stream.send(data)
                    left -= len(data)
                stream.finish()


def _qemu_img(*args: str) -> str:
    done = subprocess.run(["qemu-img", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ConflictError(f"qemu-img {args[0]} failed: {done.stderr.strip()}")
    return done.stdout
