"""The collection's metadata in a domain: the user's key/values, and the disks shared_disk attached (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t
import xml.etree.ElementTree as ET

from .._core.xmlutil import child

# User key/values live in the collection's own metadata namespace (libvirt keeps one element per
# namespace under <metadata>, and other tools' elements stay untouched).
METADATA_NS = "https://sharedvirt.dev/xmlns/kvm/1.0"
METADATA_PREFIX = "sharedvirt"
# The targets of disks the shared_disk module attached, in a namespace of their own (so the user's
# metadata, the inventory and placement never see them): the domain module leaves those disks alone.
SHARED_DISKS_NS = "https://sharedvirt.dev/xmlns/kvm/shared-disks/1.0"
SHARED_DISKS_PREFIX = "sharedvirt-disks"
ET.register_namespace(METADATA_PREFIX, METADATA_NS)
ET.register_namespace(SHARED_DISKS_PREFIX, SHARED_DISKS_NS)


def read_metadata(root: ET.Element) -> t.Dict[str, str]:
    node = root.find(f"metadata/{{{METADATA_NS}}}metadata")
    if node is None:
        return {}
    return {item.get("key", ""): item.text or "" for item in node.findall(f"{{{METADATA_NS}}}item")}


def metadata_element(values: t.Mapping[str, str]) -> ET.Element:
    """The collection's metadata element (also what virDomainSetMetadata takes)."""
    node = ET.Element(f"{{{METADATA_NS}}}metadata")
    for key in sorted(values):
        item = ET.SubElement(node, f"{{{METADATA_NS}}}item", {"key": key})
        item.text = str(values[key])
    return node


def write_metadata(root: ET.Element, values: t.Mapping[str, str]) -> None:
    holder = child(root, "metadata")
    for old in holder.findall(f"{{{METADATA_NS}}}metadata"):
        holder.remove(old)
    if values:
        holder.append(metadata_element(values))
    elif not list(holder):
        root.remove(holder)


def read_shared_disks(root: ET.Element) -> t.List[str]:
    node = root.find(f"metadata/{{{SHARED_DISKS_NS}}}disks")
    return [] if node is None else sorted(target.text or "" for target in node.findall(f"{{{SHARED_DISKS_NS}}}target"))


def write_shared_disks(root: ET.Element, targets: t.Sequence[str]) -> None:
    holder = child(root, "metadata")
    for old in holder.findall(f"{{{SHARED_DISKS_NS}}}disks"):
        holder.remove(old)
    if targets:
        node = ET.SubElement(holder, f"{{{SHARED_DISKS_NS}}}disks")
        for target in sorted(set(targets)):
            ET.SubElement(node, f"{{{SHARED_DISKS_NS}}}target").text = target
    elif not list(holder):
        root.remove(holder)
