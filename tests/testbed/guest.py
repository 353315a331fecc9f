"""Isolated libvirt networks and embedded test guests, built as XML with ElementTree."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import random
import subprocess
import typing as t
import xml.etree.ElementTree as ET
from pathlib import Path

from .guest_image import GuestImage, ensure_guest_image
from .paths import GUEST_CACHE, RUN_DIR, link_collection

link_collection()

from ansible_collections.sharedvirt.kvm.plugins.module_utils.host.model import (  # noqa: E402
    capabilities_facts,
    cpu_virtualization,
    preferred_domain_type,
)

AGENT_CHANNEL = "org.qemu.guest_agent.0"


def guest_image() -> GuestImage:
    """The embedded guest, built once per content hash."""
    image = ensure_guest_image(GUEST_CACHE)[0]
    return image


def local_domain_type(conn: t.Any) -> str:
    """kvm when this machine can run it, else qemu (TCG) -- the same rule as host_info."""
    facts = capabilities_facts(conn.getCapabilities())
    offered = facts["domain_types"].get(facts["arch"], [])
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        hardware = cpu_virtualization(handle.read()) is not None
    return preferred_domain_type(offered, hardware)


def used_subnets() -> list[ipaddress.IPv4Network]:
    routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True, check=True).stdout
    nets = []
    for line in routes.splitlines():
        first = line.split()[0]
        if "/" in first:
            nets.append(ipaddress.IPv4Network(first, strict=False))
    return nets


def test_range() -> ipaddress.IPv4Network:
    """Where test networks live: 10.200.0.0/13, or under pytest-xdist one /16 of it per worker, so that two
    workers never pick the same subnet between one's choice and its route appearing."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return ipaddress.IPv4Network("10.200.0.0/13")
    return list(ipaddress.IPv4Network("10.200.0.0/13").subnets(new_prefix=16))[int(worker[2:]) % 8]


def free_subnet(prefixlen: int = 24) -> ipaddress.IPv4Network:
    """A subnet (a /24 unless asked) in the test range that no route on this machine overlaps."""
    taken = used_subnets()
    blocks = list(test_range().subnets(new_prefix=prefixlen))
    for _attempt in range(200):
        candidate = random.choice(blocks)
        if not any(candidate.overlaps(net) for net in taken):
            return candidate
    raise RuntimeError(f"no free /{prefixlen} in {test_range()} for a test network")


def isolated_network_xml(
    name: str, subnet: ipaddress.IPv4Network, reservations: t.Mapping[str, str] | None = None
) -> str:
    """An isolated network (no <forward>: traffic never leaves the machine) with DHCP (MAC -> IP reservations)."""
    hosts = list(subnet.hosts())
    root = ET.Element("network")
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "bridge", {"name": name[:15], "stp": "off"})
    ip = ET.SubElement(root, "ip", {"address": str(hosts[0]), "prefix": str(subnet.prefixlen)})
    dhcp = ET.SubElement(ip, "dhcp")
    ET.SubElement(dhcp, "range", {"start": str(hosts[9]), "end": str(hosts[99])})
    for mac, address in (reservations or {}).items():
        ET.SubElement(dhcp, "host", {"mac": mac, "ip": address})
    return ET.tostring(root, encoding="unicode")


@dataclasses.dataclass
class Disk:
    """A disk for the guest: a file (raw unless ``format`` says otherwise) on a virtio target."""

    path: str
    target: str = "vda"
    shareable: bool = False
    format: str = "raw"


def guest_domain_xml(
    name: str,
    image: GuestImage,
    domain_type: str,
    networks: t.Sequence[str] = (),
    serial: Path | None = None,
    memory_mib: int = 160,
    cmdline: str = "",
    agent: bool = True,
    disks: t.Sequence[Disk] = (),
    bridges: t.Sequence[str] = (),
    macs: t.Sequence[str] = (),
) -> str:
    """The test guest: direct kernel boot of the embedded image, one virtio NIC per network, then per bridge.

    ``macs`` gives the NICs their MACs in that order (libvirt generates the rest).
    """
    root = ET.Element("domain", {"type": domain_type})
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "memory", {"unit": "MiB"}).text = str(memory_mib)
    ET.SubElement(root, "vcpu").text = "1"
    features = ET.SubElement(root, "features")
    ET.SubElement(features, "acpi")  # power button and PCI hot-plug
    os_el = ET.SubElement(root, "os")
    ET.SubElement(os_el, "type", {"arch": "x86_64", "machine": "pc"}).text = "hvm"
    ET.SubElement(os_el, "kernel").text = image.kernel
    ET.SubElement(os_el, "initrd").text = image.initrd
    ET.SubElement(os_el, "cmdline").text = f"{image.cmdline} sv_hostname={name} {cmdline}".strip()
    ET.SubElement(root, "on_poweroff").text = "destroy"
    devices = ET.SubElement(root, "devices")
    # No USB controller: the guest does not use one, and its kernel's USB hand-off quirk costs ~0.5 s under TCG.
    ET.SubElement(devices, "controller", {"type": "usb", "model": "none"})
    for disk in disks:
        el = ET.SubElement(devices, "disk", {"type": "file", "device": "disk"})
        ET.SubElement(el, "driver", {"name": "qemu", "type": disk.format, "cache": "none"})
        ET.SubElement(el, "source", {"file": disk.path})
        ET.SubElement(el, "target", {"dev": disk.target, "bus": "virtio"})
        if disk.shareable:
            ET.SubElement(el, "shareable")
    sources = [("network", n) for n in networks] + [("bridge", b) for b in bridges]
    for i, (kind, source) in enumerate(sources):
        nic = ET.SubElement(devices, "interface", {"type": kind})
        if i < len(macs):
            ET.SubElement(nic, "mac", {"address": macs[i]})
        ET.SubElement(nic, "source", {kind: source})
        ET.SubElement(nic, "model", {"type": "virtio"})
    if serial is not None:
        console = ET.SubElement(devices, "serial", {"type": "file"})
        # append: a migrated guest's QEMU on the destination opens the same file and must not truncate it.
        ET.SubElement(console, "source", {"path": str(serial), "append": "on"})
        ET.SubElement(console, "target", {"port": "0"})
    if agent:
        channel = ET.SubElement(devices, "channel", {"type": "unix"})
        ET.SubElement(channel, "target", {"type": "virtio", "name": AGENT_CHANNEL})
    ET.SubElement(devices, "memballoon", {"model": "virtio"})
    return ET.tostring(root, encoding="unicode")


def serial_path(name: str) -> Path:
    """A fresh serial log path for guest ``name``."""
    RUN_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    path = RUN_DIR / f"{name}.serial"
    path.unlink(missing_ok=True)
    return path


def macs_of(dom: t.Any) -> list[str]:
    """The MAC addresses of a domain's NICs, from its live XML."""
    root = ET.fromstring(dom.XMLDesc(0))
    return [m.get("address", "") for m in root.findall("devices/interface/mac")]
