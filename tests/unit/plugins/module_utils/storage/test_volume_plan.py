from __future__ import annotations

import re

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import (
    ConflictError,
    SpecError,
    UnsafeOperation,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.plan import (
    CloneSource,
    VolumeActual,
    VolumeRequest,
    image_problems,
    plan_volume,
    thin_refusal,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.usage_model import (
    BackedVolume,
    DiskUse,
    StorageRef,
    VolumeUser,
    users_of,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.volume_model import VolumeSpec

MIB = 2**20
XML = """<volume type='file'><name>web1.qcow2</name><key>/p/web1.qcow2</key>
  <capacity unit='bytes'>10485760</capacity><allocation unit='bytes'>200704</allocation>
  <target><path>/p/web1.qcow2</path><format type='qcow2'/></target>
  <backingStore><path>/p/tpl.raw</path><format type='raw'/></backingStore></volume>"""


def existing(users: list[VolumeUser] | None = None) -> VolumeActual:
    return VolumeActual(VolumeSpec.from_xml(XML), users or [])


def desired(**params: object) -> VolumeSpec:
    return VolumeSpec.from_params({"name": "web1.qcow2", **params})


def test_parse() -> None:
    spec = VolumeSpec.from_xml(XML)
    assert (spec.format, spec.capacity, spec.backing, spec.backing_format) == ("qcow2", 10 * MIB, "/p/tpl.raw", "raw")


@pytest.mark.parametrize(
    ("params", "users", "ops"),
    [
        ({}, [], []),
        ({"capacity": "10MiB", "format": "qcow2"}, [], []),
        ({"capacity": "20MiB"}, [], ["resize"]),
        ({"capacity": "20MiB"}, [VolumeUser("web1", "vda", False)], ["resize"]),
        ({"capacity": "20MiB"}, [VolumeUser("web1", "vda", True)], ["block_resize"]),
    ],
)
def test_existing_volume(params: dict[str, object], users: list[VolumeUser], ops: list[str]) -> None:
    plan = plan_volume(desired(**params), VolumeRequest(pool="p"), existing(users))
    assert [s.op for s in plan.steps] == ops


def test_refusals() -> None:
    with pytest.raises(UnsafeOperation) as shrink:
        plan_volume(desired(capacity=5), VolumeRequest(pool="p"), existing())
    assert shrink.value.consent == "allow_shrink"
    assert [
        s.args for s in plan_volume(desired(capacity=5), VolumeRequest(pool="p", allow_shrink=True), existing()).steps
    ] == [{"bytes": 5 * MIB, "shrink": True}]
    with pytest.raises(ConflictError) as fmt:
        plan_volume(desired(format="raw"), VolumeRequest(pool="p"), existing())
    assert "format cannot change from 'qcow2' to 'raw' in place" in str(fmt.value)
    with pytest.raises(ConflictError) as used:
        plan_volume(desired(), VolumeRequest(pool="p", state="absent"), existing([VolumeUser("db1", "vdb", False)]))
    assert str(used.value) == (
        "volume p/web1.qcow2 is in use - domain db1 (vdb); detach it there (sharedvirt.kvm.domain or shared_disk) or "
        "flatten the clones that back onto it (sharedvirt.kvm.volume flatten=true) before deleting it"
    )
    with pytest.raises(SpecError):
        plan_volume(desired(), VolumeRequest(pool="p"), VolumeActual())


def test_creation_kinds() -> None:
    thin = plan_volume(desired(format="raw", capacity=64), VolumeRequest(pool="p"), VolumeActual())
    assert '<allocation unit="bytes">0</allocation>' in thin.steps[0].args["xml"]
    full = plan_volume(desired(format="raw", capacity=64), VolumeRequest(pool="p", allocation="full"), VolumeActual())
    assert f'<allocation unit="bytes">{64 * MIB}</allocation>' in full.steps[0].args["xml"]
    template = CloneSource("t", "tpl.raw", "/t/tpl.raw", "raw", 1024 * MIB)
    linked = plan_volume(desired(), VolumeRequest(pool="p", clone=template), VolumeActual())
    xml = linked.steps[0].args["xml"]
    assert "<path>/t/tpl.raw</path>" in xml and '<format type="qcow2" />' in xml
    assert linked.after is not None and linked.after["capacity"] == 1024 * MIB
    copy = plan_volume(
        desired(),
        VolumeRequest(pool="p", clone=CloneSource("t", "tpl.raw", "/t/tpl.raw", "raw", MIB, "full")),
        VolumeActual(),
    )
    assert copy.steps[0].op == "clone" and copy.steps[0].args["pool"] == "t"
    with pytest.raises(SpecError):
        plan_volume(desired(format="raw"), VolumeRequest(pool="p", clone=template), VolumeActual())


def test_wipe_then_delete() -> None:
    plan = plan_volume(desired(), VolumeRequest(pool="p", state="absent", wipe="zero"), existing())
    assert [s.op for s in plan.steps] == ["wipe", "delete"]


@pytest.mark.parametrize(
    ("info", "problems"),
    [
        ({"format": "qcow2", "virtual-size": 10}, []),
        ({"format": "raw", "virtual-size": 10}, ["the file is raw, not the declared format qcow2"]),
        (
            {"format": "qcow2", "virtual-size": 10, "backing-filename": "/etc/shadow"},
            ["its backing file /etc/shadow lies outside the pool (/p)"],
        ),
        (
            {"format": "qcow2", "virtual-size": 10, "backing-filename": "/p/../etc/shadow"},
            ["its backing file /p/../etc/shadow lies outside the pool (/p)"],
        ),
        ({"format": "qcow2", "virtual-size": 10, "backing-filename": "/p/base.raw"}, []),
        ({"format": "qcow2", "virtual-size": 2000}, ["its virtual size 2000 bytes is above max_virtual_size 1000"]),
    ],
)
def test_image_problems(info: dict[str, object], problems: list[str]) -> None:
    assert image_problems(info, "qcow2", "/p", 1000) == problems


HV1, HV2 = "qemu+tcp://hv1/system", "qemu+tcp://hv2/system"
TEMPLATE = StorageRef(path="/shared/tpl.qcow2")


def test_users_anywhere_through_backing_chains_and_clones() -> None:
    disks = [
        # node1 runs on hv2 from a clone of the template: its live XML shows the template in the chain
        DiskUse(HV2, "node1", "vda", True, (StorageRef(path="/shared/node1.qcow2"), TEMPLATE)),
        # node2 is only defined on hv1: its definition names the clone, not the template
        DiskUse(HV1, "node2", "vda", False, (StorageRef(pool="shared", volume="node2.qcow2"),)),
        DiskUse(HV1, "other", "vda", False, (StorageRef(path="/other.raw"),)),
    ]
    backed = [BackedVolume(HV1, "shared", "node2.qcow2", "/shared/tpl.qcow2")]
    users = users_of("shared", "tpl.qcow2", "/shared/tpl.qcow2", disks, backed)
    assert [u.describe() for u in users] == [
        f"volume shared/node2.qcow2 (a linked clone backing onto it) on {HV1}",
        f"domain node1 (vda, running) on {HV2}",
    ]
    # The clone itself is used by node2 (by pool and name) and by nobody through its template.
    assert [u.domain for u in users_of("shared", "node2.qcow2", "/shared/node2.qcow2", disks, backed)] == ["node2"]


def test_deletion_names_each_user_and_its_host() -> None:
    users = [VolumeUser("node1", "vda", True, HV2), VolumeUser("", "", False, HV1, "shared/node2.qcow2")]
    with pytest.raises(ConflictError) as used:
        plan_volume(desired(), VolumeRequest(pool="p", state="absent", host=HV1), existing(users))
    assert f"domain node1 (vda, running) on {HV2}" in str(used.value)
    assert f"volume shared/node2.qcow2 (a linked clone backing onto it) on {HV1}" in str(used.value)


def test_flatten_live_where_it_runs_offline_otherwise_refused_elsewhere() -> None:
    live = plan_volume(
        desired(), VolumeRequest(pool="p", host=HV1, flatten=True), existing([VolumeUser("web1", "vda", True, HV1)])
    )
    assert [(s.op, s.args) for s in live.steps] == [("block_pull", {"domain": "web1", "target": "vda"})]
    assert live.after is not None and live.after.get("backing") is None
    offline = plan_volume(desired(), VolumeRequest(pool="p", host=HV1, flatten=True), existing())
    assert [(s.op, s.args) for s in offline.steps] == [("rebase", {"path": "/p/web1.qcow2", "format": "qcow2"})]
    with pytest.raises(
        ConflictError, match=re.escape(f"domain web1 (vda, running) on {HV2} runs with it; flatten it on")
    ):
        plan_volume(
            desired(), VolumeRequest(pool="p", host=HV1, flatten=True), existing([VolumeUser("web1", "vda", True, HV2)])
        )
    flat = VolumeActual(VolumeSpec.from_xml(XML).replace(backing=None), [])
    assert plan_volume(desired(), VolumeRequest(pool="p", host=HV1, flatten=True), flat).steps == []


def test_shrinking_is_refused_while_anything_uses_the_volume() -> None:
    request = VolumeRequest(pool="p", allow_shrink=True, host=HV1)
    for user in (VolumeUser("web1", "vda", False, HV1), VolumeUser("", "", False, HV2, "p/clone.qcow2")):
        with pytest.raises(ConflictError, match="before shrinking it$"):
            plan_volume(desired(capacity=5), request, existing([user]))
    assert [s.op for s in plan_volume(desired(capacity=5), request, existing()).steps] == ["resize"]


def test_thin_refusal_counts_what_is_promised_not_what_is_written() -> None:
    assert thin_refusal("images", 100, 60, 40, 1.0) is None  # exactly full is allowed
    refusal = thin_refusal("images", 100, 60, 41, 1.0)
    assert refusal is not None and refusal.startswith(
        "pool images: 41 more bytes would commit 101 bytes of virtual disk to 100 bytes of capacity (1.01x, above "
        "overcommit.ratio 1)"
    )
    assert thin_refusal("images", 100, 250, 40, 3.0) is None
    assert thin_refusal("images", 0, 60, 41, 1.0) is None  # a pool that cannot say its capacity
