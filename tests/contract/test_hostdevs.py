"""Host devices on libvirt's test driver: a PCI device, a USB device and an SR-IOV VF with its VLAN round-trip
through libvirt's parser on a test hypervisor that has them; a device the hypervisor lacks is refused by name."""

from __future__ import annotations

import typing as t
from pathlib import Path

from testbed.modules import run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import domain

NODE = """<node>
  <device><name>pci_0000_03_00_0</name><parent>computer</parent>
    <capability type='pci'><domain>0</domain><bus>3</bus><slot>0</slot><function>0</function>
      <product id='0x1572'/><vendor id='0x8086'/></capability></device>
  <device><name>pci_0000_03_10_1</name><parent>computer</parent>
    <capability type='pci'><domain>0</domain><bus>3</bus><slot>16</slot><function>1</function>
      <product id='0x154c'/><vendor id='0x8086'/></capability></device>
  <device><name>usb_1_2</name><parent>computer</parent>
    <capability type='usb_device'><bus>1</bus><device>2</device>
      <product id='0xc52b'/><vendor id='0x046d'/></capability></device>
</node>"""


def hypervisor(tmp_path: Path) -> str:
    path = tmp_path / "host.xml"
    path.write_text(NODE)
    return f"test://{path}"


def test_pci_usb_and_a_vf_round_trip_through_libvirt(tmp_path: Path) -> None:
    params: dict[str, t.Any] = {
        "uri": hypervisor(tmp_path),
        "name": "gpu1",
        "memory": "256MiB",
        "hostdevs": [{"type": "pci", "address": "03:00.0"}, {"type": "usb", "address": "046D:C52B", "managed": False}],
        "interfaces": [{"source": {"hostdev": "0000:03:10.1"}, "vlan": {"tag": 42}, "mac": "52:54:00:00:00:42"}],
    }
    made = run_module(domain, params)
    assert not made.get("failed"), made.get("msg")
    facts = made["domain"]  # read back from libvirt after the define, over the same connection
    assert facts["hostdevs"] == [
        {"type": "pci", "address": "0000:03:00.0", "managed": True},
        {"type": "usb", "address": "046d:c52b", "managed": False},
    ]
    (nic,) = facts["interfaces"]
    assert nic["source"] == {"hostdev": "0000:03:10.1"} and nic["vlan"] == {"tag": 42}


def test_a_device_the_hypervisor_lacks_is_refused_with_what_it_has(tmp_path: Path) -> None:
    uri = hypervisor(tmp_path)
    base = {"uri": uri, "name": "gpu2", "memory": "256MiB"}
    pci = run_module(domain, dict(base, hostdevs=[{"address": "0000:05:00.0"}]))
    assert pci["failed"] and pci["msg"] == (
        f"hostdevs[0].address: no PCI device 0000:05:00.0 on {uri} "
        "(lspci -Dnn there shows: 0000:03:00.0 [8086:1572]; 0000:03:10.1 [8086:154c])"
    )
    usb = run_module(domain, dict(base, hostdevs=[{"type": "usb", "address": "1234:5678"}]))
    assert usb["msg"] == f"hostdevs[0].address: no USB device 1234:5678 on {uri} (lsusb there shows: 046d:c52b)"
    vf = run_module(domain, dict(base, interfaces=[{"source": {"hostdev": "0000:03:10.7"}}]))
    assert vf["msg"].startswith(f"interfaces[0].source.hostdev: no PCI device 0000:03:10.7 on {uri}")
    checked = run_module(domain, dict(base, hostdevs=[{"address": "0000:05:00.0"}]), check_mode=True)
    assert not checked.get("failed") and "no PCI device 0000:05:00.0" in checked["warnings"][0]
