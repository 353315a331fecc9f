"""Normalisers for network values: VLAN ids, IP addresses, interface addresses (CIDR)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import ipaddress
import typing as t

from .errors import SpecError

VLAN_MIN, VLAN_MAX = 1, 4094


def vlan_id(value: t.Any, path: str) -> int:
    """An 802.1Q VLAN id: 0 means "no VLAN" and 4095 is reserved, so 1-4094."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise SpecError(path, f"VLAN id {value!r} is not a number; use 1-4094")
    number = int(value)
    if not VLAN_MIN <= number <= VLAN_MAX:
        why = "0 means untagged" if number == 0 else "4095 is reserved by 802.1Q" if number == 4095 else "out of range"
        raise SpecError(path, f"VLAN id {number} is not usable ({why}); use 1-4094")
    return number


def ip_address(value: t.Any, path: str) -> str:
    """An IPv4 or IPv6 address in its compressed canonical form."""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise SpecError(path, f"{value!r} is not an IP address") from None


def interface_address(value: t.Any, path: str) -> str:
    """An address with its prefix length (``10.0.0.1/24``), canonical; a bare address is refused."""
    text = str(value).strip()
    if "/" not in text:
        raise SpecError(path, f"{value!r} needs a prefix length, as in 10.0.0.1/24")
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise SpecError(path, f"{value!r} is not an address with prefix length (10.0.0.1/24, fd00::1/64)") from None
    return str(iface)


def family_of(address: str) -> str:
    """``ipv4`` or ``ipv6`` for an address (with or without prefix)."""
    return "ipv6" if ":" in address else "ipv4"
