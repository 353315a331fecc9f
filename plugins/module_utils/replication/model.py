"""The replica's record, the blocks a sync ships, and the replica's definition (pure).

The replica is a domain defined, never started, on the target hypervisor, with raw volumes there. Its metadata
says which restore point of the source it holds and since when: readable on the target alone, after the
source died.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.xmlutil import parse_xml
from ..disk_move.model import pointed_at

REPLICA_NS = "https://sharedvirt.dev/xmlns/kvm/replica/1.0"
REPLICA_PREFIX = "sharedvirt-replica"
ET.register_namespace(REPLICA_PREFIX, REPLICA_NS)


@dataclasses.dataclass(frozen=True)
class ReplicaRecord:
    source: str  # the source hypervisor's URI
    point: str  # the restore point of the source the replica holds
    time: str  # when that point was taken (ISO 8601, UTC)
    volumes: t.Tuple[t.Tuple[str, str], ...]  # (disk target, replica volume)


@dataclasses.dataclass(frozen=True)
class Extent:
    """A range of the disk to write on the replica: bytes at ``offset`` of the backup file, or zeros (None)."""

    start: int
    length: int
    offset: t.Optional[int]


def record_element(record: ReplicaRecord) -> ET.Element:
    root = ET.Element(f"{{{REPLICA_NS}}}replica", source=record.source, point=record.point, time=record.time)
    for target, volume in record.volumes:
        ET.SubElement(root, f"{{{REPLICA_NS}}}disk", target=target, volume=volume)
    return root


def read_record(domain_xml: str) -> t.Optional[ReplicaRecord]:
    node = parse_xml(domain_xml, "domain XML").find(f"metadata/{{{REPLICA_NS}}}replica")
    if node is None:
        return None
    volumes = tuple((d.get("target", ""), d.get("volume", "")) for d in node.iterfind(f"{{{REPLICA_NS}}}disk"))
    return ReplicaRecord(node.get("source", ""), node.get("point", ""), node.get("time", ""), volumes)


def ship_extents(entries: t.Sequence[t.Mapping[str, t.Any]], whole: bool) -> t.List[Extent]:
    """What to write from ``qemu-img map --output=json`` of a backup file: its own data and its own zeroed
    ranges (depth 0). ``whole``: a full backup onto a fresh, sparse volume, where zeros need no writing."""
    out: t.List[Extent] = []
    for entry in entries:
        if entry.get("depth", 0) != 0 or not entry.get("present", True):
            continue
        start, length = int(entry["start"]), int(entry["length"])
        if entry.get("data") and "offset" in entry:
            offset: t.Optional[int] = int(entry["offset"])
        elif entry.get("zero") and not whole:
            offset = None
        else:
            continue
        last = out[-1] if out else None
        if last and last.start + last.length == start and _adjacent(last, offset):
            out[-1] = Extent(last.start, last.length + length, last.offset)
        else:
            out.append(Extent(start, length, offset))
    return out


def _adjacent(last: Extent, offset: t.Optional[int]) -> bool:
    if last.offset is None or offset is None:
        return last.offset is None and offset is None
    return last.offset + last.length == offset


def replica_xml(source_xml: str, pool: str, record: ReplicaRecord) -> str:
    """The source's definition with its replicated disks on the replica's raw volumes, and the record."""
    xml = source_xml
    for target, volume in record.volumes:
        xml = pointed_at(xml, target, pool, volume, "raw")
    root = parse_xml(xml, "domain XML")
    metadata = root.find("metadata")
    if metadata is None:
        metadata = ET.SubElement(root, "metadata")
    for old in metadata.findall(f"{{{REPLICA_NS}}}replica"):
        metadata.remove(old)
    metadata.append(record_element(record))
    return ET.tostring(root, encoding="unicode")
