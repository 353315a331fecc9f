"""Sizes in libvirt's unit vocabulary, converted to bytes.

libvirt reads K/KiB/M/MiB/... as powers of 1024 and KB/MB/GB/... as powers of 1000, case-insensitively
(https://libvirt.org/formatdomain.html#memory-allocation); we follow it exactly so that a value
written in the XML and the same value given as an option compare equal.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import re
import typing as t

from .errors import SpecError

_BINARY = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
UNITS_HELP = "use B, KiB, MiB, GiB, TiB (1024-based) or KB, MB, GB, TB (1000-based)"


def unit_factor(unit: str) -> t.Optional[int]:
    """Bytes per unit (libvirt semantics), or None when the unit is unknown."""
    u = unit.lower()
    if u in ("", "b", "byte", "bytes"):
        return 1
    letter = u[0]
    if letter not in _BINARY or u[1:] not in ("", "ib", "b"):
        return None
    power = _BINARY[letter]
    return 1000**power if u[1:] == "b" else 1024**power


def to_bytes(value: t.Any, path: str = "", default_unit: str = "B") -> int:
    """Convert 512M, 2 GiB, 1.5G, 1048576 or an int (in default_unit) to bytes."""
    if isinstance(value, bool):
        raise SpecError(path, f"{value!r} is not a size; give a number with a unit such as 512MiB")
    if isinstance(value, int):
        number, unit = str(value), default_unit
    elif isinstance(value, str):
        match = _SIZE_RE.match(value)
        if not match:
            raise SpecError(path, f"{value!r} is not a size; give a number with a unit such as 512MiB")
        number, unit = match.group(1), match.group(2) or default_unit
    else:
        raise SpecError(path, f"{value!r} is not a size; give a number with a unit such as 512MiB")
    if number.startswith("-"):
        raise SpecError(path, f"{value!r} is negative; sizes are zero or more")
    factor = unit_factor(unit)
    if factor is None:
        raise SpecError(path, f"{value!r} has an unknown unit {unit!r}; {UNITS_HELP}")
    whole, frac = number.split(".", 1) if "." in number else (number, "")
    # Integer arithmetic keeps 1.5GiB exact; floats would round large sizes.
    scale = 10 ** len(frac)
    total = (int(whole) * scale + int(frac or "0")) * factor
    if total % scale:
        raise SpecError(path, f"{value!r} is not a whole number of bytes")
    return total // scale


def from_libvirt(text: t.Optional[str], unit: t.Optional[str], default_unit: str = "KiB") -> t.Optional[int]:
    """Bytes from an XML value and its unit attribute (libvirt defaults memory to KiB)."""
    if text is None or not text.strip():
        return None
    return to_bytes(f"{text.strip()}{unit or default_unit}")


def human(size: int) -> str:
    """The largest exact binary unit, as libvirt would accept it back: 1073741824 -> '1GiB'."""
    for name, power in (("EiB", 6), ("PiB", 5), ("TiB", 4), ("GiB", 3), ("MiB", 2), ("KiB", 1)):
        factor = 1024**power
        if size and size % factor == 0:
            return f"{size // factor}{name}"
    return f"{size}B"
