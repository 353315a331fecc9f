"""Foreign images into pools: VMware, VirtualBox and Hyper-V disks made by qemu-img with known data become raw and
qcow2 volumes holding the same data; images that reach outside themselves are refused."""

from __future__ import annotations

import hashlib
import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from testbed.ansible import run_playbook
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, ova_import, pool, volume

URI = "qemu:///system"
PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
MIB = 2**20
# How qemu-img makes each foreign format; a VHD keeps the exact size only with force_size (else CHS-rounded).
FOREIGN = {"vmdk": [], "vdi": [], "vpc": ["-o", "force_size=on"], "vhdx": []}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def known_data(path: Path) -> Path:
    """8 MiB, mostly holes, with a marker every MiB: what the converted volume must hold, byte for byte."""
    with path.open("wb") as handle:
        handle.truncate(8 * MIB)
        for mib in range(8):
            handle.seek(mib * MIB + 512)
            handle.write(f"SVKVM-IMPORT-{mib}".encode() * 16)
    return path


@pytest.fixture
def import_pool(lab: Lab) -> tuple[str, Path]:
    name = f"{lab.prefix}-imp"
    path = Path("/var/tmp/sharedvirt-kvm") / name
    lab.pools.append(name)
    lab.files.append(path)
    assert not run_module(pool, {"uri": URI, "name": name, "type": "dir", "target": {"path": str(path)}}).get("failed")
    return name, path


@pytest.mark.parametrize("source_format", sorted(FOREIGN))
def test_a_foreign_image_becomes_raw_and_qcow2_volumes_with_the_same_data(
    import_pool: tuple[str, Path], tmp_path: Path, source_format: str
) -> None:
    name, path = import_pool
    base = known_data(tmp_path / "base.raw")
    image = tmp_path / f"disk.{source_format}"
    convert = ["qemu-img", "convert", "-q", "-f", "raw", "-O", source_format, *FOREIGN[source_format]]
    subprocess.run([*convert, str(base), str(image)], check=True)
    for target in ("raw", "qcow2"):
        params = {
            "uri": URI,
            "pool": name,
            "name": f"{source_format}.{target}",
            "format": target,
            "upload": {"src": str(image), "checksum": sha256(image), "source_format": source_format},
        }
        steps = ladder(volume, params)  # check mode converts too, and predicts; the rerun compares the data
        assert steps[2]["actions"] == [
            f"upload {image} ({source_format} converted to {target}) into new volume {name}/{source_format}.{target} "
            "(checked by SHA-256 before it becomes the volume)"
        ]
        made = path / f"{source_format}.{target}"
        same = subprocess.run(
            ["qemu-img", "compare", "-q", "-f", "raw", "-F", target, str(base), str(made)], check=False
        )
        assert same.returncode == 0, f"{made} does not hold the data of {image}"
        if target == "raw":
            assert sha256(made) == sha256(base)
    # The scratch conversions are gone.
    assert not list(Path("/var/tmp").glob(".sharedvirt-import-*"))


def test_foreign_images_that_reach_outside_themselves_or_lie_are_refused(
    import_pool: tuple[str, Path], tmp_path: Path
) -> None:
    name, path = import_pool
    # A VMware descriptor whose flat extent is a host file: converting it would copy that file into the pool.
    descriptor = tmp_path / "evil.vmdk"
    descriptor.write_text(
        '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n'
        'RW 16 FLAT "/etc/hostname" 0\n'
    )
    evil = {"src": str(descriptor), "checksum": sha256(descriptor), "source_format": "vmdk"}
    refused = run_module(volume, {"uri": URI, "pool": name, "name": "evil.raw", "format": "raw", "upload": evil})
    assert refused["failed"] and "its descriptor points at another file (/etc/hostname)" in refused["msg"]
    # A vmdk declared as a VirtualBox image.
    image = tmp_path / "disk.vmdk"
    subprocess.run(["qemu-img", "create", "-q", "-f", "vmdk", str(image), "1M"], check=True)
    lying = {"src": str(image), "checksum": sha256(image), "source_format": "vdi"}
    refused = run_module(volume, {"uri": URI, "pool": name, "name": "lie.raw", "format": "raw", "upload": lying})
    assert refused["failed"] and "the file is vmdk, not the declared format vdi" in refused["msg"]
    assert list(path.iterdir()) == []  # nothing half-made in the pool
    assert not list(Path("/var/tmp").glob(".sharedvirt-import-*"))


def test_the_briefs_vmdk_becomes_the_clusters_shared_raw_disk_in_one_playbook(
    lab: Lab, import_pool: tuple[str, Path], tmp_path: Path
) -> None:
    name, path = import_pool
    vmdk = tmp_path / "quorum.vmdk"
    subprocess.run(["qemu-img", "create", "-q", "-f", "vmdk", str(vmdk), "200M"], check=True)
    nodes = [lab.guest(f"node{i}", start=False, boots=False).name for i in (1, 2)]
    extra = json.dumps(
        {"import_vmdk": str(vmdk), "import_checksum": f"sha256:{sha256(vmdk)}", "import_pool": name,
         "import_domains": nodes, "import_uri": URI}
    )  # fmt: skip
    first = run_playbook(PLAYBOOKS / "import_vmdk_shared_disk.yml", extra_vars=extra)
    assert first.rc == 0 and first.recap["changed"] == 2, first.output
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(path / "quorum.raw")],
                                     capture_output=True, text=True, check=True).stdout)  # fmt: skip
    assert (info["format"], info["virtual-size"]) == ("raw", 200 * MIB)
    for node in nodes:
        disks = ET.fromstring(lab.conn.lookupByName(node).XMLDesc(0)).iterfind("devices/disk")
        [disk] = [d for d in disks if d.find("target[@dev='vdb']") is not None]
        assert disk.find("shareable") is not None
        driver, source = disk.find("driver"), disk.find("source")
        assert driver is not None and source is not None
        assert (driver.get("type"), source.get("pool"), source.get("volume")) == ("raw", name, "quorum.raw")
    again = run_playbook(PLAYBOOKS / "import_vmdk_shared_disk.yml", extra_vars=extra)
    assert again.rc == 0 and again.recap["changed"] == 0, again.output


OVF_TEMPLATE = """<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
 <References><File ovf:id="file1" ovf:href="{disk}"/></References>
 <DiskSection><Info>disks</Info><Disk ovf:diskId="d1" ovf:fileRef="file1" ovf:capacity="8388608"/></DiskSection>
 <VirtualSystem ovf:id="{name}"><Name>{name}</Name><VirtualHardwareSection>
  <Item><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
  <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ResourceType>4</rasd:ResourceType>
   <rasd:VirtualQuantity>192</rasd:VirtualQuantity></Item>
  <Item><rasd:HostResource>ovf:/disk/d1</rasd:HostResource><rasd:ResourceType>17</rasd:ResourceType></Item>
 </VirtualHardwareSection></VirtualSystem>
</Envelope>"""


def make_ova(tmp_path: Path, name: str, disk_name: str, disk: Path | None) -> Path:
    """An OVA as VMware exports one: the descriptor first, then the disk."""
    ovf = tmp_path / f"{name}.ovf"
    ovf.write_text(OVF_TEMPLATE.format(name=name, disk=disk_name))
    ova = tmp_path / f"{name}.ova"
    members = [ovf.name] + ([disk.name] if disk else [])
    subprocess.run(["tar", "-cf", str(ova), "-C", str(tmp_path), *members], check=True)
    return ova


def test_an_ova_becomes_volumes_and_a_domain_declaration_that_boots(
    lab: Lab, import_pool: tuple[str, Path], tmp_path: Path
) -> None:
    name, path = import_pool
    base = tmp_path / "base.raw"
    with base.open("wb") as handle:
        handle.truncate(8 * MIB)
        handle.write(b"SVKVM-MARK OVA\n")
    disk = tmp_path / "appliance-disk1.vmdk"
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized",
                    str(base), str(disk)], check=True)  # fmt: skip
    ova = make_ova(tmp_path, "appliance", disk.name, disk)
    task = {"uri": URI, "src": str(ova), "checksum": sha256(ova), "pool": name, "name": f"{lab.prefix}-ova"}
    steps = [run_module(ova_import, task, check_mode=True), run_module(ova_import, task),
             run_module(ova_import, task, check_mode=True), run_module(ova_import, task)]  # fmt: skip
    assert [s["changed"] for s in steps] == [True, True, False, False], steps[1].get("msg")
    assert steps[0]["actions"] == steps[1]["actions"]
    volume = f"{lab.prefix}-ova-disk0.qcow2"
    assert steps[1]["volumes"] == [volume]
    compare = ["qemu-img", "compare", "-q", "-f", "raw", "-F", "qcow2", str(base), str(path / volume)]
    assert subprocess.run(compare, check=False).returncode == 0
    declared = steps[1]["domain"]
    assert (declared["vcpus"], declared["memory"], declared["interfaces"]) == (1, "192MiB", [])
    # The declaration, with the embedded guest's kernel, boots and reads the imported disk.
    params = guest_params(lab, declared["name"], None, "sv_disk=/dev/vda sv_read=0", state="running",
                          **{k: declared[k] for k in ("vcpus", "memory", "disks")})  # fmt: skip
    assert not run_module(domain, params).get("failed")
    wait_for_marker(serial_path_of(params), r"SVKVM-READ /dev/vda.*SVKVM-MARK OVA", 120)

    # A descriptor that points outside the archive, and a disk member that is a link, are refused.
    evil = make_ova(tmp_path, "evil", "../../etc/passwd", None)
    refused = run_module(ova_import, dict(task, src=str(evil), checksum=sha256(evil), name="evil"))
    assert refused["failed"] and "only plain file names inside the OVA are read" in refused["msg"]
    (tmp_path / "link.vmdk").symlink_to("/etc/passwd")
    linked = make_ova(tmp_path, "linked", "link.vmdk", tmp_path / "link.vmdk")
    refused = run_module(ova_import, dict(task, src=str(linked), checksum=sha256(linked), name="linked"))
    assert refused["failed"] and "link.vmdk is not a regular file" in refused["msg"]
    assert sorted(p.name for p in path.iterdir()) == [volume]
