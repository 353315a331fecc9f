"""External snapshots as files: which overlay each one started, on which base, and who builds on it (pure).

libvirt 9.0 refuses to revert to an external snapshot. The collection does it itself: a disk-only external
snapshot is the state of each base file when the snapshot was taken, and its overlay holds every write since.
A revert gives each disk a fresh, empty overlay on the same base - unless a later snapshot was taken on top
of that overlay, whose data the new overlay would pull from under it.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.xmlutil import parse_xml


@dataclasses.dataclass(frozen=True)
class Layer:
    """One disk of an external snapshot: the overlay it started, on ``base`` (in ``base_format``)."""

    target: str
    overlay: str
    base: str
    base_format: str


@dataclasses.dataclass
class ExternalSnapshot:
    layers: t.List[Layer]
    memory: bool  # the guest's memory was saved too (libvirt 9.0 cannot restore it with the disks)
    disk_files: t.FrozenSet[str]  # the files the domain's disks were when the snapshot was taken


def read_external(snapshot_xml: str) -> ExternalSnapshot:
    root = parse_xml(snapshot_xml, "snapshot XML")
    bases = {_target(d): d for d in root.findall("domain/devices/disk")}
    layers = []
    for disk in root.findall("disks/disk"):
        source = disk.find("source")
        base = bases.get(disk.get("name", ""))
        if disk.get("snapshot") != "external" or source is None or base is None:
            continue
        base_source, driver = base.find("source"), base.find("driver")
        layers.append(
            Layer(
                target=disk.get("name", ""),
                overlay=source.get("file", ""),
                base=base_source.get("file", "") if base_source is not None else "",
                base_format=driver.get("type", "raw") if driver is not None else "raw",
            )
        )
    memory = root.find("memory")
    files = {s.get("file", "") for s in root.findall("domain/devices/disk/source")} - {""}
    return ExternalSnapshot(layers, memory is not None and memory.get("snapshot") == "external", frozenset(files))


def built_on(name: str, snapshots: t.Mapping[str, ExternalSnapshot]) -> t.List[str]:
    """The other snapshots taken on top of one of snapshot ``name``'s overlays."""
    overlays = {layer.overlay for layer in snapshots[name].layers}
    return sorted(other for other, snap in snapshots.items() if other != name and overlays & snap.disk_files)


def _target(disk: ET.Element) -> str:
    target = disk.find("target")
    return target.get("dev", "") if target is not None else ""


def chain_depths(domain_xml: str) -> t.Dict[str, int]:
    """Per disk target, how many images lie below the top one (the nested <backingStore> elements with a source)."""
    depths = {}
    for disk in parse_xml(domain_xml, "domain XML").iterfind("devices/disk"):
        target = disk.find("target")
        if target is None:
            continue
        depth, store = 0, disk.find("backingStore")
        while store is not None and store.find("source") is not None:
            depth += 1
            store = store.find("backingStore")
        depths[target.get("dev", "")] = depth
    return depths
