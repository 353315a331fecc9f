from __future__ import annotations

import re
import typing as t

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import ConflictError, SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.xmlutil import to_string
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.device_model import DiskSource
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.model import DomainSpec
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.plan import DomainActual
from ansible_collections.sharedvirt.kvm.plugins.module_utils.shared_disk.plan import (
    Attachment,
    Carrier,
    SharedDiskActual,
    SharedDiskRequest,
    check_asymmetric,
    domain_plan,
    plan_shared_disk,
    reservations_support,
    same_source,
    shared_disk_spec,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.plan import VolumeActual
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.usage_model import DiskUse, StorageRef

VOLUME = DiskSource(pool="p", volume="q.raw")
XML = """<domain type='qemu'><name>n1</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/root.qcow2'/>
<target dev='vda' bus='virtio'/></disk></devices></domain>"""


def test_the_disk_every_domain_gets() -> None:
    disk = shared_disk_spec({"target": "vdb", "serial": "Q1"}, VOLUME)
    assert (disk.format, disk.cache, disk.io, disk.shareable, disk.snapshot) == ("raw", "none", "native", True, "no")
    network = shared_disk_spec({"target": "vdb"}, DiskSource(protocol="iscsi", name="iqn.x:y/1"))
    assert network.io is None  # io=native applies to local files and devices


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"format": "vmdk"}, "format: a vmdk disk cannot be shared by several domains for writing"),
        ({"format": "qcow2"}, "format: a qcow2 disk cannot be shared by several domains for writing"),
        ({"cache": "writeback"}, "cache: cache=writeback lets each domain keep writes the others cannot see"),
        ({"cache": "unsafe"}, "cache: cache=unsafe lets each domain keep writes"),
    ],
)
def test_refusals(params: dict[str, str], message: str) -> None:
    with pytest.raises(SpecError) as err:
        shared_disk_spec({"target": "vdb", **params}, VOLUME)
    assert str(err.value).startswith(message)


def test_same_source_by_volume_path_or_network_name() -> None:
    assert same_source(VOLUME, DiskSource(pool="p", volume="q.raw"), None)
    assert same_source(VOLUME, DiskSource(file="/pool/q.raw"), "/pool/q.raw")
    assert not same_source(VOLUME, DiskSource(file="/pool/other.raw"), "/pool/q.raw")
    rbd = DiskSource(protocol="rbd", name="rbd/img")
    assert same_source(rbd, DiskSource(protocol="rbd", name="rbd/img"), None)
    assert not same_source(rbd, DiskSource(protocol="rbd", name="rbd/other"), None)


def test_asymmetric_sharing_is_refused() -> None:
    check_asymmetric([Attachment("n1", "vdb", True, True, True)], "p/q.raw")
    with pytest.raises(ConflictError) as err:
        check_asymmetric([Attachment("n3", "vdc", False, True, False)], "p/q.raw")
    assert str(err.value).startswith("shared disk p/q.raw: domain n3 already uses it as vdc without <shareable/>")


def test_domain_plans_keep_other_disks() -> None:
    actual = DomainActual(DomainSpec.from_xml(XML), XML, "shutoff", True, False)
    disk = shared_disk_spec({"target": "vdb"}, VOLUME)
    attach = domain_plan("n1", actual, disk, True, None)
    assert attach.actions == ["update domain n1: disks[target=vdb]"]
    assert "root.qcow2" in attach.steps[0].args["xml"] and "shareable" in attach.steps[0].args["xml"]
    assert not domain_plan("n1", actual, disk, False, None).changed
    with pytest.raises(ConflictError):
        domain_plan("n1", actual, shared_disk_spec({"target": "vda"}, VOLUME), True, None)
    with pytest.raises(SpecError):
        domain_plan("n9", DomainActual(), disk, True, None)


def test_luns_and_reservations() -> None:
    iscsi = DiskSource(protocol="iscsi", name="iqn.x:y/1")
    lun = shared_disk_spec({"target": "sda", "device": "lun"}, iscsi)
    assert (lun.device, lun.bus) == ("lun", "scsi")
    assert reservations_support(lun).startswith("passthrough")
    block = shared_disk_spec({"target": "sda", "device": "lun", "reservations": "managed"}, DiskSource(dev="/dev/sdz"))
    assert reservations_support(block).startswith("managed")
    assert '<reservations managed="yes" />' in block.to_xml()
    assert reservations_support(shared_disk_spec({"target": "vdb"}, VOLUME)).startswith("none: a device=disk")
    with pytest.raises(SpecError) as err:
        shared_disk_spec({"target": "sda", "device": "lun", "reservations": "managed"}, iscsi)
    assert str(err.value).startswith("reservations: managed reservations (qemu-pr-helper) work for device=lun")
    with pytest.raises(SpecError) as bus:
        shared_disk_spec({"target": "sda", "device": "lun", "bus": "virtio"}, iscsi)
    assert str(bus.value) == "bus: a LUN (device=lun) sits on the scsi bus"


SHARED = to_string(shared_disk_spec({"target": "vdb"}, VOLUME).to_element())


MARK = (
    "<metadata><sharedvirt-disks:disks xmlns:sharedvirt-disks='https://sharedvirt.dev/xmlns/kvm/shared-disks/1.0'>"
    "<sharedvirt-disks:target>vdb</sharedvirt-disks:target></sharedvirt-disks:disks></metadata>"
)


def carrier(name: str, state: str, persistent: bool, live: bool, marked: bool = True) -> Carrier:
    xml = XML.replace("<name>n1</name>", f"<name>{name}</name>")
    if persistent:
        xml = xml.replace("</devices>", SHARED + "</devices>")
        if marked:
            xml = xml.replace("<os>", MARK + "<os>")
    spec = DomainSpec.from_xml(xml)
    live_disks = [d for d in spec.disks or [] if d.target == "vdb"] if live else []
    if live and not persistent:
        live_disks = [shared_disk_spec({"target": "vdb"}, VOLUME)]
    return Carrier(DomainActual(spec, xml, state, True, False), live_disks if state == "running" else [])


def snapshot(**carriers: Carrier) -> SharedDiskActual:
    return SharedDiskActual("test:///default", dict(carriers), None)


def request(domains: list[str], **extra: t.Any) -> SharedDiskRequest:
    disk = shared_disk_spec({"target": "vdb"}, VOLUME)
    return SharedDiskRequest("p/q.raw", disk, domains, **extra)


def test_facts_are_the_prediction_for_absent_and_unlisted_carriers() -> None:
    # n1 and n2 carry the disk; only n1 is listed. absent detaches it from n1; n2 keeps it.
    actual = snapshot(n1=carrier("n1", "running", True, True), n2=carrier("n2", "shutoff", True, False))
    plan = plan_shared_disk(request(["n1"], state="absent"), actual)
    assert plan.facts["domains"] == [{"name": "n2", "persistent": True, "live": False}]
    assert [a for p in plan.plans for a in p.actions] == [
        "update domain n1: disks[target=vdb]",
        "detach disk disks[target=vdb] from running n1",
    ]
    # present without detach_others: the unlisted carrier is still reported
    kept = plan_shared_disk(request(["n1"]), actual)
    assert [d["name"] for d in kept.facts["domains"]] == ["n1", "n2"] and not kept.result(False)["changed"]
    dropped = plan_shared_disk(request(["n1"], detach_others=True), actual)
    assert [d["name"] for d in dropped.facts["domains"]] == ["n1"]


def test_a_running_guest_missing_the_disk_live_gets_it_plugged() -> None:
    # The definition has the disk, the running guest not (an earlier hot-plug failed): a change, not ok.
    actual = snapshot(n1=carrier("n1", "running", True, False))
    plan = plan_shared_disk(request(["n1"]), actual)
    steps = [s.op for p in plan.plans for s in p.steps]
    assert steps == ["attach"] and plan.result(False)["changed"] is True
    assert plan.facts["domains"] == [{"name": "n1", "persistent": True, "live": True}]
    # and a disk left live after it left the definition is unplugged
    stale = plan_shared_disk(request(["n1"], state="absent"), snapshot(n1=carrier("n1", "running", False, True)))
    assert [s.op for p in stale.plans for s in p.steps] == ["detach"]


def test_delete_volume_is_refused_while_an_unlisted_domain_carries_it() -> None:
    actual = SharedDiskActual("test:///default", {"n2": carrier("n2", "shutoff", True, False)}, VolumeActual())
    with pytest.raises(ConflictError, match="domains n2 still reference it"):
        plan_shared_disk(request([], state="absent", delete_volume=True, volume=("p", "q.raw")), actual)


def test_an_unmarked_attachment_gets_marked_so_the_domain_module_keeps_it() -> None:
    actual = snapshot(n1=carrier("n1", "shutoff", True, False, marked=False))
    plan = plan_shared_disk(request(["n1"]), actual)
    assert [a for p in plan.plans for a in p.actions] == ["mark disk vdb of domain n1 as attached by shared_disk"]
    (define,) = [s for p in plan.plans for s in p.steps]
    assert DomainSpec.from_xml(define.args["xml"]).shared_disks == ["vdb"]
    assert not plan_shared_disk(request(["n1"]), snapshot(n1=carrier("n1", "shutoff", True, False))).plans[0].steps


HV2 = "qemu+tcp://hv2/system"


def on_peer(domain: str, shareable: bool, active: bool = True) -> DiskUse:
    return DiskUse(HV2, domain, "vdb", active, (StorageRef(pool="p", volume="q.raw"),), shareable)


def test_a_peer_domain_without_shareable_is_refused_and_named_with_its_host() -> None:
    actual = snapshot(n1=carrier("n1", "shutoff", False, False))
    actual.peer_disks = [on_peer("n9", shareable=False)]
    with pytest.raises(ConflictError) as err:
        plan_shared_disk(request(["n1"]), actual)
    assert str(err.value).startswith(
        f"shared disk p/q.raw: domain n9 on {HV2} already uses it as vdb without <shareable/>"
    )
    actual.peer_disks = [on_peer("n9", shareable=True)]  # a cluster member on the other host: fine
    assert plan_shared_disk(request(["n1"]), actual).plans[0].steps


def test_the_volume_stays_while_a_peer_domain_carries_it() -> None:
    actual = SharedDiskActual("test:///default", {}, VolumeActual(), [on_peer("n9", shareable=True)])
    with pytest.raises(ConflictError, match=f"domains n9 on {re.escape(HV2)} still reference it"):
        plan_shared_disk(request([], state="absent", delete_volume=True, volume=("p", "q.raw")), actual)
