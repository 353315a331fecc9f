from __future__ import annotations

import dataclasses
import typing as t

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.mac import normalize_mac
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.plan import (
    Change,
    carry_over,
    compare,
    match_items,
    overlay,
    plan_resource,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.spec import SECRET_MASK, Spec, option
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.units import to_bytes


@dataclasses.dataclass
class Nic(Spec):
    IDENTITY = ("mac",)
    FALLBACK_IDENTITY = ("network",)

    mac: t.Optional[str] = option(normalize=normalize_mac, generated=True)
    network: t.Optional[str] = option()
    model: t.Optional[str] = option()
    link: t.Optional[str] = option(live=True)
    pci: t.Optional[str] = option(generated=True)


@dataclasses.dataclass
class Disk(Spec):
    IDENTITY = ("target",)

    target: t.Optional[str] = option()
    path: t.Optional[str] = option()


@dataclasses.dataclass
class Boot(Spec):
    dev: t.Optional[str] = option()


@dataclasses.dataclass
class Cpu(Spec):
    mode: t.Optional[str] = option()
    cores: t.Optional[int] = option()


@dataclasses.dataclass
class Vm(Spec):
    name: t.Optional[str] = option()
    uuid: t.Optional[str] = option(generated=True)
    memory: t.Optional[int] = option(normalize=to_bytes, live=True)
    vcpus: t.Optional[int] = option()
    tags: t.Optional[t.List[str]] = option(unordered=True)
    cpu: t.Optional[Cpu] = option(spec=Cpu)
    nics: t.Optional[t.List[Nic]] = option(spec=Nic, many=True, live=True)
    disks: t.Optional[t.List[Disk]] = option(spec=Disk, many=True, extra="keep")
    boot: t.Optional[t.List[Boot]] = option(spec=Boot, many=True)
    password: t.Optional[str] = option(secret=True)


MAC1, MAC2, MAC3 = "52:54:00:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:03"

ACTUAL = Vm(
    name="vm1",
    uuid="u-1",
    memory=1024**3,
    vcpus=2,
    tags=["a", "b"],
    cpu=Cpu(mode="host-model", cores=2),
    nics=[
        Nic(mac=MAC1, network="front", model="virtio", link="up", pci="0x03"),
        Nic(mac=MAC2, network="back", model="virtio", link="up", pci="0x04"),
    ],
    disks=[Disk(target="vda", path="/a"), Disk(target="vdb", path="/b")],
    boot=[Boot(dev="hd"), Boot(dev="network")],
)


def vm(**params: t.Any) -> Vm:
    return Vm.from_params({"name": "vm1", **params})


@pytest.mark.parametrize(
    ("desired", "paths"),
    [
        # Only what the user set is compared.
        (vm(), []),
        (vm(memory="1G"), []),
        (vm(memory="2G"), ["memory"]),
        (vm(vcpus=2, tags=["b", "a"]), []),
        (vm(tags=["a"]), ["tags"]),
        (vm(cpu={"cores": 2}), []),
        (vm(cpu={"cores": 4}), ["cpu.cores"]),
        # NICs by identity, never by position; generated MAC/PCI carried over.
        (vm(nics=[{"mac": MAC2, "network": "back"}, {"mac": MAC1, "network": "front"}]), []),
        (vm(nics=[{"network": "back"}, {"network": "front"}]), []),
        (vm(nics=[{"mac": "52-54-00-00-00-01", "model": "e1000"}, {"mac": MAC2}]), [f"nics[mac={MAC1}].model"]),
        (vm(nics=[{"mac": MAC1}]), [f"nics[mac={MAC2}]"]),
        (vm(nics=[{"mac": MAC1}, {"mac": MAC2}, {"mac": MAC3, "network": "x"}]), [f"nics[mac={MAC3}]"]),
        (vm(nics=[{"network": "front"}, {"network": "back"}, {"network": "new"}]), ["nics[+2]"]),
        # extra="keep": unlisted items stay.
        (vm(disks=[{"target": "vdb", "path": "/b"}]), []),
        (vm(disks=[{"target": "vdb", "path": "/c"}]), ["disks[target=vdb].path"]),
        # Lists without identity are one ordered value.
        (vm(boot=[{"dev": "hd"}, {"dev": "network"}]), []),
        (vm(boot=[{"dev": "network"}, {"dev": "hd"}]), ["boot"]),
        # Generated fields set by the user are not compared (libvirt owns them).
        (vm(uuid="other"), []),
        # Secrets cannot be read back: a set secret is always applied, masked.
        (vm(password="s3cret"), ["password"]),
    ],
)
def test_compare_table(desired: Vm, paths: list[str]) -> None:
    changes = compare(carry_over(desired, ACTUAL), ACTUAL)
    assert [c.path for c in changes] == paths


def test_carry_over_fills_generated_fields_only() -> None:
    desired = vm(nics=[{"network": "back"}, {"network": "front", "model": "e1000"}])
    carried = carry_over(desired, ACTUAL)
    assert carried.uuid == "u-1"
    assert [(n.mac, n.pci, n.model) for n in carried.nics or []] == [(MAC2, "0x04", None), (MAC1, "0x03", "e1000")]
    assert carried.memory is None


def test_match_items_pairs_by_identity_then_fallback() -> None:
    want = [Nic(network="back"), Nic(mac=MAC3), Nic(mac=MAC1)]
    pairs = match_items(want, ACTUAL.nics or [])
    assert [(w and (w.mac or w.network), a and a.mac) for w, a in pairs] == [
        (MAC3, None),
        (MAC1, MAC1),
        ("back", MAC2),
    ]


def test_plan_create() -> None:
    plan = plan_resource("vm", "vm1", vm(memory="1G"), None)
    assert plan.changed
    assert plan.actions == ["create vm vm1"]
    assert plan.after == {"name": "vm1", "memory": 1024**3}
    assert plan.diff()["before"] == {}
    assert plan.diff()["after"] == {"name": "vm1", "memory": 1024**3}


def test_plan_delete_and_absent() -> None:
    plan = plan_resource("vm", "vm1", None, ACTUAL)
    assert plan.actions == ["delete vm vm1"] and plan.after is None
    assert plan.diff()["after"] == {}
    absent = plan_resource("vm", "vm1", None, None)
    assert not absent.changed and absent.result() == {
        "changed": False,
        "actions": [],
        "reboot_required": False,
        "vm": {},
    }


def test_plan_update_diff_holds_only_changes() -> None:
    plan = plan_resource("vm", "vm1", vm(memory="2G", vcpus=2), ACTUAL)
    assert plan.actions == ["update vm vm1: memory"]
    assert plan.diff() == {
        "before": {"memory": 1024**3},
        "after": {"memory": 2 * 1024**3},
        "before_header": "vm vm1 (current)",
        "after_header": "vm vm1 (planned)",
    }
    assert plan.after is not None and plan.after["memory"] == 2 * 1024**3 and plan.after["uuid"] == "u-1"


def test_plan_unchanged_is_not_changed() -> None:
    plan = plan_resource("vm", "vm1", vm(nics=[{"network": "front"}, {"network": "back"}]), ACTUAL, running=True)
    assert not plan.changed and plan.actions == [] and not plan.reboot_required
    assert plan.after == plan.before


@pytest.mark.parametrize(
    ("desired", "running", "reboot"),
    [
        (vm(memory="2G"), True, False),  # live field
        (vm(vcpus=4), True, True),  # needs a restart
        (vm(vcpus=4), False, False),  # stopped: applies at next start anyway
        (vm(cpu={"mode": "maximum"}), True, True),
        (vm(nics=[{"mac": MAC1}, {"mac": MAC2, "link": "down"}]), True, False),
        (vm(nics=[{"mac": MAC1}, {"mac": MAC2, "model": "e1000"}]), True, True),
        (vm(nics=[{"mac": MAC1}]), True, False),  # hot-unplug is live (list is live)
    ],
)
def test_reboot_required(desired: Vm, running: bool, reboot: bool) -> None:
    plan = plan_resource("vm", "vm1", desired, ACTUAL, running=running)
    assert plan.changed
    assert plan.reboot_required is reboot


def test_overlay_predicts_result() -> None:
    desired = carry_over(
        vm(nics=[{"network": "front", "model": "e1000"}], disks=[{"target": "vdc", "path": "/c"}]), ACTUAL
    )
    after = overlay(ACTUAL, desired)
    assert [(n.mac, n.model, n.link) for n in after.nics or []] == [(MAC1, "e1000", "up")]
    assert [d.target for d in after.disks or []] == ["vdc", "vda", "vdb"]
    assert after.vcpus == 2


def test_secret_changes_are_masked_in_diff() -> None:
    plan = plan_resource("vm", "vm1", vm(password="s3cret"), ACTUAL)
    assert plan.changes == [Change("password", None, SECRET_MASK, False)]
    assert "s3cret" not in repr(plan.result(diff=True))
    assert plan.after is not None and plan.after["password"] == SECRET_MASK
