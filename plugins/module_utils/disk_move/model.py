"""A domain's disk as a move sees it, and the record of a move under way (pure).

The record lives in the domain's metadata from before the destination volume exists until the disk points at
it: a run that is killed part-way leaves it, and the next run knows which volume that run made and cleans
exactly that up before it moves the disk again.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.xmlutil import parse_xml

MOVE_NS = "https://sharedvirt.dev/xmlns/kvm/disk-move/1.0"
MOVE_PREFIX = "sharedvirt-move"
ET.register_namespace(MOVE_PREFIX, MOVE_NS)


@dataclasses.dataclass(frozen=True)
class DiskAt:
    """One disk of a domain: where its data is now."""

    target: str
    kind: str  # file, block, network or volume: the <disk type>
    path: str  # file or device path, or the network name
    format: str
    device: str = "disk"
    shareable: bool = False
    readonly: bool = False
    pool: t.Optional[str] = None  # the pool volume the path is, when it is one
    volume: t.Optional[str] = None
    capacity: int = 0
    allocation: int = 0

    @property
    def where(self) -> str:
        return f"{self.pool}/{self.volume}" if self.pool else self.path


@dataclasses.dataclass(frozen=True)
class MoveRecord:
    """A move under way: the disk, the volume the move made for it and the one it came from."""

    target: str
    pool: str
    volume: str
    source_pool: str = ""
    source_volume: str = ""


def find_disk(domain_xml: str, target: str) -> t.Optional[DiskAt]:
    """The disk with this target device in the domain XML (without pool facts), or None."""
    for disk in parse_xml(domain_xml, "domain XML").iterfind("devices/disk"):
        node = disk.find("target")
        if node is None or node.get("dev") != target:
            continue
        source = disk.find("source")
        attrs = source.attrib if source is not None else {}
        driver = disk.find("driver")
        return DiskAt(
            target=target,
            kind=disk.get("type", "file"),
            path=attrs.get("file") or attrs.get("dev") or attrs.get("name") or "",
            format=(driver.get("type") if driver is not None else None) or "raw",
            device=disk.get("device", "disk"),
            shareable=disk.find("shareable") is not None,
            readonly=disk.find("readonly") is not None,
            pool=attrs.get("pool"),
            volume=attrs.get("volume"),
        )
    return None


def read_records(domain_xml: str) -> t.Dict[str, MoveRecord]:
    """The moves under way, by disk target."""
    root = parse_xml(domain_xml, "domain XML").find(f"metadata/{{{MOVE_NS}}}moves")
    records = {}
    for node in root.iterfind(f"{{{MOVE_NS}}}move") if root is not None else ():
        record = MoveRecord(**{f.name: node.get(f.name, "") for f in dataclasses.fields(MoveRecord)})
        records[record.target] = record
    return records


def records_element(records: t.Iterable[MoveRecord]) -> ET.Element:
    root = ET.Element(f"{{{MOVE_NS}}}moves")
    for record in records:
        ET.SubElement(root, f"{{{MOVE_NS}}}move", {k: str(v) for k, v in dataclasses.asdict(record).items()})
    return root


def pointed_at(domain_xml: str, target: str, pool: str, volume: str, fmt: str, network: t.Optional[str] = None) -> str:
    """The domain XML with the disk's source made ``pool``/``volume`` in ``fmt`` (the rest of the disk kept) - or,
    for pools libvirt cannot attach as volume disks (RBD on libvirt 9.0), the <source> of the ``network`` disk."""
    root = parse_xml(domain_xml, "domain XML")
    for disk in root.iterfind("devices/disk"):
        node = disk.find("target")
        if node is None or node.get("dev") != target:
            continue
        old = disk.find("source")
        keep = {k: v for k, v in old.attrib.items() if k in ("startupPolicy",)} if old is not None else {}
        if old is not None:
            disk.remove(old)
        if network is not None:
            disk.set("type", "network")
            found = parse_xml(network, "network disk").find("source")
            source = found if found is not None else ET.Element("source")
            source.attrib.update(keep)
        else:
            disk.set("type", "volume")
            source = ET.Element("source", dict(keep, pool=pool, volume=volume))
        disk.insert(0, source)
        driver = disk.find("driver")
        if driver is None:
            driver = ET.SubElement(disk, "driver", {"name": "qemu"})
        driver.set("type", fmt)
        for stale in disk.findall("backingStore"):
            disk.remove(stale)
    return ET.tostring(root, encoding="unicode")
