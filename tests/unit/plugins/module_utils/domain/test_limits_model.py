"""Resource limits: their options, XML and live steps (pure)."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.plan import Plan
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.xmlutil import parse_xml, to_string
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.model import DomainSpec
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.plan import (
    DomainActual,
    DomainRequest,
    plan_domain,
)

XML = """<domain type='qemu'><name>vm1</name><memory unit='KiB'>262144</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os><devices>
<disk type='file' device='disk'><source file='/img/a.raw'/><target dev='vda' bus='virtio'/></disk>
</devices></domain>"""
DISK = {"target": "vda", "source": {"file": "/img/a.raw"}}


def planned(params: dict[str, t.Any], xml: str = XML, state: str = "running") -> Plan:
    desired = DomainSpec.from_params({"name": "vm1", **params})
    return plan_domain(
        desired, DomainRequest(state="present"), DomainActual(DomainSpec.from_xml(xml), xml, state, True, False)
    )


def test_limits_render_into_libvirts_elements_and_read_back() -> None:
    spec = DomainSpec.from_params(
        {
            "name": "vm1",
            "cputune": {"shares": 512, "period": 100000, "quota": -1, "global_quota": 200000},
            "memtune": {"hard_limit": "1GiB", "soft_limit": 524288},
            "blkiotune": {"weight": 300},
            "disks": [dict(DISK, iotune={"write_bytes_sec": "2MiB", "read_iops_sec": 100, "total_iops_sec_max": 0})],
        }
    )
    xml = to_string(spec.render(parse_xml(XML)))
    assert "<shares>512</shares>" in xml and "<quota>-1</quota>" in xml and "<global_quota>200000</global_quota>" in xml
    assert '<hard_limit unit="KiB">1048576</hard_limit>' in xml and '<soft_limit unit="KiB">524288</soft_limit>' in xml
    assert "<blkiotune>" in xml and "<weight>300</weight>" in xml
    assert "<write_bytes_sec>2097152</write_bytes_sec>" in xml and "<read_iops_sec>100</read_iops_sec>" in xml
    assert "total_iops_sec_max" not in xml  # 0 is no limit: libvirt keeps none
    back = DomainSpec.from_xml(xml)
    assert back.cputune is not None and (back.cputune.shares, back.cputune.quota) == (512, -1)
    assert back.memtune is not None and back.memtune.hard_limit == 2**30
    assert back.disks and back.disks[0].iotune is not None and back.disks[0].iotune.write_bytes_sec == 2 * 2**20


def test_limits_apply_live_one_call_per_kind() -> None:
    result = planned(
        {
            "cputune": {"shares": 512, "quota": 50000},
            "memtune": {"hard_limit": "1GiB"},
            "blkiotune": {"weight": 300},
            "disks": [dict(DISK, iotune={"total_bytes_sec": "2MiB", "total_iops_sec": 50})],
        }
    )
    assert result.reboot_required is False
    assert [(s.op, s.args) for s in result.steps[1:]] == [
        ("set_scheduler", {"params": {"cpu_shares": 512, "vcpu_quota": 50000}}),
        ("set_memtune", {"params": {"hard_limit": 1048576}}),
        ("set_blkio", {"params": {"weight": 300}}),
        ("set_iotune", {"disk": "vda", "params": {"total_bytes_sec": 2097152, "total_iops_sec": 50}}),
    ]


def test_a_declared_zero_matches_a_disk_without_throttling() -> None:
    assert not planned({"disks": [dict(DISK, iotune={"total_bytes_sec": 0})]}).changed


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cputune": {"quota": 500}}, "cputune.quota: 500 is below 1000 microseconds"),
        ({"cputune": {"period": 10}}, "cputune.period:"),
        ({"blkiotune": {"weight": 50}}, "blkiotune.weight:"),
        (
            {"disks": [dict(DISK, iotune={"total_bytes_sec": 1, "read_bytes_sec": 1})]},
            "disks[0].iotune.total_bytes_sec: QEMU takes a total or read/write bytes limits, not both",
        ),
    ],
)
def test_bad_limits_are_refused_naming_the_option(params: dict[str, t.Any], message: str) -> None:
    with pytest.raises(SpecError) as err:
        DomainSpec.from_params({"name": "vm1", **params})
    assert str(err.value).startswith(message)
