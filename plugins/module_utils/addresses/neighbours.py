"""This host's neighbour table, and a bounded sweep that fills it (I/O).

Only the standard library (and pyroute2 where installed): for a hypervisor reached over SSH, the lookup
and the inventory run this very file there with ``python3 -`` (see ``serve``), so the table is read and
the sweep is limited on the hypervisor itself.

The sweep sends one empty UDP datagram (discard port 9) to each address of a bridge's own subnet,
bound to that bridge. The kernel has to resolve every address first, so each live guest answers an
ARP request and lands in the neighbour table -- the "ping the whole subnet" advice without raw
sockets, without leaving the bridge and at a fixed rate.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import socket
import subprocess
import sys
import time
import typing as t

PROC_NET_ARP = "/proc/net/arp"


def _iproute() -> t.Any:
    """pyroute2's IPRoute, imported on first use (the import alone takes ~0.2 s); None without pyroute2."""
    try:
        from pyroute2 import IPRoute
    except ImportError:  # /proc/net/arp (IPv4 only) is read instead
        return None
    return IPRoute


DISCARD_PORT = 9
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)


class ProbeRefused(Exception):
    """The sweep cannot or must not run; the message says why and what to change."""


def read_table(ipv6: bool = True) -> t.Dict[str, t.Any]:
    """The host's IPv4 and (with ``ipv6``) IPv6 neighbours, raw: ``{"proc_net_arp": text}`` or
    ``{"netlink": [[ip, mac, state, device], ...]}`` (model.neighbours_from_table reads both).

    IPv4 alone comes from /proc/net/arp: one read, where netlink through pyroute2 costs ~0.4 ms an entry.
    Without pyroute2 IPv6 neighbours cannot be read, and IPv4 ones come from /proc/net/arp as well.
    """
    iproute = _iproute() if ipv6 else None
    if iproute is None:
        with open(PROC_NET_ARP, encoding="ascii") as handle:
            return {"proc_net_arp": handle.read()}
    with iproute() as ipr:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        rows = [
            [msg.get_attr("NDA_DST"), msg.get_attr("NDA_LLADDR"), msg["state"], names.get(msg["ifindex"], "?")]
            for msg in ipr.get_neighbours()
        ]
    return {"netlink": rows}


def bridge_subnets(bridge: str) -> t.List[ipaddress.IPv4Interface]:
    """The host's own IPv4 addresses (with prefix) on ``bridge``; through iproute2 where pyroute2 is missing."""
    iproute = _iproute()
    if iproute is None:
        return _bridge_subnets_by_ip_command(bridge)
    with iproute() as ipr:
        index = ipr.link_lookup(ifname=bridge)
        if not index:
            raise ProbeRefused(f"bridge {bridge} does not exist on this host")
        return [
            ipaddress.IPv4Interface(f"{msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}")
            for msg in ipr.get_addr(family=socket.AF_INET, index=index[0])
        ]


def _bridge_subnets_by_ip_command(bridge: str) -> t.List[ipaddress.IPv4Interface]:
    try:
        shown = subprocess.run(["ip", "-j", "-4", "addr", "show", "dev", bridge], capture_output=True, check=False)
    except OSError:
        raise ProbeRefused("probing needs the pyroute2 Python library or the ip command on this host") from None
    if shown.returncode != 0:
        raise ProbeRefused(f"bridge {bridge} does not exist on this host")
    return [
        ipaddress.IPv4Interface(f"{info['local']}/{info['prefixlen']}")
        for link in json.loads(shown.stdout or b"[]")
        for info in link.get("addr_info", ())
        if info.get("family") == "inet"
    ]


def sweep_targets(bridge: str, own: t.Sequence[ipaddress.IPv4Interface], limit: int) -> t.List[str]:
    """Every other address of the bridge's subnets, refused when there are more than ``limit``."""
    if not own:
        raise ProbeRefused(
            f"bridge {bridge} has no IPv4 address on this host, so the host cannot ARP on it; "
            "give the bridge an address in the guests' subnet (sharedvirt.kvm.bridge: addresses)"
        )
    mine = {str(iface.ip) for iface in own}
    targets: t.List[str] = []
    for iface in own:
        size = iface.network.num_addresses - 2
        if size > limit:
            raise ProbeRefused(
                f"subnet {iface.network} of bridge {bridge} has {size} addresses, more than "
                f"probe_max_addresses={limit}; raise it to sweep anyway"
            )
        targets += [str(ip) for ip in iface.network.hosts() if str(ip) not in mine]
    return list(dict.fromkeys(targets))


def sweep(bridge: str, limit: int, rate: float, settle: float = 1.0) -> str:
    """Make the kernel resolve every address of ``bridge``'s subnets; returns what was swept."""
    own = bridge_subnets(bridge)
    targets = sweep_targets(bridge, own, limit)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        # Without CAP_NET_RAW the binding is refused; the bridge's connected route still keeps traffic there.
        with contextlib.suppress(PermissionError):
            sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, bridge.encode())
        sock.setblocking(False)
        gap = 1.0 / rate
        start = time.monotonic()
        for i, ip in enumerate(targets):
            delay = start + i * gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            # EAGAIN/EHOSTUNREACH for an unresolved address: the ARP request went out anyway.
            with contextlib.suppress(OSError):
                sock.sendto(b"", (ip, DISCARD_PORT))
    time.sleep(settle)  # replies from live guests arrive within milliseconds; one second is generous
    subnets = ", ".join(str(iface.network) for iface in own)
    return f"{subnets} on bridge {bridge} ({len(targets)} addresses at {rate:g}/s)"


def serve(argv: t.Sequence[str]) -> t.Dict[str, t.Any]:
    """Sweep the bridges asked for, then read the table: what one SSH call to a hypervisor returns."""
    parser = argparse.ArgumentParser(prog="neighbours")
    parser.add_argument("--ipv6", action="store_true")
    parser.add_argument("--sweep", action="append", default=[])
    parser.add_argument("--limit", type=int, default=1024)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args(argv)
    swept: t.Dict[str, str] = {}
    refused: t.Dict[str, str] = {}
    for bridge in args.sweep:
        try:
            swept[bridge] = sweep(bridge, args.limit, args.rate)
        except ProbeRefused as why:
            refused[bridge] = str(why)
    return {"swept": swept, "refused": refused, "table": read_table(args.ipv6)}


if __name__ == "__main__":
    json.dump(serve(sys.argv[1:]), sys.stdout)
