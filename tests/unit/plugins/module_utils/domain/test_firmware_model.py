from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.xmlutil import parse_xml
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.firmware_model import (
    read_firmware,
    read_secure_boot,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.model import DomainSpec

# libvirt 9.0's persistent XML of a UEFI guest declared without Secure Boot, and its live XML once started.
DECLARED = """<domain type='qemu'><name>u</name><os firmware='efi'><type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
  <firmware><feature enabled='no' name='enrolled-keys'/><feature enabled='no' name='secure-boot'/></firmware>
  <boot dev='hd'/></os></domain>"""
RUNNING = """<domain type='qemu'><name>u</name><os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
  <loader readonly='yes' secure='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.ms.fd</loader>
  <nvram template='/usr/share/OVMF/OVMF_VARS_4M.ms.fd'>/var/lib/libvirt/qemu/nvram/u_VARS.fd</nvram></os></domain>"""


def test_secure_boot_is_read_from_features_or_from_the_loader() -> None:
    declared, running = parse_xml(DECLARED).find("os"), parse_xml(RUNNING).find("os")
    assert (read_firmware(declared), read_secure_boot(declared)) == ("efi", False)
    assert (read_firmware(running), read_secure_boot(running)) == ("efi", True)
    bios = parse_xml("<domain><os><type>hvm</type></os></domain>").find("os")
    assert (read_firmware(bios), read_secure_boot(bios)) == ("bios", None)


@pytest.mark.parametrize("secure", [True, False])
def test_secure_boot_round_trips(secure: bool) -> None:
    spec = DomainSpec(name="u", firmware="efi", secure_boot=secure)
    again = DomainSpec.from_element(spec.render(None))
    assert (again.firmware, again.secure_boot) == ("efi", secure)


def test_changing_secure_boot_drops_the_loader_libvirt_chose_for_the_old_setting() -> None:
    base = parse_xml(DECLARED.replace("<boot", RUNNING.split("<os>")[1].split("</os>")[0] + "<boot"))
    rendered = DomainSpec(name="u", firmware="efi", secure_boot=True).render(base)
    os_el = rendered.find("os")
    assert os_el is not None and os_el.find("loader") is None and read_secure_boot(os_el) is True
    names = [(f.get("name"), f.get("enabled")) for f in os_el.findall("firmware/feature")]
    assert names == [("secure-boot", "yes"), ("enrolled-keys", "yes")]


def test_secure_boot_needs_uefi() -> None:
    with pytest.raises(SpecError, match=r"^secure_boot: is a UEFI setting: set firmware=efi with it$"):
        DomainSpec(name="u", secure_boot=False).validate("")


def test_a_user_xml_without_firmware_features_leaves_secure_boot_unset() -> None:
    assert DomainSpec.from_user_xml("<domain><name>u</name><os firmware='efi'/></domain>").secure_boot is None
    assert DomainSpec.from_user_xml(DECLARED).secure_boot is False
