"""Whether the host devices a domain names exist on its hypervisor, read from libvirt's node devices (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import LibvirtClient, is_not_found, libvirt, libvirt_errors, translate
from .._core.xmlutil import parse_xml
from .hostdev_model import HostdevSpec

SHOWN = 16  # devices listed in an error, as lspci would show them


def missing_hostdev(client: LibvirtClient, device: HostdevSpec) -> t.Optional[str]:
    """None when the device is on the host; else why not, with the devices of that kind the host has."""
    if device.type == "usb":
        present = _usb_devices(client)
        if device.address in present:
            return None
        have = ", ".join(sorted(present)) or "none"
        return f"no USB device {device.address} on {client.uri} (lsusb there shows: {have})"
    try:
        client.conn.nodeDeviceLookupByName(device.node_device())
        return None
    except libvirt.libvirtError as err:
        if not is_not_found(err) and err.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
            raise translate(err, f"look up host device {device.address} on {client.uri}") from None
    what = "PCI device" if device.type == "pci" else "mediated device"
    listing = _pci_listing(client) if device.type == "pci" else []
    shown = "; ".join(listing[:SHOWN]) + (f"; and {len(listing) - SHOWN} more" if len(listing) > SHOWN else "")
    return f"no {what} {device.address} on {client.uri}" + (f" (lspci -Dnn there shows: {shown})" if shown else "")


def _node_devices(client: LibvirtClient, capability: int) -> t.List[t.Any]:
    with libvirt_errors(f"list the host devices of {client.uri}"):
        try:
            return list(client.conn.listAllDevices(capability))
        except libvirt.libvirtError as err:
            if err.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
                return []  # a driver without node devices (test:///) has none to show
            raise


def _pci_listing(client: LibvirtClient) -> t.List[str]:
    """Each PCI device as ``0000:00:02.0 [8086:0d57]`` (lspci -Dnn's address and IDs)."""
    found = []
    for dev in _node_devices(client, libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV):
        cap = parse_xml(dev.XMLDesc(0), f"node device {dev.name()}").find("capability[@type='pci']")
        if cap is None:
            continue
        number = [int(cap.findtext(k) or "0") for k in ("domain", "bus", "slot", "function")]
        found.append(
            f"{number[0]:04x}:{number[1]:02x}:{number[2]:02x}.{number[3]} [{_id(cap, 'vendor')}:{_id(cap, 'product')}]"
        )
    return sorted(found)


def _usb_devices(client: LibvirtClient) -> t.Set[str]:
    found = set()
    for dev in _node_devices(client, libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_DEV):
        cap = parse_xml(dev.XMLDesc(0), f"node device {dev.name()}").find("capability[@type='usb_device']")
        if cap is not None:
            found.add(f"{_id(cap, 'vendor')}:{_id(cap, 'product')}")
    return found


def _id(capability: t.Any, tag: str) -> str:
    """A vendor or product ID as four hex digits (lspci and lsusb print them so)."""
    node = capability.find(tag)
    return "????" if node is None else f"{int(node.get('id', '0'), 16):04x}"
