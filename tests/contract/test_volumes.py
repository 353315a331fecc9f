"""The volumes module (many volume declarations in one task) on libvirt's test:///default driver."""

from __future__ import annotations

import typing as t

from testbed.modules import ladder, run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import volume, volumes

URI = "test:///default"
POOL = "default-pool"
MIB = 2**20


def items(prefix: str, count: int) -> list[dict[str, t.Any]]:
    return [{"name": f"{prefix}-{i}.img", "capacity": f"{i + 1}MiB"} for i in range(count)]


def test_many_volumes_ladder_and_the_volume_module_agrees(test_conn: t.Any, prefix: str) -> None:
    params = {"uri": URI, "defaults": {"pool": POOL, "format": "raw"}, "volumes": items(prefix, 3)}
    steps = ladder(volumes, params)
    assert steps[0]["actions"] == [
        f"create volume {POOL}/{prefix}-{i}.img (raw, {(i + 1) * MIB} bytes, thin)" for i in range(3)
    ]
    assert [r["volume"]["capacity"] for r in steps[2]["results"]] == [MIB, 2 * MIB, 3 * MIB]
    same = run_module(volume, {"uri": URI, "pool": POOL, "name": f"{prefix}-1.img", "capacity": "2MiB"})
    assert same["changed"] is False

    grown = items(prefix, 3)
    grown[0]["capacity"] = "4MiB"
    changed = run_module(volumes, {**params, "volumes": grown}, check_mode=True)  # the test driver cannot resize
    assert [r["changed"] for r in changed["results"]] == [True, False, False]
    assert changed["actions"] == [f"grow volume {POOL}/{prefix}-0.img to {4 * MIB} bytes"]

    gone = ladder(volumes, {**params, "defaults": {"pool": POOL, "state": "absent"}})
    assert gone[2]["changed"] and not [n for n in test_conn.storagePoolLookupByName(POOL).listVolumes() if prefix in n]


def test_a_bad_item_names_itself_and_what_changed_before(test_conn: t.Any, prefix: str) -> None:
    bad = [*items(prefix, 1), {"name": f"{prefix}-x.img", "capacity": "lots"}]
    result = run_module(volumes, {"uri": URI, "defaults": {"pool": POOL, "format": "raw"}, "volumes": bad})
    assert result["failed"] and result["option"].startswith(f"volumes[1] ({prefix}-x.img).capacity")
    unknown = run_module(volumes, {"uri": URI, "volumes": [{"pool": POOL, "name": f"{prefix}-u", "upload": {}}]})
    assert unknown["failed"] and unknown["msg"].startswith("volumes[0]: ") and "upload" in unknown["msg"]
    run_module(volumes, {"uri": URI, "defaults": {"pool": POOL, "state": "absent"}, "volumes": items(prefix, 1)})


def test_check_mode_predicts_volumes_of_a_pool_an_earlier_task_creates(test_conn: t.Any, prefix: str) -> None:
    """A play that creates a pool, then its volumes: check mode warns and predicts the volumes; a real run on a
    pool that is still missing fails, naming it (the warning never hides a real failure)."""
    pool = f"{prefix}-later"
    params = {"uri": URI, "defaults": {"pool": pool, "format": "raw"}, "volumes": items(prefix, 2)}
    predicted = run_module(volumes, params, check_mode=True)
    assert not predicted.get("failed"), predicted.get("msg")
    assert predicted["changed"] and predicted["actions"] == [
        f"create volume {pool}/{prefix}-{i}.img (raw, {(i + 1) * MIB} bytes, thin)" for i in range(2)
    ]
    assert any(f"no active storage pool {pool!r} on {URI}" in w for w in predicted["warnings"])
    real = run_module(volumes, params)
    assert real["failed"] and f"no storage pool {pool!r} on {URI}" in real["msg"], real.get("msg")

    # Defined by an earlier task but not started yet: the same prediction.
    test_conn.storagePoolDefineXML(
        f"<pool type='dir'><name>{pool}</name><target><path>/{pool}</path></target></pool>", 0
    )
    try:
        stopped = run_module(volumes, params, check_mode=True)
        assert not stopped.get("failed") and stopped["changed"], stopped.get("msg")
        assert run_module(volumes, params)["failed"]
    finally:
        test_conn.storagePoolLookupByName(pool).undefine()
    # A pool that runs gets no warning.
    ready = run_module(volumes, {**params, "defaults": {"pool": POOL, "format": "raw"}}, check_mode=True)
    assert ready["changed"] and not ready.get("warnings")
