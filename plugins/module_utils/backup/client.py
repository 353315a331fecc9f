"""Takes restore points of a domain with libvirt's backup API, and keeps its backup directory (I/O).

Runs on the hypervisor: QEMU writes the backup files there, and qemu-img links and merges them.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import typing as t

from .._core.client import LibvirtClient, libvirt
from .._core.errors import ConflictError
from .._core.executor import Executor
from .._core.plan import Plan, Step
from .._core.xmlutil import parse_xml
from .model import CHAIN_FILE, DiskBackup, Point, backup_xml, checkpoint_xml, file_name, read_chain, write_chain

POLL = 0.2


def read_points(directory: str) -> t.List[Point]:
    """The restore points of a backup directory, oldest first (none when it has no chain yet)."""
    path = os.path.join(directory, CHAIN_FILE)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return read_chain(handle.read())


class BackupExecutor(Executor):
    """The backup directory of one domain, and the domain's backup jobs and checkpoints."""

    def __init__(self, client: LibvirtClient, domain: str, directory: str, timeout: int = 3600) -> None:
        self.client = client
        self.dom = client.call(f"look up domain {domain!r}", client.conn.lookupByName, domain)
        self.name = domain
        self.directory = directory
        self.timeout = timeout

    def points(self) -> t.List[Point]:
        return read_points(self.directory)

    def checkpoints(self) -> t.FrozenSet[str]:
        if not self.dom.isActive():
            return frozenset()
        return frozenset(c.getName() for c in self.client.call("list checkpoints", self.dom.listAllCheckpoints, 0))

    def agent_answers(self) -> bool:
        if not self.dom.isActive():
            return False
        try:  # any call through the agent says whether it answers; the host name is the cheapest
            self.dom.guestInfo(libvirt.VIR_DOMAIN_GUEST_INFO_HOSTNAME, 0)
        except libvirt.libvirtError:
            return False
        return True

    # Steps -----------------------------------------------------------------------------------------------
    def _step_backup(self, plan: Plan, step: Step) -> None:
        args = step.args
        os.makedirs(self.directory, mode=0o711, exist_ok=True)  # QEMU opens the files it writes
        since = args["parent"] if args["kind"] == "incremental" else ""
        backup = backup_xml(self.directory, args["id"], args["targets"], since)
        checkpoint = checkpoint_xml(args["id"], args["targets"])
        started = time.monotonic()
        with self._frozen(args["quiesce"]):
            self.client.call(f"start the backup of {self.name}", self.dom.backupBegin, backup, checkpoint, 0)
        try:
            processed = self._wait_for_job()
        except BaseException:
            self._discard(args["id"], args["targets"])
            raise
        for target in args["targets"] if since else ():
            # The file backs onto the live disk as libvirt wrote it; the chain it belongs to is the previous point.
            self._qemu_img(
                "rebase", "-u", "-F", "qcow2", "-b", self._path(since, target), self._path(args["id"], target)
            )
        self._append(args, processed, time.monotonic() - started, checkpoint=True)

    def _step_copy_stopped(self, plan: Plan, step: Step) -> None:
        args = step.args
        os.makedirs(self.directory, mode=0o711, exist_ok=True)  # QEMU opens the files it writes
        started = time.monotonic()
        sources = self._disk_paths()
        processed = 0
        for target in args["targets"]:
            self._qemu_img("convert", "-O", "qcow2", sources[target], self._path(args["id"], target))
            processed += os.path.getsize(sources[target])
        self._append(args, processed, time.monotonic() - started, checkpoint=False)

    def _step_fold(self, plan: Plan, step: Step) -> None:
        points = self.points()
        oldest = next(p for p in points if p.id == step.args["oldest"])
        following = next(p for p in points if p.id == step.args["next"])
        for disk in following.disks:
            self._qemu_img("commit", "-q", "-f", "qcow2", os.path.join(self.directory, disk.file))
            # The oldest file now holds the next point's data: it takes the next point's name (which later points
            # back onto), whole and without a backing file.
            os.replace(self._path(oldest.id, disk.target), os.path.join(self.directory, disk.file))
        merged = Point(**{**following.__dict__, "kind": "full", "parent": "", "disks": self._sized(following.disks)})
        self._save([merged if p.id == following.id else p for p in points if p.id != oldest.id])

    def _step_drop(self, plan: Plan, step: Step) -> None:
        points = self.points()
        oldest = next(p for p in points if p.id == step.args["oldest"])
        for disk in oldest.disks:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.directory, disk.file))
        self._save([p for p in points if p.id != oldest.id])

    def _step_uncheckpoint(self, plan: Plan, step: Step) -> None:
        for name in step.args["names"]:
            checkpoint = self.client.call(f"look up checkpoint {name}", self.dom.checkpointLookupByName, name, 0)
            self.client.call(f"delete checkpoint {name} of {self.name}", checkpoint.delete, 0)

    # Helpers ---------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _frozen(self, quiesce: bool) -> t.Iterator[None]:
        """The guest's file systems frozen through its agent while the backup point is taken (job start)."""
        if quiesce:
            self.client.call(f"freeze the file systems of {self.name}", self.dom.fsFreeze, None, 0)
        try:
            yield
        finally:
            if quiesce:
                self.client.call(f"thaw the file systems of {self.name}", self.dom.fsThaw, None, 0)

    def _wait_for_job(self) -> int:
        deadline = time.monotonic() + self.timeout
        while self.client.call("read the backup job", self.dom.jobStats, 0).get("type") != libvirt.VIR_DOMAIN_JOB_NONE:
            if time.monotonic() >= deadline:
                with contextlib.suppress(libvirt.libvirtError):
                    self.dom.abortJob()
                raise ConflictError(f"the backup of {self.name} took over {self.timeout} s and was stopped")
            time.sleep(POLL)
        done = self.client.call("read the finished job", self.dom.jobStats, libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        if done.get("type") != libvirt.VIR_DOMAIN_JOB_COMPLETED:
            raise ConflictError(f"the backup of {self.name} failed: {done.get('errmsg') or 'see the libvirtd log'}")
        return int(done.get("disk_processed", 0))

    def _discard(self, point_id: str, targets: t.Sequence[str]) -> None:
        """What a failed backup left: its files and its checkpoint (the chain file never named them)."""
        for target in targets:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(point_id, target))
        with contextlib.suppress(libvirt.libvirtError):
            self.dom.checkpointLookupByName(point_id, 0).delete(0)

    def _append(self, args: t.Mapping[str, t.Any], processed: int, seconds: float, checkpoint: bool) -> None:
        disks = self._sized(tuple(DiskBackup(tg, file_name(args["id"], tg)) for tg in args["targets"]))
        point = Point(args["id"], args["kind"], args["time"], disks, args["parent"], checkpoint, bool(args["quiesce"]),
                      processed, round(seconds, 3))  # fmt: skip
        self._save(self.points() + [point])

    def _sized(self, disks: t.Iterable[DiskBackup]) -> t.Tuple[DiskBackup, ...]:
        return tuple(
            DiskBackup(d.target, d.file, os.stat(os.path.join(self.directory, d.file)).st_blocks * 512) for d in disks
        )

    def _save(self, points: t.Sequence[Point]) -> None:
        path = os.path.join(self.directory, CHAIN_FILE)
        with open(path + ".new", "w", encoding="utf-8") as handle:
            handle.write(write_chain(points))
        os.replace(path + ".new", path)  # a reader sees the old chain or the new one

    def _path(self, point_id: str, target: str) -> str:
        return os.path.join(self.directory, file_name(point_id, target))

    def _disk_paths(self) -> t.Dict[str, str]:
        """Each disk's image path from the definition (volumes resolved through their pool)."""
        out = {}
        xml = self.dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        for disk in parse_xml(xml, "domain XML").iterfind("devices/disk"):
            target, source = disk.find("target"), disk.find("source")
            if target is None or source is None:
                continue
            path = source.get("file") or source.get("dev")
            if source.get("pool"):
                pool = self.client.call("look up pool", self.client.conn.storagePoolLookupByName, source.get("pool"))
                path = self.client.call("look up volume", pool.storageVolLookupByName, source.get("volume")).path()
            if path:
                out[target.get("dev", "")] = path
        return out

    @staticmethod
    def _qemu_img(*args: str) -> None:
        done = subprocess.run(["qemu-img", *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ConflictError(f"qemu-img {args[0]} failed: {done.stderr.strip()}")
