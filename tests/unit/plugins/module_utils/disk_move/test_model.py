from __future__ import annotations

import xml.etree.ElementTree as ET

from ansible_collections.sharedvirt.kvm.plugins.module_utils.disk_move.model import (
    DiskAt,
    MoveRecord,
    find_disk,
    pointed_at,
    read_records,
    records_element,
)

DOMAIN = """<domain type='qemu'><name>web1</name><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>
<source file='/slow/web1.qcow2'/><backingStore type='file'><format type='qcow2'/><source file='/t.qcow2'/>
</backingStore><target dev='vda' bus='virtio'/><serial>S1</serial></disk>
<disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='shared' volume='q.raw'/>
<target dev='vdb' bus='virtio'/><shareable/></disk>
</devices></domain>"""


def test_disks_are_found_by_target() -> None:
    assert find_disk(DOMAIN, "vda") == DiskAt("vda", "file", "/slow/web1.qcow2", "qcow2")
    assert find_disk(DOMAIN, "vdb") == DiskAt("vdb", "volume", "", "raw", shareable=True, pool="shared", volume="q.raw")
    assert find_disk(DOMAIN, "vdc") is None


def test_pointing_keeps_the_rest_of_the_disk_and_drops_the_old_chain() -> None:
    disk = ET.fromstring(pointed_at(DOMAIN, "vda", "fast", "web1-vda.raw", "raw")).find("devices/disk")
    assert disk is not None and disk.get("type") == "volume"
    assert disk.find("source").attrib == {"pool": "fast", "volume": "web1-vda.raw"}  # type: ignore[union-attr]
    assert disk.find("driver").attrib == {"name": "qemu", "type": "raw", "cache": "none"}  # type: ignore[union-attr]
    assert disk.find("backingStore") is None and disk.findtext("serial") == "S1"


def test_move_records_round_trip_through_the_metadata() -> None:
    record = MoveRecord("vda", "fast", "web1-vda.raw", "slow", "web1.qcow2")
    metadata = ET.tostring(records_element([record]), encoding="unicode")
    assert read_records(f"<domain><metadata>{metadata}</metadata></domain>") == {"vda": record}
    assert read_records(DOMAIN) == {}
