"""Validation of object names before libvirt (or a file path built from them) sees them."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import re
import typing as t

from .errors import SpecError

_ALLOWED = re.compile(r"^[A-Za-z0-9._+-]+$")
# Linux interface names (bridges, taps) are limited by IFNAMSIZ (16 bytes with the NUL).
IFNAME_MAX = 15


def validate_name(value: t.Any, path: str = "name", kind: str = "object", max_length: int = 64) -> str:
    """Return value if it is a safe libvirt object name, else raise SpecError naming path.

    Names become file names (/etc/libvirt/qemu/NAME.xml, volume paths), so /, .. and a
    leading - (read as an option by tools) are refused.
    """
    if not isinstance(value, str) or not value:
        raise SpecError(path, f"a {kind} name is required (a non-empty string)")
    if len(value) > max_length:
        raise SpecError(path, f"{kind} name {value!r} is {len(value)} characters long; the limit is {max_length}")
    if "/" in value:
        raise SpecError(path, f"{kind} name {value!r} contains '/'; names become file names, use '-' or '_'")
    if ".." in value:
        raise SpecError(path, f"{kind} name {value!r} contains '..'; names become file names")
    if value.startswith(("-", ".")):
        raise SpecError(path, f"{kind} name {value!r} starts with {value[0]!r}; start with a letter or digit")
    if not _ALLOWED.match(value):
        bad = sorted({c for c in value if not _ALLOWED.match(c)})
        shown = " ".join(repr(c) for c in bad)
        raise SpecError(path, f"{kind} name {value!r} contains {shown}; use letters, digits and . _ + -")
    return value


def validate_ifname(value: t.Any, path: str = "name") -> str:
    """A Linux network interface name: a safe name of at most 15 characters."""
    return validate_name(value, path, kind="interface", max_length=IFNAME_MAX)
