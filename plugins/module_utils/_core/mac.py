"""MAC addresses in any common spelling, normalised to lowercase colon form."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import re
import typing as t

from .errors import SpecError

_CANONICAL = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_GROUPED = re.compile(r"^[0-9a-f]{1,2}([:-])[0-9a-f]{1,2}(\1[0-9a-f]{1,2}){4}$")
_DOTTED = re.compile(r"^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$")
_BARE = re.compile(r"^[0-9a-f]{12}$")
_FORMS = (
    "expected six hex pairs separated by ':' or '-' (52:54:00:fa:61:75), "
    "three groups of four separated by '.' (5254.00fa.6175) or 12 hex digits"
)


def normalize_mac(value: t.Any, path: str = "mac", unicast: bool = False) -> str:
    """Return value as 52:54:00:fa:61:75; raise SpecError naming path otherwise.

    Accepts any case, :/- separated pairs (leading zeros optional, as BSD arp prints
    them), Cisco-style dotted quads and bare hex. With unicast a multicast address is refused,
    since libvirt cannot give one to a NIC.
    """
    if not isinstance(value, str):
        raise SpecError(path, f"{value!r} is not a MAC address; {_FORMS}")
    if not unicast and _CANONICAL.match(value):
        return value  # libvirt's own spelling: most MACs read back from it (leases, XML, neighbours)
    text = value.strip().lower()
    if _GROUPED.match(text):
        pairs = [p.zfill(2) for p in re.split(r"[:-]", text)]
    elif _DOTTED.match(text) or _BARE.match(text):
        digits = text.replace(".", "")
        pairs = [digits[i : i + 2] for i in range(0, 12, 2)]
    else:
        raise SpecError(path, f"{value!r} is not a MAC address; {_FORMS}")
    mac = ":".join(pairs)
    if unicast and int(pairs[0], 16) & 1:
        raise SpecError(path, f"{value!r} is a multicast address; a NIC needs a unicast MAC (first byte even)")
    return mac
