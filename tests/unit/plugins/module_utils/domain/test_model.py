from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.cpuset import format_cpuset, normalize_cpuset
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.xmlutil import canonical, parse_xml
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.model import (
    METADATA_NS,
    DomainSpec,
    machine_matches,
)

# What libvirt 9 returns for a guest defined by the domain module (trimmed of nothing it models).
LIBVIRT_XML = f"""
<domain type='qemu'>
  <name>web1</name>
  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
  <title>front</title>
  <metadata><sharedvirt:metadata xmlns:sharedvirt='{METADATA_NS}'>
    <sharedvirt:item key='group'>web</sharedvirt:item></sharedvirt:metadata>
    <other:data xmlns:other='urn:other'>kept</other:data></metadata>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>786432</currentMemory>
  <vcpu placement='static' current='1'>2</vcpu>
  <iothreads>1</iothreads>
  <cputune><vcpupin vcpu='0' cpuset='0,1'/><emulatorpin cpuset='1'/><iothreadpin iothread='1' cpuset='0'/></cputune>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <kernel>/k</kernel><initrd>/i</initrd><cmdline>console=ttyS0</cmdline><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none' io='native' detect_zeroes='on'/>
      <source file='/var/lib/libvirt/images/web1.raw'/>
      <target dev='vda' bus='virtio'/>
      <serial>WEB1</serial>
      <shareable/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:fa:61:75'/>
      <source network='lab' portgroup='vlan10'/>
      <model type='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>
    <interface type='bridge'>
      <mac address='52:54:00:fa:61:76'/>
      <source bridge='ovsbr0'/>
      <virtualport type='openvswitch'><parameters interfaceid='abc'/></virtualport>
      <vlan><tag id='20'/></vlan>
      <link state='down'/>
    </interface>
    <serial type='file'><source path='/var/log/web1.log' append='on'/><target port='0'/></serial>
    <console type='file'><source path='/var/log/web1.log'/><target type='serial' port='0'/></console>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/></graphics>
    <video><model type='cirrus'/></video>
    <memballoon model='virtio'/>
  </devices>
</domain>
"""


def test_parse_libvirt_xml() -> None:
    spec = DomainSpec.from_xml(LIBVIRT_XML)
    facts = spec.to_dict()
    assert facts["metadata"] == {"group": "web"}
    assert (facts["memory"], facts["current_memory"], facts["vcpus"], facts["max_vcpus"]) == (2**30, 768 * 2**20, 1, 2)
    assert facts["cputune"] == {
        "vcpupin": [{"vcpu": 0, "cpuset": "0-1"}],
        "emulatorpin": "1",
        "iothreadpin": [{"iothread": 1, "cpuset": "0"}],
    }
    assert facts["iothreads"] == 1
    assert facts["machine"] == "pc-i440fx-7.2" and facts["firmware"] == "bios" and facts["boot"] == ["hd"]
    assert facts["disks"] == [
        {
            "target": "vda",
            "bus": "virtio",
            "device": "disk",
            "source": {"file": "/var/lib/libvirt/images/web1.raw"},
            "format": "raw",
            "cache": "none",
            "io": "native",
            "serial": "WEB1",
            "readonly": False,
            "shareable": True,
        }
    ]
    nics = facts["interfaces"]
    assert nics[0] == {
        "mac": "52:54:00:fa:61:75",
        "source": {"network": "lab", "portgroup": "vlan10"},
        "model": "virtio",
        "link_state": "up",
    }
    assert nics[1]["virtualport"] == "openvswitch" and nics[1]["vlan"] == {"tag": 20}
    assert nics[1]["link_state"] == "down" and nics[1]["source"] == {"bridge": "ovsbr0"}
    assert facts["graphics"] == [{"type": "vnc", "listen": "127.0.0.1"}]
    assert facts["serial"] == {"type": "file", "path": "/var/log/web1.log"}
    assert facts["guest_agent"] is True


def test_render_keeps_what_is_not_modelled() -> None:
    base = parse_xml(LIBVIRT_XML)
    declared = DomainSpec.from_params({"name": "web1", "title": "renamed"})
    out = declared.render(base)
    assert out.findtext("title") == "renamed"
    out.find("title").text = "front"  # type: ignore[union-attr]
    assert canonical(out) == canonical(base)


def test_render_device_change_keeps_address_and_unmodelled_attributes() -> None:
    actual = DomainSpec.from_xml(LIBVIRT_XML)
    disk = actual.disks[0].replace(cache="directsync")  # type: ignore[index]
    out = DomainSpec(disks=[disk]).render(parse_xml(LIBVIRT_XML))
    (el,) = out.findall("devices/disk")
    driver = el.find("driver")
    assert driver is not None and driver.get("cache") == "directsync" and driver.get("detect_zeroes") == "on"
    assert el.find("address") is not None and el.find("shareable") is not None


def test_render_turning_a_flag_off_removes_it() -> None:
    actual = DomainSpec.from_xml(LIBVIRT_XML)
    disk = actual.disks[0].replace(shareable=False)  # type: ignore[index]
    out = DomainSpec(disks=[disk]).render(parse_xml(LIBVIRT_XML))
    assert out.find("devices/disk/shareable") is None


def test_render_list_is_complete_and_keeps_other_metadata() -> None:
    out = DomainSpec(interfaces=[], metadata={}).render(parse_xml(LIBVIRT_XML))
    assert out.findall("devices/interface") == []
    assert out.find("metadata/{urn:other}data") is not None
    assert out.find(f"metadata/{{{METADATA_NS}}}metadata") is None


def test_new_domain_xml() -> None:
    spec = DomainSpec.from_params(
        {
            "name": "n1",
            "type": "qemu",
            "memory": 256,
            "vcpus": 1,
            "max_vcpus": 4,
            "metadata": {"b": "2", "a": "1"},
            "interfaces": [{"source": {"network": "lab"}, "vlan": {"tag": 10}}],
            "guest_agent": True,
        }
    )
    root = ET.fromstring(spec.to_xml())
    assert root.get("type") == "qemu"
    assert root.find("features/acpi") is not None
    assert root.findtext("currentMemory") == str(256 * 1024)
    vcpu = root.find("vcpu")
    assert vcpu is not None and vcpu.text == "4" and vcpu.get("current") == "1"
    assert [i.get("key") for i in root.iter(f"{{{METADATA_NS}}}item")] == ["a", "b"]
    assert root.find("devices/interface/vlan/tag").get("id") == "10"  # type: ignore[union-attr]
    assert DomainSpec.from_xml(spec.to_xml()).guest_agent is True
    assert "sharedvirt:metadata" in spec.to_xml()


def test_user_xml_leaves_out_what_it_does_not_say() -> None:
    spec = DomainSpec.from_user_xml("<domain type='kvm'><name>x</name><memory unit='MiB'>64</memory></domain>")
    assert spec.to_dict() == {"name": "x", "type": "kvm", "memory": 64 * 2**20}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"memory": "1G", "current_memory": "2G"},
            "current_memory: is larger than memory; the balloon cannot exceed it",
        ),
        ({"vcpus": 3, "max_vcpus": 2}, "vcpus: 3 is more than max_vcpus 2"),
        (
            {"disks": [{"target": "vda", "source": {"file": "/a"}}, {"target": "vda", "source": {"file": "/b"}}]},
            "disks[1].target: vda is used twice in this domain",
        ),
        (
            {"disks": [{"target": "vda"}]},
            "disks[0].source: a disk needs a source: file, dev, pool+volume or protocol+name",
        ),
        ({"disks": [{"target": "vda", "source": {"pool": "p"}}]}, "disks[0].source: pool and volume go together"),
        ({"disks": [{"target": "vda", "source": {"protocol": "rbd"}}]}, "disks[0].source.name: a rbd disk needs"),
        (
            {"disks": [{"target": "vda", "source": {"file": "/a"}, "io": "native", "cache": "writeback"}]},
            "disks[0].io:",
        ),
        ({"interfaces": [{"source": {"network": "a", "bridge": "b"}}]}, "interfaces[0].source: give exactly one of"),
        ({"interfaces": [{"mac": "01:00:5e:00:00:01", "source": {"network": "a"}}]}, "interfaces[0].mac: '01:00:5e"),
        (
            {"interfaces": [{"source": {"bridge": "b"}, "vlan": {"tag": 5000}}]},
            "interfaces[0].vlan.tag: 5000 is out of range",
        ),
        (
            {"cputune": {"vcpupin": [{"vcpu": 2, "cpuset": "0"}]}, "vcpus": 2},
            "cputune.vcpupin[0].vcpu: 2 is not below 2",
        ),
        ({"cputune": {"emulatorpin": "3-1"}}, "cputune.emulatorpin: '3-1' has the range '3-1' backwards"),
        ({"serial": {"type": "file"}}, "serial.path: a file serial port needs the log file path"),
        (
            {"graphics": [{"type": "vnc", "password": "123456789"}]},
            "graphics[0].password: a VNC password has at most 8",
        ),
    ],
)
def test_domain_spec_errors(params: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError) as err:
        DomainSpec.from_params({"name": "x", **params})
    assert str(err.value).startswith(message), str(err.value)


@pytest.mark.parametrize(
    ("wanted", "actual", "same"),
    [("pc", "pc-i440fx-7.2", True), ("q35", "pc-q35-7.2", True), ("q35", "pc-i440fx-7.2", False), ("pc", None, False)],
)
def test_machine_aliases(wanted: str, actual: str | None, same: bool) -> None:
    assert machine_matches(wanted, actual) is same


@pytest.mark.parametrize(
    ("value", "canonical_form"),
    [("0,1,2,5", "0-2,5"), ("0-3,^2", "0-1,3"), (3, "3"), ([4, 1], "1,4"), (" 1 - 2 ".replace(" ", ""), "1-2")],
)
def test_cpusets(value: object, canonical_form: str) -> None:
    assert normalize_cpuset(value) == canonical_form


def test_cpuset_errors() -> None:
    with pytest.raises(SpecError) as err:
        normalize_cpuset("0-1,x", "cputune.emulatorpin")
    assert str(err.value) == "cputune.emulatorpin: '0-1,x' is not a CPU set; write it like 0-3,8 or ^2"
    with pytest.raises(SpecError) as err:
        normalize_cpuset("1,^1")
    assert str(err.value) == "cpuset: '1,^1' selects no CPU"
    assert format_cpuset([]) == ""


def test_scsi_disks_get_a_virtio_scsi_controller_once() -> None:
    scsi = {"target": "sda", "bus": "scsi", "source": {"file": "/a.raw"}}
    root = ET.fromstring(DomainSpec.from_params({"name": "x", "disks": [scsi]}).to_xml())
    assert [(c.get("type"), c.get("model")) for c in root.findall("devices/controller")] == [("scsi", "virtio-scsi")]
    again = DomainSpec.from_params({"name": "x", "disks": [scsi]}).render(root)
    assert len(again.findall("devices/controller[@type='scsi']")) == 1
    plain = ET.fromstring(
        DomainSpec.from_params({"name": "x", "disks": [dict(scsi, bus="virtio", target="vda")]}).to_xml()
    )
    assert plain.find("devices/controller") is None


def test_the_lease_of_the_lock_manager() -> None:
    spec = DomainSpec.from_params({"name": "db1", "memory": 64, "lease": "/shared/leases/"})
    root = spec.render(None)
    lease = root.find("devices/lease")
    assert lease is not None and lease.findtext("lockspace") == "sharedvirt" and lease.findtext("key") == "db1"
    assert lease.find("target").get("path") == "/shared/leases"  # type: ignore[union-attr]
    assert DomainSpec.from_xml(ET.tostring(root, encoding="unicode")).lease == "/shared/leases"
    gone = DomainSpec(name="db1", lease="").render(root)
    assert gone.find("devices/lease") is None
    with pytest.raises(SpecError, match="^lease: 'leases' is not an absolute directory path"):
        DomainSpec.from_params({"name": "db1", "lease": "leases"})


def test_locked_memory_renders_reads_back_and_turns_off() -> None:
    """memory_backing.locked (a storage appliance's reserved memory) beside the other backing flags."""
    locked = DomainSpec.from_params({"memory_backing": {"locked": True}})
    out = locked.render(parse_xml(LIBVIRT_XML))
    assert out.find("memoryBacking/locked") is not None and out.find("memoryBacking/hugepages") is None
    back = DomainSpec.from_xml(ET.tostring(out, encoding="unicode")).memory_backing
    assert back is not None and (back.locked, back.hugepages, back.nosharepages) == (True, False, False)
    unlocked = DomainSpec.from_params({"memory_backing": {"locked": False}}).render(out)
    assert unlocked.find("memoryBacking") is None
