"""Guest firmware in domain XML: BIOS or UEFI, and whether UEFI Secure Boot (with Microsoft's keys) is on."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t
import xml.etree.ElementTree as ET

from .._core.xmlutil import sub

# The firmware features libvirt matches against the firmware descriptors: a Secure Boot firmware comes with
# enrolled keys (it would refuse to boot anything otherwise), a plain one without.
SECURE_FEATURES = ("secure-boot", "enrolled-keys")


def read_firmware(os_el: t.Optional[ET.Element]) -> t.Optional[str]:
    """``efi`` or ``bios``; None without an <os> element."""
    if os_el is None:
        return None
    if os_el.get("firmware"):
        return os_el.get("firmware")
    loader = os_el.find("loader")
    return "efi" if loader is not None and loader.get("type") == "pflash" else "bios"


def read_secure_boot(os_el: t.Optional[ET.Element]) -> t.Optional[bool]:
    """Whether the definition asks for (or has) a Secure Boot firmware; None when it leaves it to libvirt."""
    if os_el is None:
        return None
    for feature in os_el.findall("firmware/feature"):
        if feature.get("name") == "secure-boot":
            return feature.get("enabled") == "yes"
    loader = os_el.find("loader")
    if loader is not None and loader.get("type") == "pflash":
        return loader.get("secure") == "yes"
    return None


def render_firmware(os_el: ET.Element, firmware: t.Optional[str], secure_boot: t.Optional[bool]) -> None:
    """Set the firmware kind, and ask libvirt for a firmware with or without Secure Boot."""
    if firmware == "efi":
        os_el.set("firmware", "efi")
    elif firmware and "firmware" in os_el.attrib:
        del os_el.attrib["firmware"]
    if secure_boot is None:
        return
    wanted = "yes" if secure_boot else "no"
    features = os_el.find("firmware")
    if features is None:
        features = ET.Element("firmware")
        os_el.insert(1, features)  # right after <type>, where libvirt keeps it
    for feature in list(features):
        if feature.get("name") in SECURE_FEATURES:
            features.remove(feature)
    for name in SECURE_FEATURES:
        sub(features, "feature", enabled=wanted, name=name)
    loader = os_el.find("loader")
    if loader is not None and os_el.get("firmware") == "efi":
        # libvirt chose this loader from the old features: let it choose again.
        os_el.remove(loader)
