"""An rbd pool on a real single-node Ceph with a cephx secret: volumes created, grown, deleted."""

from __future__ import annotations

import os
import signal
import time
import typing as t
from pathlib import Path

import libvirt
import pytest
from testbed.ceph import MON, Ceph
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.wait import wait_for

from ansible_collections.sharedvirt.kvm.plugins.modules import pool, secret, volume

pytestmark = pytest.mark.xdist_group("shared-daemons")  # tgtd, glusterd, nfs-ganesha, Ceph: one worker

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
        run_module(secret, {"uri": URI, "usage_type": "ceph", "usage_id": usage, "state": "absent", "force": True})


def test_a_storage_server_that_stops_answering_fails_the_task_within_the_bound(lab: Lab, ceph: Ceph) -> None:
    """SIGSTOP the OSD: creating a volume fails after timeout naming the storage; after SIGCONT a rerun converges."""
    usage = f"client.libvirt {lab.prefix}"
    name = f"{lab.prefix}-rbd"
    lab.pools.append(name)
    host, port = MON.split(":")
    try:
        assert not run_module(
            secret,
            {
                "uri": URI,
                "usage_type": "ceph",
                "usage_id": usage,
                "value": ceph.libvirt_key(),
                "value_encoding": "base64",
            },
        ).get("failed")
        source = {
            "name": ceph.pool,
            "hosts": [{"name": host, "port": int(port)}],
            "auth": {"username": "libvirt", "secret": {"usage": usage}},
        }
        made = run_module(pool, {"uri": URI, "name": name, "type": "rbd", "source": source})
        assert not made.get("failed"), made.get("msg")
        vol = {"uri": URI, "pool": name, "name": f"{lab.prefix}-img", "format": "raw", "capacity": "16MiB"}
        osd = int((ceph.root / "run" / "ceph-osd.0.pid").read_text().strip())
        os.kill(osd, signal.SIGSTOP)
        try:
            started = time.monotonic()
            stuck = run_module(volume, dict(vol, timeout=5))
            elapsed = time.monotonic() - started
        finally:
            os.kill(osd, signal.SIGCONT)
        assert stuck["failed"] and stuck["msg"].startswith(f"storage {name} did not answer within 5 s")
        assert elapsed < 30  # the bound, not libvirt's own wait
        # The server answers again: a rerun converges. libvirtd goes on with the create it was stuck in, and a rerun
        # that reads the volume in the middle of that fails naming it (seen under load); a later rerun finishes.
        runs: list[dict[str, t.Any]] = []

        def rerun() -> bool:
            runs.append(run_module(volume, vol))
            return not runs[-1].get("failed")

        wait_for("a rerun to converge", rerun, 60)
        assert all(r["msg"].startswith(f"read volume {name}/") for r in runs[:-1]), [r["msg"] for r in runs[:-1]]
        assert run_module(volume, vol)["changed"] is False
        ladder(volume, dict(vol, state="absent"))
        ladder(pool, {"uri": URI, "name": name, "state": "absent"})
    finally:
        run_module(secret, {"uri": URI, "usage_type": "ceph", "usage_id": usage, "state": "absent", "force": True})


def test_a_ceph_image_removed_behind_libvirts_back_does_not_stop_tasks_on_other_pools(lab: Lab, ceph: Ceph) -> None:
    """libvirt lists a volume whose RBD image is gone and cannot read it. The in-use checks of a task on a dir pool
    look for linked clones in image-file pools only: an RBD pool holds none, so the task goes on."""
    usage = f"client.libvirt {lab.prefix}"
    name = f"{lab.prefix}-rbd"
    lab.pools.append(name)
    host, port = MON.split(":")
    try:
        run_module(secret, {"uri": URI, "usage_type": "ceph", "usage_id": usage, "value": ceph.libvirt_key(),
                            "value_encoding": "base64"})  # fmt: skip
        source = {"name": ceph.pool, "hosts": [{"name": host, "port": int(port)}],
                  "auth": {"username": "libvirt", "secret": {"usage": usage}}}  # fmt: skip
        assert not run_module(pool, {"uri": URI, "name": name, "type": "rbd", "source": source}).get("failed")
        image = f"{lab.prefix}-gone"
        made = run_module(volume, {"uri": URI, "pool": name, "name": image, "format": "raw", "capacity": "8MiB"})
        assert not made.get("failed"), made.get("msg")
        ceph.run("rbd", "-c", str(ceph.conf), "rm", f"{ceph.pool}/{image}")
        with pytest.raises(libvirt.libvirtError, match="RBD image"):  # what the in-use check used to trip on
            lab.conn.storagePoolLookupByName(name).storageVolLookupByName(image).XMLDesc(0)
        directory = Path("/var/tmp/sharedvirt-kvm") / f"{lab.prefix}-dir"
        lab.pools.append(f"{lab.prefix}-dir")
        lab.files.append(directory)
        dir_pool = {"uri": URI, "name": f"{lab.prefix}-dir", "type": "dir", "target": {"path": str(directory)}}
        assert not run_module(pool, dir_pool).get("failed")
        ladder(volume, {"uri": URI, "pool": f"{lab.prefix}-dir", "name": "v.qcow2", "format": "qcow2",
                        "capacity": "16MiB"})  # fmt: skip
        lab.conn.storagePoolLookupByName(name).refresh(0)  # libvirt forgets the image that is gone
        assert not run_module(pool, {"uri": URI, "name": name, "state": "absent"}).get("failed")
    finally:
        run_module(secret, {"uri": URI, "usage_type": "ceph", "usage_id": usage, "state": "absent", "force": True})
