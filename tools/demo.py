"""make demo: bring up the platform, boot the embedded guest on an isolated network, print MAC and IP.

Idempotent: a second run finds the network and guest and prints the same facts. Objects are
persistent (named svkvm-demo*) so an operator can look at them with virsh; --clean removes them.
Later issues grow this into the collection's playbooks.
"""

from __future__ import annotations

import ipaddress
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import libvirt  # noqa: E402
from testbed import services  # noqa: E402
from testbed.guest import (  # noqa: E402
    free_subnet,
    guest_domain_xml,
    guest_image,
    isolated_network_xml,
    local_domain_type,
    macs_of,
    serial_path,
)
from testbed.wait import wait_for  # noqa: E402

NETWORK = "svkvm-demo"
GUEST = "svkvm-demo-guest"
URI = "qemu:///system"
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors are handled, not printed


def lookup(fn: object, name: str) -> object | None:
    try:
        return fn(name)  # type: ignore[operator]
    except libvirt.libvirtError:
        return None


def ensure_network(conn: libvirt.virConnect) -> libvirt.virNetwork:
    net = lookup(conn.networkLookupByName, NETWORK)
    if net is None:
        subnet = free_subnet()
        net = conn.networkDefineXML(isolated_network_xml(NETWORK, subnet))
        print(f"demo: defined isolated network {NETWORK} ({subnet}, no forwarding)")
    if not net.isActive():
        net.create()
    return net


def ensure_guest(conn: libvirt.virConnect) -> libvirt.virDomain:
    dom = lookup(conn.lookupByName, GUEST)
    if dom is None:
        xml = guest_domain_xml(
            GUEST, guest_image(), local_domain_type(conn), networks=[NETWORK], serial=serial_path(GUEST)
        )
        dom = conn.defineXML(xml)
        print(f"demo: defined guest {GUEST} (embedded kernel + busybox image)")
    if not dom.isActive():
        dom.create()
        print(f"demo: started {GUEST}")
    return dom


def subnet_of(net: libvirt.virNetwork) -> ipaddress.IPv4Network:
    ip = ET.fromstring(net.XMLDesc(0)).find("ip")
    if ip is None:
        raise SystemExit(f"demo: network {NETWORK} has no address")
    return ipaddress.IPv4Network(f"{ip.get('address')}/{ip.get('prefix') or ip.get('netmask')}", strict=False)


def up() -> None:
    services.ensure()
    conn = libvirt.open(URI)
    started = time.monotonic()
    net = ensure_network(conn)
    dom = ensure_guest(conn)
    (mac,) = macs_of(dom)
    lease = wait_for(
        f"a DHCP lease for {mac}",
        lambda: [x for x in net.DHCPLeases() if x["mac"].lower() == mac],
        timeout=90,
    )[0]
    print(f"demo: {GUEST} on {NETWORK} ({subnet_of(net)}) after {time.monotonic() - started:.1f} s")
    print(f"MAC {mac}")
    print(f"IP  {lease['ipaddr']}")
    print("demo: remove it with `make demo-clean`")


def clean() -> None:
    services.ensure()
    conn = libvirt.open(URI)
    dom = lookup(conn.lookupByName, GUEST)
    if dom is not None:
        if dom.isActive():
            dom.destroy()
        dom.undefine()
        print(f"demo: removed {GUEST}")
    net = lookup(conn.networkLookupByName, NETWORK)
    if net is not None:
        if net.isActive():
            net.destroy()
        net.undefine()
        print(f"demo: removed {NETWORK}")
    serial_path(GUEST)


if __name__ == "__main__":
    clean() if "--clean" in sys.argv[1:] else up()
