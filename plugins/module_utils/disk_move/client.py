"""Moves a disk of a domain into another pool: a live block copy with a pivot, or a volume copy (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import contextlib
import dataclasses
import time
import typing as t
import xml.etree.ElementTree as ET

from .._core.client import LibvirtClient, libvirt
from .._core.errors import ConflictError, NotFoundError
from .._core.executor import Executor
from .._core.plan import Plan, Step
from .._core.xmlutil import local_xml, parse_xml, to_string
from ..storage.tier_client import host_tiers
from ..storage.usage_client import read_usage
from ..storage.volume_model import VolumeSpec
from .model import MOVE_NS, MOVE_PREFIX, DiskAt, MoveRecord, find_disk, pointed_at, read_records, records_element
from .plan import Destination

FILE_POOLS = ("dir", "fs", "netfs")
BLOCK_POOLS = ("logical", "disk", "iscsi", "iscsi-direct", "scsi", "mpath", "zfs")
POLL = 0.2


class MoveExecutor(Executor):
    """Reads the disk and the destination, and carries out a move plan on one domain."""

    def __init__(self, client: LibvirtClient, domain: str, target: str) -> None:
        self.client = client
        self.target = target
        self.dom = client.call(f"look up domain {domain!r}", client.conn.lookupByName, domain)
        self.name = domain

    # Reading ---------------------------------------------------------------------------------------------
    def disk(self) -> DiskAt:
        disk = find_disk(self.dom.XMLDesc(0), self.target)
        if disk is None:
            raise NotFoundError(f"look up disk {self.target}", f"domain {self.name} has no disk {self.target}")
        vol = self._volume_of(disk)
        if vol is None:
            return disk
        _kind, capacity, allocation = vol.info()
        pool = vol.storagePoolLookupByVolume()
        return dataclasses.replace(disk, pool=pool.name(), volume=vol.name(), capacity=capacity, allocation=allocation)

    def _volume_of(self, disk: DiskAt) -> t.Any:
        if disk.pool and disk.volume:
            pool = self.client.pool(disk.pool)
            return self.client.volume(pool, disk.volume) if pool is not None else None
        with contextlib.suppress(libvirt.libvirtError):
            return self.client.conn.storageVolLookupByPath(disk.path)
        return None

    def _recorded(self) -> MoveRecord:
        """The record the step before wrote (a step of a move runs only after it)."""
        record = self.record()
        if record is None:
            raise ConflictError(f"the move record of {self.name}/{self.target} vanished while the move ran")
        return record

    def record(self) -> t.Optional[MoveRecord]:
        return read_records(self.dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)).get(self.target)

    def destination(self, pool_name: str, volume: str, fmt: str) -> Destination:
        pool = self.client.pool(pool_name)
        if pool is None or not pool.isActive():
            raise NotFoundError(
                f"look up pool {pool_name!r}", f"no active storage pool {pool_name!r} on {self.client.uri}"
            )
        _state, _capacity, _allocation, available = self.client.storage(
            pool_name, f"read pool {pool_name!r}", pool.info
        )
        exists = self.client.volume(pool, volume) is not None
        return Destination(pool_name, available, volume, fmt, exists)

    def pool_of_tier(self, tier: str, disk: DiskAt) -> str:
        """The disk's own pool when it has the tier, else the active pool of the tier with the most free space."""
        tiers = host_tiers(self.client)
        if disk.pool and tiers.get(disk.pool) == tier:
            return disk.pool
        free = {}
        for name in sorted(p for p, label in tiers.items() if label == tier):
            pool = self.client.pool(name)
            if pool is not None and pool.isActive():
                free[name] = self.client.storage(name, f"read pool {name!r}", pool.info)[3]
        if not free:
            labelled = ", ".join(f"{p} ({label})" for p, label in sorted(tiers.items())) or "none"
            where = f"no active pool of tier {tier!r} on {self.client.uri}; labelled pools: {labelled} (pool's tier)"
            raise NotFoundError(f"find a pool of tier {tier!r}", where)
        return max(free, key=lambda name: free[name])

    def users(self, pool_name: str, volume: str, peers: t.Sequence[LibvirtClient]) -> t.List[str]:
        """Users of the volume other than this disk, on this hypervisor and its peers."""
        pool = self.client.pool(pool_name)
        vol = self.client.volume(pool, volume) if pool is not None else None
        if vol is None:
            return []
        found = read_usage([self.client, *peers]).users_of(pool_name, volume, vol.path())
        return [u.describe() for u in found if (u.domain, u.target) != (self.name, self.target)]

    # Steps -----------------------------------------------------------------------------------------------
    def _step_clean_up(self, plan: Plan, step: Step) -> None:
        record = MoveRecord(**step.args)
        if self.dom.isActive() and self.dom.blockJobInfo(self.target, 0):
            # The copy an earlier run started is still mirroring: stop it without switching over.
            self.client.call(f"stop the unfinished copy of {plan.name}", self.dom.blockJobAbort, self.target, 0)
        self._delete_volume(record.pool, record.volume)
        self._write_records(None)

    def _step_record(self, plan: Plan, step: Step) -> None:
        self._write_records(MoveRecord(**step.args))

    def _step_create(self, plan: Plan, step: Step) -> None:
        record = self._recorded()
        pool = self.client.pool(record.pool)
        xml = _volume_xml(record.volume, step.args["format"], step.args["capacity"])
        self.client.storage(record.pool, f"create volume {record.pool}/{record.volume}", pool.createXML, xml, 0)

    def _step_copy_stopped(self, plan: Plan, step: Step) -> None:
        record = self._recorded()
        source = self.client.volume(self.client.pool(record.source_pool), record.source_volume)
        pool = self.client.pool(record.pool)
        xml = _volume_xml(record.volume, step.args["format"], step.args["capacity"])
        action = f"copy {record.source_pool}/{record.source_volume} into {record.pool}/{record.volume}"
        self.client.storage(record.pool, action, pool.createXMLFrom, xml, source, 0)

    def _step_copy_live(self, plan: Plan, step: Step) -> None:
        record = self._recorded()
        dest = self._mirror_xml(record, step.args["format"])
        params = {"bandwidth": step.args["bandwidth"] * 2**20} if step.args["bandwidth"] else None
        flags = libvirt.VIR_DOMAIN_BLOCK_COPY_REUSE_EXT | libvirt.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB
        self.client.call(f"start copying {plan.name}", self.dom.blockCopy, self.target, dest, params, flags)
        try:
            self._wait_in_step(plan.name, step.args["timeout"])
            pivot = libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT
            self.client.call(f"switch {plan.name} over to the copy", self.dom.blockJobAbort, self.target, pivot)
            self._wait_until(lambda: not self.dom.blockJobInfo(self.target, 0), 60, f"{plan.name} to switch over")
        except BaseException:
            # The guest stays on its disk; the half copy and the record go, as this run made them.
            with contextlib.suppress(Exception):
                if self.dom.blockJobInfo(self.target, 0):
                    self.dom.blockJobAbort(self.target, 0)
                self._wait_until(lambda: not self.dom.blockJobInfo(self.target, 0), 30, "the copy to stop")
                self._delete_volume(record.pool, record.volume)
                self._write_records(None)
            raise

    def _step_point(self, plan: Plan, step: Step) -> None:
        record = self._recorded()
        fmt = plan.after["format"] if plan.after else "raw"
        pool = self.client.pool(record.pool)
        kind = parse_xml(pool.XMLDesc(0), "pool XML").get("type", "")
        network = None if kind in FILE_POOLS + BLOCK_POOLS else _network_mirror(pool.XMLDesc(0), record.volume, fmt)
        current = self.dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
        xml = pointed_at(current, self.target, record.pool, record.volume, fmt, network)
        self.client.call(f"point {plan.name} at {record.pool}/{record.volume}", self.client.conn.defineXML, xml)

    def _step_remove_source(self, plan: Plan, step: Step) -> None:
        record = MoveRecord(**step.args)
        self._delete_volume(record.source_pool, record.source_volume)

    def _step_forget(self, plan: Plan, step: Step) -> None:
        self._write_records(None)

    # Helpers ---------------------------------------------------------------------------------------------
    def _wait_in_step(self, name: str, timeout: float) -> None:
        def ready() -> bool:
            info = self.dom.blockJobInfo(self.target, 0)
            if not info:
                raise ConflictError(f"the copy of {name} stopped before it was in step (see the libvirtd log)")
            mirror = parse_xml(self.dom.XMLDesc(0), "domain XML").find("devices/disk/mirror[@ready='yes']")
            return info["end"] > 0 and info["cur"] == info["end"] and mirror is not None

        self._wait_until(ready, timeout, f"the copy of {name} to catch up with the guest's writes")

    @staticmethod
    def _wait_until(check: t.Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() >= deadline:
                raise ConflictError(
                    f"timed out after {timeout:g} s waiting for {what}; the guest stays on its own disk, and the "
                    "volume this run made for the copy was removed - raise timeout or bandwidth and run again"
                )
            time.sleep(POLL)

    def _mirror_xml(self, record: MoveRecord, fmt: str) -> str:
        """The <disk> a block copy writes to: the volume as a file, a block device or a network disk."""
        pool = self.client.pool(record.pool)
        vol = self.client.volume(pool, record.volume)
        kind = parse_xml(pool.XMLDesc(0), "pool XML").get("type", "")
        if kind in FILE_POOLS:
            disk, source = ET.Element("disk", type="file"), {"file": vol.path()}
        elif kind in BLOCK_POOLS:
            disk, source = ET.Element("disk", type="block"), {"dev": vol.path()}
        else:
            return _network_mirror(pool.XMLDesc(0), vol.name(), fmt)
        ET.SubElement(disk, "source", source)
        ET.SubElement(disk, "driver", type=fmt)
        return ET.tostring(disk, encoding="unicode")

    def _delete_volume(self, pool_name: str, volume: str) -> None:
        pool = self.client.pool(pool_name)
        vol = self.client.volume(pool, volume) if pool is not None else None
        if vol is not None:
            self.client.storage(pool_name, f"delete volume {pool_name}/{volume}", vol.delete, 0)

    def _write_records(self, record: t.Optional[MoveRecord]) -> None:
        records = read_records(self.dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        records.pop(self.target, None)
        if record is not None:
            records[self.target] = record
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        element = libvirt.VIR_DOMAIN_METADATA_ELEMENT
        payload = local_xml(records_element(records.values())) if records else None
        prefix = MOVE_PREFIX if records else None
        action = f"record the moves of {self.name}'s disks"
        self.client.call(action, self.dom.setMetadata, element, payload, prefix, MOVE_NS, flags)


def _volume_xml(name: str, fmt: str, capacity: int) -> str:
    return to_string(VolumeSpec(name=name, format=fmt, capacity=capacity, allocation=0).to_element())


def _network_mirror(pool_xml: str, volume: str, fmt: str) -> str:
    """An RBD (or Gluster) pool's volume as the network disk QEMU writes to, with the pool's hosts and auth."""
    pool = parse_xml(pool_xml, "pool XML")
    source = pool.find("source")
    protocol = {"rbd": "rbd", "gluster": "gluster"}.get(pool.get("type", ""))
    if source is None or protocol is None:
        raise ConflictError(f"a live move cannot write to a {pool.get('type')} pool; stop the domain to move the disk")
    disk = ET.Element("disk", type="network")
    base = (source.findtext("name") or "").strip("/")
    dest = ET.SubElement(disk, "source", protocol=protocol, name=f"{base}/{volume}")
    for host in source.iterfind("host"):
        ET.SubElement(dest, "host", {k: v for k, v in host.attrib.items() if k in ("name", "port")})
    auth = source.find("auth")
    if auth is not None:
        node = ET.SubElement(dest, "auth", username=auth.get("username", ""))
        secret = auth.find("secret")
        if secret is not None:
            ET.SubElement(node, "secret", {"type": auth.get("type", "ceph"), **secret.attrib})
    ET.SubElement(disk, "driver", type=fmt)
    return ET.tostring(disk, encoding="unicode")
