"""The pool and pool_info modules on libvirt's test:///default driver."""

from __future__ import annotations

import typing as t

import pytest
from testbed.modules import ladder, run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import pool, pool_info

URI = "test:///default"


def params(prefix: str, **extra: t.Any) -> dict[str, t.Any]:
    return {"uri": URI, "name": f"{prefix}-p", "type": "dir", "target": {"path": f"/svt/{prefix}"}, **extra}


def test_pool_lifecycle_ladders(test_conn: t.Any, prefix: str) -> None:
    defined = ladder(pool, params(prefix, state="present"))
    assert defined[0]["actions"] == [f"define pool {prefix}-p"]
    assert defined[2]["pool"]["state"] == "inactive"
    started = ladder(pool, params(prefix, autostart=True))
    assert started[0]["actions"] == [f"start pool {prefix}-p", f"enable autostart of pool {prefix}-p"]
    assert started[2]["pool"]["state"] == "active" and started[2]["pool"]["capacity"] > 0
    stopped = ladder(pool, params(prefix, state="inactive"))
    assert stopped[2]["pool"]["state"] == "inactive"
    removed = ladder(pool, {"uri": URI, "name": f"{prefix}-p", "state": "absent"})
    assert removed[0]["actions"] == [f"undefine pool {prefix}-p (its data stays)"]


def test_purge_needs_every_volume_named(test_conn: t.Any, prefix: str) -> None:
    run_module(pool, params(prefix))
    p = test_conn.storagePoolLookupByName(f"{prefix}-p")
    for name in ("a.img", "b.img"):
        p.createXML(f"<volume><name>{name}</name><capacity>1048576</capacity></volume>", 0)
    refused = run_module(
        pool, {"uri": URI, "name": f"{prefix}-p", "state": "absent", "purge": True, "purge_volumes": ["a.img"]}
    )
    assert refused["failed"] is True
    assert refused["msg"] == (
        f"pool {prefix}-p holds volumes b.img; list each in purge_volumes to delete it with the pool's storage, "
        "or remove purge to keep the data"
    )
    assert refused["consent_option"] == "purge_volumes"
    assert sorted(p.listVolumes()) == ["a.img", "b.img"]
    purged = ladder(
        pool, {"uri": URI, "name": f"{prefix}-p", "state": "absent", "purge": True, "purge_volumes": ["a.img", "b.img"]}
    )
    assert purged[2]["actions"] == [
        f"delete volume a.img of pool {prefix}-p",
        f"delete volume b.img of pool {prefix}-p",
        f"stop pool {prefix}-p",
        f"delete the storage of pool {prefix}-p (purge)",
        f"undefine pool {prefix}-p",
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"build": "overwrite"},
            "pool {n}: build=overwrite formats its storage and destroys what is on it; set confirm",
        ),
        ({"build": "overwrite", "confirm": "other"}, "pool {n}: build=overwrite formats its storage"),
        ({"type": "fs", "source": None}, "source.device: a fs pool needs source.device"),
        ({"type": "rbd", "target": None, "source": {"name": "rbd"}}, "source.hosts: a rbd pool needs source.hosts"),
        ({"type": "netfs", "source": {"hosts": [{"name": "h"}]}}, "source.dir: a netfs pool needs source.dir"),
        ({"name": "a/b"}, "name: pool name 'a/b' contains '/'"),
        ({"type": "tmpfs"}, "value of type must be one of"),
        ({"xml": "<pool type='dir'><name>other</name></pool>"}, "xml: names pool 'other' but the name option is"),
    ],
)
def test_bad_input(test_conn: t.Any, prefix: str, extra: dict[str, t.Any], message: str) -> None:
    before = sorted(test_conn.listDefinedStoragePools() + test_conn.listStoragePools())
    result = run_module(pool, params(prefix, **extra))
    assert result.get("failed") is True
    assert message.format(n=f"{prefix}-p") in result["msg"], result["msg"]
    assert sorted(test_conn.listDefinedStoragePools() + test_conn.listStoragePools()) == before


def test_type_cannot_change(test_conn: t.Any, prefix: str) -> None:
    try:
        run_module(pool, params(prefix))
        result = run_module(pool, params(prefix, type="fs", source={"device": ["/dev/x"]}))
        assert result["failed"] and result["msg"] == (
            f"pool {prefix}-p: type cannot change from 'dir' to 'fs'; remove the pool (state=absent keeps its data) "
            "and define it again"
        )
    finally:
        run_module(pool, {"uri": URI, "name": f"{prefix}-p", "state": "absent"})


def test_pool_info(test_conn: t.Any, prefix: str) -> None:
    try:
        run_module(pool, params(prefix))
        info = run_module(pool_info, {"uri": URI, "name": f"{prefix}-p"})
        assert info["changed"] is False
        (facts,) = info["pools"]
        assert facts["type"] == "dir" and facts["state"] == "active" and facts["target"]["path"] == f"/svt/{prefix}"
        assert {p["name"] for p in run_module(pool_info, {"uri": URI})["pools"]} >= {"default-pool", f"{prefix}-p"}
    finally:
        run_module(pool, {"uri": URI, "name": f"{prefix}-p", "state": "absent"})


def test_xml_escape_hatch_with_structured_override(test_conn: t.Any, prefix: str) -> None:
    xml = f"<pool type='dir'><name>{prefix}-x</name><target><path>/svt/from-xml</path></target></pool>"
    params = {"uri": URI, "name": f"{prefix}-x", "xml": xml, "target": {"path": f"/svt/{prefix}"}}
    try:
        created = ladder(pool, params)
        assert created[2]["pool"]["type"] == "dir" and created[2]["pool"]["target"]["path"] == f"/svt/{prefix}"
    finally:
        run_module(pool, {"uri": URI, "name": f"{prefix}-x", "state": "absent"})
