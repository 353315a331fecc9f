from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils.host.model import (
    capabilities_facts,
    capabilities_virtualization,
    cpu_virtualization,
    pin_overlaps,
    preferred_domain_type,
    uri_is_local,
)

CAPS = """
<capabilities>
  <host>
    <uuid>00000000-0000-4000-8000-000000000011</uuid>
    <cpu><arch>x86_64</arch><model>EPYC-Rome</model></cpu>
  </host>
  <guest>
    <os_type>hvm</os_type>
    <arch name='x86_64'><domain type='qemu'/><domain type='kvm'/></arch>
  </guest>
  <guest>
    <os_type>hvm</os_type>
    <arch name='i686'><domain type='qemu'/></arch>
  </guest>
  <guest>
    <os_type>xen</os_type>
    <arch name='x86_64'><domain type='xen'/></arch>
  </guest>
</capabilities>
"""


def test_capabilities_facts() -> None:
    assert capabilities_facts(CAPS) == {
        "host_uuid": "00000000-0000-4000-8000-000000000011",
        "arch": "x86_64",
        "cpu_model": "EPYC-Rome",
        "domain_types": {"x86_64": ["kvm", "qemu"], "i686": ["qemu"]},
    }


@pytest.mark.parametrize(
    ("cpuinfo", "flag"),
    [
        ("processor\t: 0\nflags\t\t: fpu vme vmx sse\n", "vmx"),
        ("flags\t: fpu svm\n", "svm"),
        ("flags\t: fpu sse avx\n", None),
        ("", None),
    ],
)
def test_cpu_virtualization(cpuinfo: str, flag: str | None) -> None:
    assert cpu_virtualization(cpuinfo) == flag


@pytest.mark.parametrize(
    ("offered", "hardware", "expected"),
    [
        (["kvm", "qemu"], True, "kvm"),
        (["kvm", "qemu"], False, "qemu"),  # /dev/kvm opens but the CPU has no VT-x/AMD-V
        (["kvm", "qemu"], None, "kvm"),  # remote host: trust libvirt
        (["qemu"], True, "qemu"),
        ([], None, "qemu"),
    ],
)
def test_preferred_domain_type(offered: list[str], hardware: bool | None, expected: str) -> None:
    assert preferred_domain_type(offered, hardware) == expected


@pytest.mark.parametrize(
    ("uri", "local"),
    [
        ("qemu:///system", True),
        ("qemu:///session", True),
        ("test:///default", True),
        ("qemu+unix:///system?socket=/run/x", True),
        ("qemu+tcp://localhost/system", True),
        ("qemu+ssh://root@hv1/system", False),
        ("qemu+tcp://10.77.0.11/system", False),
    ],
)
def test_uri_is_local(uri: str, local: bool) -> None:
    assert uri_is_local(uri) is local


def caps_with_features(arch: str, *features: str) -> str:
    listed = "".join(f"<feature name='{f}'/>" for f in features)
    return f"<capabilities><host><cpu><arch>{arch}</arch><model>kvm64</model>{listed}</cpu></host></capabilities>"


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (caps_with_features("x86_64", "vme", "vmx", "avx"), "vmx"),
        (caps_with_features("x86_64", "svm", "hypervisor"), "svm"),
        # an AMD host under TCG-only emulation (this test platform): features listed, svm not among them
        (caps_with_features("x86_64", "vme", "hypervisor", "avx2"), "none"),
        (caps_with_features("x86_64"), None),  # no features listed: unknown
        (caps_with_features("aarch64", "fp"), None),  # not an x86 host: the flags mean nothing here
        (CAPS, None),
    ],
)
def test_hardware_virtualization_from_capabilities(xml: str, expected: str | None) -> None:
    assert capabilities_virtualization(xml) == expected


def test_pin_overlaps_names_every_domain_on_a_shared_cpu() -> None:
    assert pin_overlaps({"a": [0, 1], "b": [2], "c": [1, 1]}) == [{"cpu": 1, "domains": ["a", "c"]}]
    assert pin_overlaps({"a": [0], "b": [1]}) == []
