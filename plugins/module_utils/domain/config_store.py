"""libvirt's own files of persistent domain definitions, read where the API hides a value (I/O, local only).

A read-only connection - all that check mode opens - never shows display passwords. libvirt's
qemu:///system daemon keeps each persistent definition, passwords included, in a root-only file on the
hypervisor: on that machine, check mode compares the declared password with the stored one.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import os
import typing as t

from .._core.errors import CollectionError
from .._core.xmlutil import parse_xml, to_string
from ..host.model import uri_is_local

SYSTEM_STORE = "/etc/libvirt/qemu"


def store_path(uri: str, name: str) -> t.Optional[str]:
    """The file of domain ``name``'s definition, when ``uri`` is this machine's system qemu daemon."""
    if not uri_is_local(uri) or not uri.startswith("qemu") or not uri.rstrip("/").endswith("/system"):
        return None
    return os.path.join(SYSTEM_STORE, f"{name}.xml")


def with_stored_passwords(uri: str, name: str, xml: str) -> t.Optional[str]:
    """``xml`` with each display's password from the stored definition; None when that cannot be read."""
    path = store_path(uri, name)
    if path is None or not os.access(path, os.R_OK):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            stored = parse_xml(handle.read(), f"stored definition {path}")
    except (OSError, CollectionError):
        return None
    passwords = {g.get("type"): g.get("passwd") for g in stored.findall("devices/graphics")}
    root = parse_xml(xml, "current domain XML")
    for graphics in root.findall("devices/graphics"):
        password = passwords.get(graphics.get("type"))
        if password is not None:
            graphics.set("passwd", password)
    return to_string(root)


def passwords_readable(uri: str, name: str) -> bool:
    """Whether check mode can compare ``name``'s display passwords (its stored definition is readable here)."""
    path = store_path(uri, name)
    return path is not None and os.access(path, os.R_OK)
