# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.
"""Sources of MAC -> IP knowledge, shared by the vm_ip lookup and the inventory plugin.

This first part reads the host's neighbour (ARP) table. We read it ourselves rather than through
libvirt's ARP source: libvirt 9.0 rejects netlink dumps whose NLMSG_DONE shares a buffer with the
entries ("internal error: wrong nlmsg len"), which newer kernels always send.
"""

from __future__ import annotations

import dataclasses
import typing as t

from ._model.mac import normalize_mac

PROC_NET_ARP = "/proc/net/arp"
# /proc/net/arp flags: ATF_COM (0x2) marks a completed entry with a valid hardware address.
_ATF_COM = 0x2


@dataclasses.dataclass(frozen=True)
class Neighbour:
    """One IPv4 neighbour entry of the host."""

    ip: str
    mac: str
    device: str


def parse_proc_net_arp(text: str) -> t.List[Neighbour]:
    """Completed entries of /proc/net/arp (header skipped, MACs normalised, incomplete dropped)."""
    entries = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 6:
            continue
        ip, _hw_type, flags, mac, _mask, device = fields[:6]
        try:
            complete = int(flags, 16) & _ATF_COM
        except ValueError:
            continue
        if not complete or mac == "00:00:00:00:00:00":
            continue
        entries.append(Neighbour(ip=ip, mac=normalize_mac(mac), device=device))
    return entries


def read_neighbours(path: str = PROC_NET_ARP) -> t.List[Neighbour]:
    """The host's current IPv4 neighbour table."""
    with open(path, encoding="ascii") as handle:
        return parse_proc_net_arp(handle.read())
