"""A domain's device lists rendered into libvirt's <devices>: each declared device replaces the one with its
identity (disk target, NIC MAC), keeping what the collection does not model of it (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import copy
import typing as t
import xml.etree.ElementTree as ET

from .device_model import DiskSpec, GraphicsSpec, InterfaceSpec
from .hostdev_model import HostdevSpec


def disk_key(el: ET.Element) -> t.Optional[str]:
    target = el.find("target")
    return None if target is None else target.get("dev")


def mac_key(el: ET.Element) -> t.Optional[str]:
    mac = el.find("mac")
    return None if mac is None else (mac.get("address") or "").lower()


def render_device_list(
    devices: ET.Element,
    tag: str,
    wanted: t.Sequence[t.Union[DiskSpec, InterfaceSpec, GraphicsSpec, HostdevSpec]],
    key: t.Callable[[ET.Element], t.Any],
) -> None:
    """Make the <tag> devices exactly wanted, keeping libvirt's address/alias of kept devices."""
    existing = {key(el): el for el in devices.findall(tag)}
    keep_keys = set()
    for spec in wanted:
        identity = spec.identity()
        ident = identity[0] if identity else None
        new = spec.to_element()
        old = existing.get(ident) if ident is not None else None
        if old is not None:
            keep_keys.add(ident)
            keep_unmodelled(old, new, spec.FLAG_TAGS)
            devices.insert(list(devices).index(old), new)
            devices.remove(old)
        else:
            devices.append(new)
    for ident, old in existing.items():
        if ident not in keep_keys:
            devices.remove(old)


def keep_unmodelled(old: ET.Element, new: ET.Element, flag_tags: t.Tuple[str, ...]) -> None:
    """Carry into ``new`` what the collection does not model: attributes and children of ``old``.

    ``new`` is rendered from the merged spec, so a modelled value missing from it was removed on
    purpose only for the on/off children in ``flag_tags`` (readonly, shareable...).
    """
    for key, value in old.attrib.items():
        new.attrib.setdefault(key, value)
    for part in old:
        twin = new.find(part.tag)
        if twin is None:
            if part.tag not in flag_tags:
                new.append(copy.deepcopy(part))
        else:
            for key, value in part.attrib.items():
                twin.attrib.setdefault(key, value)
