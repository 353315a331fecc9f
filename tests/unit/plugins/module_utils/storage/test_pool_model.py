from __future__ import annotations

import re

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import (
    ConflictError,
    SpecError,
    UnsafeOperation,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.xmlutil import canonical, parse_xml
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.pool_model import PoolSource, PoolSpec, PoolTarget
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.pool_plan import (
    PoolActual,
    PoolRequest,
    plan_pool,
    pool_ref,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.usage_model import StorageRef, VolumeUser

RBD = """<pool type='rbd'><name>ceph</name><uuid>6d3e2d1c-0000-4000-8000-000000000001</uuid>
  <capacity unit='bytes'>0</capacity>
  <source><host name='127.0.0.1' port='6789'/><name>rbd</name>
    <auth type='ceph' username='libvirt'><secret usage='client.libvirt'/></auth></source></pool>"""
ISCSI_DIRECT = """<pool type='iscsi-direct'><name>san</name>
  <source><host name='127.0.0.1' port='3260'/><device path='iqn.2024-01.svt:lun1'/>
    <initiator><iqn name='iqn.2024-01.svt:init'/></initiator>
    <auth type='chap' username='u'><secret usage='iqn.2024-01.svt:lun1'/></auth></source></pool>"""
LOGICAL = """<pool type='logical'><name>vg</name><source><device path='/dev/sdb'/><name>vg0</name>
  <format type='lvm2'/></source><target><path>/dev/vg0</path></target></pool>"""
NETFS = """<pool type='netfs'><name>nfs</name>
  <source><host name='nas'/><dir path='/export'/><format type='nfs'/></source>
  <target><path>/mnt/nfs</path><permissions><mode>0711</mode><owner>0</owner><group>0</group></permissions></target></pool>"""


ISCSI = """<pool type='iscsi'><name>k</name><source><host name='127.0.0.1'/><device path='iqn.2024-01.svt:lun1'/>
  </source><target><path>/dev/disk/by-path</path></target></pool>"""
MPATH = "<pool type='mpath'><name>mp</name><target><path>/dev/mapper</path></target></pool>"
ZFS = "<pool type='zfs'><name>z</name><source><name>tank</name><device path='/dev/sdc'/></source></pool>"
SCSI = """<pool type='scsi'><name>s</name><source><adapter type='scsi_host' name='host0'/></source>
  <target><path>/dev/disk/by-path</path></target></pool>"""
GLUSTER = "<pool type='gluster'><name>g</name><source><host name='gl1'/><dir path='/'/><name>gv0</name></source></pool>"


@pytest.mark.parametrize("xml", [RBD, ISCSI_DIRECT, LOGICAL, NETFS, ISCSI, MPATH, ZFS, SCSI, GLUSTER])
def test_round_trip_through_spec(xml: str) -> None:
    spec = PoolSpec.from_xml(xml)
    again = PoolSpec.from_xml(spec.to_xml())
    assert again.replace(uuid=spec.uuid) == spec


def test_params_render_what_libvirt_reads() -> None:
    spec = PoolSpec.from_params(
        {
            "name": "san",
            "type": "iscsi-direct",
            "source": {
                "hosts": [{"name": "127.0.0.1", "port": 3260}],
                "device": ["iqn.2024-01.svt:lun1"],
                "initiator": "iqn.2024-01.svt:init",
                "auth": {"username": "u", "secret": {"usage": "iqn.2024-01.svt:lun1"}},
            },
        }
    )
    assert canonical(spec.render(None)) == canonical(parse_xml(ISCSI_DIRECT))


def test_render_into_base_keeps_the_rest() -> None:
    changed = PoolSpec(target=PoolSpec.from_xml(NETFS).target.replace(mode="0755")).render(parse_xml(NETFS))  # type: ignore[union-attr]
    assert changed.findtext("target/permissions/mode") == "0755"
    assert changed.find("source/format") is not None and changed.findtext("target/permissions/owner") == "0"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"type": "fs"}, "source.device: a fs pool needs source.device"),
        ({"type": "logical"}, "source.name: a logical pool needs source.name"),
        (
            {"type": "iscsi-direct", "source": {"hosts": [{"name": "h"}], "device": ["iqn"]}},
            "source.initiator: a iscsi-direct pool needs",
        ),
        ({"type": "dir"}, "target.path: a dir pool needs target.path"),
        ({"type": "btrfs"}, "type: 'btrfs' is not one of dir, fs"),
        ({"name": "-x", "type": "dir"}, "name: pool name '-x' starts with '-'"),
    ],
)
def test_pool_errors(params: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError) as err:
        PoolSpec.from_params({"name": "p", **params})
    assert str(err.value).startswith(message), str(err.value)


def actual(xml: str, active: bool = True, volumes: list[str] | None = None) -> PoolActual:
    return PoolActual(PoolSpec.from_xml(xml), xml, active, False, volumes or [])


@pytest.mark.parametrize(
    ("state", "current", "ops"),
    [
        ("present", None, ["define"]),
        ("active", None, ["define", "build", "start"]),
        ("active", False, ["build", "start"]),
        ("active", True, []),
        ("inactive", True, ["stop"]),
        ("inactive", False, []),
        ("absent", True, ["stop", "undefine"]),
        ("absent", False, ["undefine"]),
    ],
)
def test_pool_states(state: str, current: bool | None, ops: list[str]) -> None:
    desired = PoolSpec.from_xml(LOGICAL)
    have = PoolActual() if current is None else actual(LOGICAL, current)
    plan = plan_pool(desired, PoolRequest(state=state), have)
    assert [s.op for s in plan.steps] == ops
    assert plan.changed is bool(ops)


def test_build_never_and_network_pools_do_not_build() -> None:
    assert [s.op for s in plan_pool(PoolSpec.from_xml(LOGICAL), PoolRequest(build="never"), PoolActual()).steps] == [
        "define",
        "start",
    ]
    assert [s.op for s in plan_pool(PoolSpec.from_xml(RBD), PoolRequest(), PoolActual()).steps] == ["define", "start"]


def test_overwrite_needs_the_name_and_happens_only_on_definition() -> None:
    desired = PoolSpec.from_xml(LOGICAL)
    with pytest.raises(UnsafeOperation) as err:
        plan_pool(desired, PoolRequest(build="overwrite", confirm="other"), PoolActual())
    assert err.value.consent == "confirm"
    new = plan_pool(desired, PoolRequest(build="overwrite", confirm="vg"), PoolActual())
    assert new.steps[1].args == {"overwrite": True} and "format the storage of pool vg (build=overwrite)" in new.actions
    existing = plan_pool(desired, PoolRequest(build="overwrite", confirm="vg"), actual(LOGICAL, False))
    assert [s.op for s in existing.steps] == ["start"]


def test_changes_and_type_drift() -> None:
    desired = PoolSpec.from_params({"name": "nfs", "target": {"path": "/mnt/other"}})
    plan = plan_pool(desired, PoolRequest(), actual(NETFS))
    assert plan.actions == ["update pool nfs: target.path"] and plan.reboot_required is True
    with pytest.raises(ConflictError):
        plan_pool(
            PoolSpec.from_params({"name": "nfs", "type": "dir", "target": {"path": "/x"}}), PoolRequest(), actual(NETFS)
        )


def test_purge_order() -> None:
    # As the executor reads it: an active pool lists its volumes.
    plan = plan_pool(
        PoolSpec(name="vg"), PoolRequest(state="absent", purge=True, purge_volumes=["a"]), actual(LOGICAL, True, ["a"])
    )
    assert [s.op for s in plan.steps] == ["delete_volume", "stop", "delete_storage", "undefine"]


def test_an_inactive_pool_is_not_purged_blind() -> None:
    # An inactive pool is read without volumes: purging it would skip the per-volume consent (vgremove -f).
    with pytest.raises(UnsafeOperation) as refused:
        plan_pool(PoolSpec(name="vg"), PoolRequest(state="absent", purge=True), actual(LOGICAL, False, []))
    assert refused.value.consent == "purge_volumes"
    assert str(refused.value).startswith("pool vg is inactive, so the volumes a purge would delete cannot be listed")
    kept = plan_pool(PoolSpec(name="vg"), PoolRequest(state="absent"), actual(LOGICAL, False, []))
    assert [s.op for s in kept.steps] == ["undefine"]  # without purge the data stays and nothing is refused


def test_stopping_or_removing_a_pool_under_running_guests_needs_force() -> None:
    here, there = "qemu:///system", "qemu+tcp://hv2/system"
    pool = actual(LOGICAL, True, ["a"])
    pool.users = [VolumeUser("web1", "vda", True, here), VolumeUser("db1", "vda", True, there)]
    for state in ("inactive", "absent"):
        with pytest.raises(UnsafeOperation) as refused:
            plan_pool(PoolSpec(name="vg"), PoolRequest(state=state, host=here), pool)
        assert refused.value.consent == "force"
        assert f"domain web1 (vda, running) on {here}" in str(refused.value)
        assert "db1" not in str(refused.value)  # a peer's guests use their own host's pool
        forced = plan_pool(PoolSpec(name="vg"), PoolRequest(state=state, host=here, force=True), pool)
        assert "stop" in [s.op for s in forced.steps]
    # Purging deletes data: refused while anything anywhere uses it, force or not.
    with pytest.raises(
        ConflictError, match=f"pool vg holds disks in use - .*; domain db1 \\(vda, running\\) on {re.escape(there)}"
    ):
        plan_pool(PoolSpec(name="vg"), PoolRequest(state="absent", purge=True, purge_volumes=["a"], force=True), pool)


def test_how_disks_name_a_pool() -> None:
    rbd = pool_ref(PoolSpec(name="ceph", type="rbd", source=PoolSource(name="rbdpool")))
    assert rbd.holds(StorageRef(protocol="rbd", name="rbdpool/img")) and not rbd.holds(
        StorageRef(protocol="rbd", name="other/img")
    )
    files = pool_ref(PoolSpec(name="images", type="dir", target=PoolTarget(path="/var/lib/images")))
    assert files.holds(StorageRef(path="/var/lib/images/a.qcow2")) and files.holds(
        StorageRef(pool="images", volume="x")
    )
    assert not files.holds(StorageRef(path="/var/lib/images2/a.qcow2"))
    iscsi = pool_ref(PoolSpec(name="san", type="iscsi-direct", source=PoolSource(device=["iqn.2024-01.x:t"])))
    assert iscsi.holds(StorageRef(protocol="iscsi", name="iqn.2024-01.x:t/1"))
