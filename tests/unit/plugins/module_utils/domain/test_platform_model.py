"""Hyper-V enlightenments, clock and timers, inputs, video and TPM: options to XML and back, and refusals (pure)."""

from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.xmlutil import parse_xml, to_string
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.model import DomainSpec

LIBVIRT = """<domain type='kvm'><name>win7</name><memory unit='KiB'>2097152</memory><vcpu>2</vcpu>
<os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os><features><acpi/><apic/></features>
<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/><timer name='pit' tickpolicy='delay'/></clock>
<devices><input type='mouse' bus='ps2'/><input type='keyboard' bus='ps2'/>
<video><model type='vga' vram='16384' heads='1' primary='yes'/></video></devices></domain>"""
WINDOWS = {
    "name": "win7",
    "hyperv": {"relaxed": True, "vapic": True, "spinlocks": 8191, "vpindex": True, "synic": True, "stimer": True},
    "clock": {"offset": "localtime", "timers": [{"name": "hpet", "present": False}, {"name": "hypervclock"}]},
    "inputs": [{"type": "tablet", "bus": "usb"}],
    "video": {"model": "qxl", "vram": 65536},
    "tpm": {"model": "tpm-crb", "backend": "emulator", "version": "2.0"},
}


def test_windows_options_render_into_libvirts_xml_and_read_back_equal() -> None:
    spec = DomainSpec.from_params(WINDOWS)
    xml = to_string(spec.render(parse_xml(LIBVIRT)))
    assert '<hyperv mode="custom">' in xml and '<spinlocks state="on" retries="8191" />' in xml
    assert '<relaxed state="on" />' in xml and "<acpi />" in xml  # libvirt's other features stay
    assert '<clock offset="localtime">' in xml and '<timer name="hpet" present="no" />' in xml
    assert '<timer name="rtc" tickpolicy="catchup" />' in xml  # a timer not declared is left alone
    assert '<input type="tablet" bus="usb" />' in xml and '<input type="mouse" bus="ps2" />' in xml
    assert '<model type="qxl" vram="65536" heads="1" primary="yes" />' in xml
    tpm = parse_xml(xml).find("devices/tpm/backend")
    assert tpm is not None and (tpm.get("type"), tpm.get("version")) == ("emulator", "2.0")
    # Read back, the declaration matches: a rerun changes nothing.
    back = DomainSpec.from_xml(xml)
    assert back.hyperv is not None and back.hyperv.spinlocks == 8191 and back.hyperv.ipi is False
    for field in ("hyperv", "video", "tpm"):
        declared = getattr(spec, field).to_dict()
        assert {k: v for k, v in getattr(back, field).to_dict().items() if k in declared} == declared, field
    assert {(i.type, i.bus) for i in back.inputs or []} >= {("tablet", "usb"), ("mouse", "ps2")}


def test_user_xml_without_these_elements_does_not_compare_them() -> None:
    spec = DomainSpec.from_user_xml("<domain type='kvm'><name>x</name></domain>")
    assert (spec.hyperv, spec.clock, spec.inputs, spec.video, spec.tpm) == (None, None, None, None, None)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"hyperv": {"spinlocks": 100}}, "hyperv.spinlocks: 100 retries: give 0 (off) or at least 4095"),
        ({"hyperv": {"stimer": True}}, "hyperv.stimer: needs synic and vpindex on as well"),
        ({"tpm": {"backend": "passthrough"}}, "tpm.device: a passthrough TPM names the host's device"),
        ({"tpm": {"backend": "emulator", "device": "/dev/tpm0"}}, "tpm.device: an emulated TPM has no host device"),
        ({"clock": {"timers": [{"name": "sundial"}]}}, "clock.timers[0].name: 'sundial' is not one of"),
    ],
)
def test_bad_platform_options_name_the_option(params: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError) as err:
        DomainSpec.from_params({"name": "x", **params})
    assert str(err.value).startswith(message)
