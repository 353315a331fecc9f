"""Host devices: addresses as lspci and lsusb write them, libvirt's XML, and refusals (pure)."""

from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.xmlutil import to_string
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.hostdev_model import HostdevSpec


def test_pci_usb_and_mdev_render_as_libvirt_wants_and_read_back() -> None:
    cases = [
        ({"type": "pci", "address": "3:0.1"}, '<address domain="0x0000" bus="0x03" slot="0x00" function="0x1" />'),
        ({"type": "usb", "address": "046D:C52B"}, '<vendor id="0x046d" />'),
        ({"type": "mdev", "address": "4B20D080-1B54-4048-85B3-A6A62D165C01", "model": "vfio-pci"}, 'uuid="4b20d080'),
    ]
    for params, fragment in cases:
        spec = HostdevSpec.from_params(params)
        xml = to_string(spec.to_element())
        assert fragment in xml, xml
        assert HostdevSpec.from_xml(xml).identity() == spec.identity()
    assert HostdevSpec.from_params({"type": "pci", "address": "0000:03:00.1"}).node_device() == "pci_0000_03_00_1"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"type": "pci", "address": "03:00"}, "address: '03:00' is not a PCI address; write it as lspci -D shows it"),
        ({"type": "usb", "address": "logitech"}, "address: 'logitech': give a USB device as vendor:product"),
        ({"type": "mdev", "address": "gpu0"}, "address: 'gpu0': give a mediated device by its UUID"),
        ({"type": "pci", "address": "0000:03:00.0", "model": "vfio-pci"}, "model: only a mediated device"),
    ],
)
def test_bad_host_devices_name_the_option(params: dict[str, str], message: str) -> None:
    with pytest.raises(SpecError) as err:
        HostdevSpec.from_params(params)
    assert str(err.value).startswith(message)
