"""An rbd pool on a real single-node Ceph with a cephx secret: volumes created, grown, deleted."""

from __future__ import annotations

from testbed.ceph import MON, Ceph
from testbed.lab import Lab
from testbed.modules import ladder, run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import pool, secret, volume

URI = "qemu:///system"
MIB = 2**20


def test_rbd_pool_with_cephx_secret(lab: Lab, ceph: Ceph) -> None:
    usage = f"client.libvirt {lab.prefix}"
    key = ceph.libvirt_key()
    name = f"{lab.prefix}-rbd"
    lab.pools.append(name)
    host, port = MON.split(":")
    try:
        made = ladder(
            secret, {"uri": URI, "usage_type": "ceph", "usage_id": usage, "value": key, "value_encoding": "base64"}
        )
        params = {
            "uri": URI,
            "name": name,
            "type": "rbd",
            "source": {
                "name": ceph.pool,
                "hosts": [{"name": host, "port": int(port)}],
                "auth": {"username": "libvirt", "secret": {"usage": usage}},
            },
        }
        created = ladder(pool, params)
        assert created[2]["pool"]["state"] == "active"
        vol = {"uri": URI, "pool": name, "name": f"{lab.prefix}-img", "format": "raw"}
        ladder(volume, dict(vol, capacity="64MiB"))
        assert f"{lab.prefix}-img" in ceph.run("rbd", "-c", str(ceph.conf), "ls", ceph.pool)
        grown = ladder(volume, dict(vol, capacity="128MiB"))
        assert grown[2]["volume"]["capacity"] == 128 * MIB
        ladder(volume, dict(vol, state="absent"))
        ladder(pool, {"uri": URI, "name": name, "state": "absent"})
        for result in made + created + grown:
            assert key not in str(result)
    finally:
        run_module(secret, {"uri": URI, "usage_type": "ceph", "usage_id": usage, "state": "absent"})
