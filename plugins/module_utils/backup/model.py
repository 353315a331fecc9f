"""A domain's backup chain on disk and the libvirt documents that extend it (pure).

Each domain's backups live in ``<dest>/<domain>/``: one qcow2 file per disk and restore point, and
``chain.json``, the restore points oldest first. An incremental point's files back onto the point before it
(their backing file is rewritten after the backup), so every point's file is a complete image through its chain.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import json
import typing as t
import xml.etree.ElementTree as ET

from .._core.xmlutil import parse_xml

CHAIN_FILE = "chain.json"


@dataclasses.dataclass(frozen=True)
class DiskBackup:
    target: str
    file: str  # name inside the domain's backup directory
    size: int = 0  # bytes the file takes on disk


@dataclasses.dataclass(frozen=True)
class Point:
    """One restore point."""

    id: str  # also the libvirt checkpoint name, for points taken while the domain ran
    kind: str  # full or incremental
    time: str  # ISO 8601, UTC
    disks: t.Tuple[DiskBackup, ...]
    parent: str = ""  # the point an incremental one is based on
    checkpoint: bool = False  # a libvirt checkpoint marks it (a later incremental can start from it)
    quiesced: bool = False
    processed: int = 0  # bytes the backup read: the whole disks, or only the changed blocks
    seconds: float = 0.0  # how long it took

    def to_dict(self) -> t.Dict[str, t.Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: t.Mapping[str, t.Any]) -> Point:
        disks = tuple(DiskBackup(**d) for d in data.get("disks", ()))
        return cls(**{**{k: v for k, v in data.items() if k != "disks"}, "disks": disks})

    def file_of(self, target: str) -> t.Optional[str]:
        return next((d.file for d in self.disks if d.target == target), None)


def read_chain(text: t.Optional[str]) -> t.List[Point]:
    return [Point.from_dict(item) for item in json.loads(text)["points"]] if text else []


def write_chain(points: t.Sequence[Point]) -> str:
    return json.dumps({"points": [p.to_dict() for p in points]}, indent=1, sort_keys=True) + "\n"


def writable_disks(domain_xml: str) -> t.List[t.Tuple[str, str]]:
    """(target, format) of the disks a backup covers: not CD-ROMs, read-only or shareable disks."""
    out = []
    for disk in parse_xml(domain_xml, "domain XML").iterfind("devices/disk"):
        target = disk.find("target")
        if disk.get("device", "disk") != "disk" or target is None:
            continue
        if disk.find("readonly") is not None or disk.find("shareable") is not None:
            continue
        driver = disk.find("driver")
        out.append((target.get("dev", ""), (driver.get("type") if driver is not None else None) or "raw"))
    return out


def backup_xml(directory: str, point_id: str, targets: t.Sequence[str], since: str = "") -> str:
    """A push-mode <domainbackup> writing one qcow2 file per disk into ``directory``."""
    root = ET.Element("domainbackup", mode="push")
    if since:
        ET.SubElement(root, "incremental").text = since
    disks = ET.SubElement(root, "disks")
    for target in targets:
        disk = ET.SubElement(disks, "disk", name=target, backup="yes", type="file")
        ET.SubElement(disk, "target", file=f"{directory}/{file_name(point_id, target)}")
        ET.SubElement(disk, "driver", type="qcow2")
    return ET.tostring(root, encoding="unicode")


def checkpoint_xml(point_id: str, targets: t.Sequence[str]) -> str:
    """A checkpoint with a persistent bitmap in each disk: where the next incremental backup starts."""
    root = ET.Element("domaincheckpoint")
    ET.SubElement(root, "name").text = point_id
    disks = ET.SubElement(root, "disks")
    for target in targets:
        ET.SubElement(disks, "disk", name=target, checkpoint="bitmap")
    return ET.tostring(root, encoding="unicode")


def file_name(point_id: str, target: str) -> str:
    return f"{point_id}.{target}.qcow2"


def chain_to(points: t.Sequence[Point], point_id: str) -> t.List[Point]:
    """The points a restore of ``point_id`` reads, its full one first."""
    by_id = {p.id: p for p in points}
    if point_id not in by_id:
        raise KeyError(point_id)
    chain = [by_id[point_id]]
    while chain[-1].kind == "incremental":
        chain.append(by_id[chain[-1].parent])
    return list(reversed(chain))
