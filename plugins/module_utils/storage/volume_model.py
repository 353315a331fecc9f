"""VolumeSpec: a storage volume (format, capacity, backing store), parsed from and rendered to XML."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.names import validate_name
from .._core.spec import XmlSpec, choice, option
from .._core.units import from_libvirt, to_bytes
from .._core.xmlutil import element, sub, text_of

FORMATS = ("raw", "qcow2", "vmdk", "vdi", "vhd", "vpc", "qed", "iso")


@dataclasses.dataclass
class VolumeSpec(XmlSpec):
    """A volume in a pool; the path, allocation and backing store are libvirt's facts."""

    name: t.Optional[str] = option(normalize=lambda v, p: validate_name(v, p, "volume", max_length=255))
    format: t.Optional[str] = option(normalize=choice(FORMATS))
    capacity: t.Optional[int] = option(normalize=lambda v, p: to_bytes(v, p, default_unit="MiB"))
    path: t.Optional[str] = option(generated=True)
    allocation: t.Optional[int] = option(generated=True)
    backing: t.Optional[str] = option(generated=True)
    backing_format: t.Optional[str] = option(generated=True)

    @classmethod
    def from_element(cls, root: ET.Element) -> VolumeSpec:
        capacity = root.find("capacity")
        allocation = root.find("allocation")
        fmt = root.find("target/format")
        backing_fmt = root.find("backingStore/format")
        return cls(
            name=text_of(root, "name"),
            format=None if fmt is None else fmt.get("type"),
            capacity=None if capacity is None else from_libvirt(capacity.text, capacity.get("unit"), "bytes"),
            path=text_of(root, "target/path"),
            allocation=None if allocation is None else from_libvirt(allocation.text, allocation.get("unit"), "bytes"),
            backing=text_of(root, "backingStore/path"),
            backing_format=None if backing_fmt is None else backing_fmt.get("type"),
        )

    def to_element(self) -> ET.Element:
        """XML for creating the volume; ``allocation`` 0 is thin, equal to capacity is preallocated."""
        root = element("volume")
        sub(root, "name", self.name)
        sub(root, "capacity", self.capacity or 0, unit="bytes")
        sub(root, "allocation", self.allocation or 0, unit="bytes")
        if self.format:
            sub(sub(root, "target"), "format", type=self.format)
        if self.backing:
            store = sub(root, "backingStore")
            sub(store, "path", self.backing)
            sub(store, "format", type=self.backing_format or "raw")
        return root
