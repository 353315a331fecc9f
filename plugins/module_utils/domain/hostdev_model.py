"""Host devices given to a guest: PCI devices (managed: detached from the host driver at start), USB devices by
vendor and product, and mediated devices (mdev, such as vGPU slices) by UUID (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import re
import typing as t
import xml.etree.ElementTree as ET

from .._core.errors import SpecError
from .._core.spec import XmlSpec, choice, join_path, option
from .._core.xmlutil import element, sub

PCI = re.compile(r"^(?:([0-9a-f]{1,4}):)?([0-9a-f]{1,2}):([0-9a-f]{1,2})\.([0-7])$")
USB = re.compile(r"^([0-9a-f]{4}):([0-9a-f]{4})$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def pci_address(value: t.Any, path: str) -> str:
    """A PCI address as lspci -D prints it: ``0000:03:00.1`` (the domain may be left out: ``03:00.1``)."""
    match = PCI.match(str(value).strip().lower())
    if match is None:
        raise SpecError(path, f"{value!r} is not a PCI address; write it as lspci -D shows it, like 0000:03:00.1")
    dom, bus, slot, function = match.groups()
    return f"{int(dom or '0', 16):04x}:{int(bus, 16):02x}:{int(slot, 16):02x}.{function}"


def pci_attributes(address: str) -> t.Dict[str, str]:
    """libvirt's <address> attributes of a PCI address."""
    dom, bus, rest = address.split(":")
    slot, function = rest.split(".")
    return {"domain": f"0x{dom}", "bus": f"0x{bus}", "slot": f"0x{slot}", "function": f"0x{function}"}


def pci_of(node: t.Optional[ET.Element]) -> t.Optional[str]:
    """The PCI address in an <address> element (None when there is none)."""
    if node is None or node.get("bus") is None:
        return None
    parts = [int(node.get(k, "0"), 16) for k in ("domain", "bus", "slot", "function")]
    return f"{parts[0]:04x}:{parts[1]:02x}:{parts[2]:02x}.{parts[3]}"


@dataclasses.dataclass
class HostdevSpec(XmlSpec):
    """One host device; identified by its type and address (PCI address, USB vendor:product, mdev UUID)."""

    IDENTITY = ("type", "address")
    FLAG_TAGS: t.ClassVar[t.Tuple[str, ...]] = ()

    type: t.Optional[str] = option(normalize=choice(("pci", "usb", "mdev")))
    address: t.Optional[str] = option()
    managed: t.Optional[bool] = option()
    model: t.Optional[str] = option(normalize=choice(("vfio-pci", "vfio-ccw", "vfio-ap")))

    def validate(self, path: str) -> None:
        where = join_path(path, "address")
        text = str(self.address or "").lower()
        if self.type == "pci":
            self.address = pci_address(text, where)
        elif self.type == "usb" and not USB.match(text):
            raise SpecError(where, f"{self.address!r}: give a USB device as vendor:product, like 046d:c52b (lsusb)")
        elif self.type == "mdev" and not UUID.match(text):
            raise SpecError(where, f"{self.address!r}: give a mediated device by its UUID (mdevctl list)")
        self.address = self.address if self.type == "pci" else text
        if self.model and self.type != "mdev":
            raise SpecError(join_path(path, "model"), "only a mediated device (type=mdev) has a model")

    def node_device(self) -> t.Optional[str]:
        """libvirt's node device name (C(virsh nodedev-list)); None for USB, which is found by vendor and product."""
        if self.type == "pci" and self.address:
            return "pci_" + re.sub(r"[:.]", "_", self.address)
        if self.type == "mdev" and self.address:
            return "mdev_" + self.address.replace("-", "_")
        return None

    @classmethod
    def from_element(cls, root: ET.Element) -> HostdevSpec:
        kind = root.get("type")
        source = root.find("source")
        address: t.Optional[str] = None
        if source is not None and kind == "pci":
            address = pci_of(source.find("address"))
        elif source is not None and kind == "usb":
            vendor, product = source.find("vendor"), source.find("product")
            if vendor is not None and product is not None:
                address = f"{int(vendor.get('id', '0'), 16):04x}:{int(product.get('id', '0'), 16):04x}"
        elif source is not None and kind == "mdev":
            node = source.find("address")
            address = None if node is None else node.get("uuid")
        managed = None if kind == "mdev" else root.get("managed", "no") == "yes"
        return cls(type=kind, address=address, managed=managed, model=root.get("model"))

    def to_element(self) -> ET.Element:
        managed = None if self.type == "mdev" else ("yes" if self.managed is not False else "no")
        root = element("hostdev", mode="subsystem", type=self.type, managed=managed, model=self.model)
        source = sub(root, "source")
        if self.type == "pci" and self.address:
            sub(source, "address", **pci_attributes(self.address))
        elif self.type == "usb" and self.address:
            vendor, product = self.address.split(":")
            sub(source, "vendor", id=f"0x{vendor}")
            sub(source, "product", id=f"0x{product}")
        elif self.type == "mdev":
            sub(source, "address", uuid=self.address)
        return root


def hostdev_key(el: ET.Element) -> t.Optional[t.Tuple[t.Optional[str], t.Optional[str]]]:
    """The identity of a <hostdev> element, as HostdevSpec.identity() gives it."""
    spec = HostdevSpec.from_element(el)
    return (spec.type, spec.address)
