from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils.ova.model import (
    OvfDisk,
    OvfMachine,
    declaration,
    read_ovf,
    safe_member,
)

OVF = """<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
 <References><File ovf:id="file1" ovf:href="appliance-disk1.vmdk"/></References>
 <DiskSection><Info>disks</Info>
  <Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="16" ovf:capacityAllocationUnits="byte * 2^20"/>
 </DiskSection>
 <VirtualSystem ovf:id="appliance"><Name>appliance</Name>
  <VirtualHardwareSection>
   <Item><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
   <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ResourceType>4</rasd:ResourceType>
    <rasd:VirtualQuantity>512</rasd:VirtualQuantity></Item>
   <Item><rasd:Connection>VM Network</rasd:Connection><rasd:ResourceSubType>E1000</rasd:ResourceSubType>
    <rasd:ResourceType>10</rasd:ResourceType></Item>
   <Item><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:ResourceType>17</rasd:ResourceType></Item>
  </VirtualHardwareSection>
 </VirtualSystem>
</Envelope>"""


def test_the_ovf_becomes_a_machine_and_a_domain_declaration() -> None:
    machine = read_ovf(OVF)
    assert machine == OvfMachine(
        "appliance", 2, 512 * 2**20, (OvfDisk("appliance-disk1.vmdk", 16 * 2**20),), (("VM Network", "e1000"),)
    )
    assert declaration(machine, "images", ["appliance-disk0.qcow2"], "qcow2") == {
        "name": "appliance",
        "vcpus": 2,
        "memory": "512MiB",
        "disks": [
            {"target": "vda", "format": "qcow2", "source": {"pool": "images", "volume": "appliance-disk0.qcow2"}}
        ],
        "interfaces": [{"source": {"network": "VM Network"}, "model": "e1000"}],
    }


@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/shadow", "a/b.vmdk", "..", "", "-rf"])
def test_only_plain_member_names_are_read(name: str) -> None:
    with pytest.raises(SpecError, match="only plain file names inside the OVA are read"):
        safe_member(name)
    with pytest.raises(SpecError):
        read_ovf(OVF.replace("appliance-disk1.vmdk", name))
