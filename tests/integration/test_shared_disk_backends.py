"""Two running guests exchange O_DIRECT markers through a shared disk on each other backend:
an fs pool on a loop device, a GlusterFS netfs pool, and an RBD image on Ceph (cephx secret)."""

from __future__ import annotations

import grp
import os
import pwd
import typing as t
from pathlib import Path

import pytest
from testbed.ceph import MON, Ceph
from testbed.gluster import Gluster
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.nfs import Nfs
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, pool, secret, shared_disk, volume

pytestmark = pytest.mark.xdist_group("shared-daemons")  # tgtd, glusterd, nfs-ganesha, Ceph: one worker

URI = "qemu:///system"


def exchange(lab: Lab, source: dict[str, t.Any]) -> None:
    """Boot two guests, hot-attach the disk to both on the ladder, wait until each reads the other's marker."""
    names = [f"{lab.prefix}-x{i}" for i in range(2)]
    guests = []
    for i, name in enumerate(names):
        params = guest_params(lab, name, None, cmdline=f"sv_disk=/dev/vda sv_write=X{i} sv_sector={i} sv_read=0,1")
        assert run_module(domain, dict(params, state="running"))["changed"]
        guests.append(params)
    task = {"uri": URI, "target": "vdb", "serial": "SHARED1", "domains": names, **source}
    attached = ladder(shared_disk, task)
    assert [d["live"] for d in attached[2]["shared_disk"]["domains"]] == [True, True]
    both = "s0=<SVKVM-MARK X0> s1=<SVKVM-MARK X1>"
    for name, params in zip(names, guests):
        serial = serial_path_of(params)
        wait_for(f"{name} to read both markers", lambda s=serial: both in s.read_text(errors="replace"), 120)  # type: ignore[misc]
    ladder(shared_disk, dict(task, state="absent"))
    for name in names:
        run_module(domain, {"uri": URI, "name": name, "state": "absent"})


def test_fs_pool_on_loop(lab: Lab) -> None:
    device = lab.loop(48, mkfs="ext4", suffix="sdfs")
    name = f"{lab.prefix}-sdfs"
    target = Path("/var/tmp/sharedvirt-kvm") / name
    lab.pools.append(name)
    lab.files.append(target)
    made = run_module(pool, {"uri": URI, "name": name, "type": "fs", "source": {"device": [device], "format": "ext4"},
                             "target": {"path": str(target)}})  # fmt: skip
    assert not made.get("failed"), made.get("msg")
    exchange(lab, {"volume": {"pool": name, "name": "shared.raw"}, "capacity": "16MiB"})
    run_module(pool, {"uri": URI, "name": name, "state": "absent"})


def test_glusterfs_netfs_pool(lab: Lab, gluster: Gluster) -> None:
    name = f"{lab.prefix}-sdgl"
    target = Path("/var/tmp/sharedvirt-kvm") / name
    lab.pools.append(name)
    lab.files.append(target)
    source = {"hosts": [{"name": "127.0.0.1"}], "dir": f"/{gluster.volume}", "format": "glusterfs"}
    made = run_module(
        pool, {"uri": URI, "name": name, "type": "netfs", "target": {"path": str(target)}, "source": source}
    )
    assert not made.get("failed"), made.get("msg")
    exchange(lab, {"volume": {"pool": name, "name": "shared.raw"}, "capacity": "16MiB"})
    run_module(pool, {"uri": URI, "name": name, "state": "absent"})


def test_rbd_image_on_ceph(lab: Lab, ceph: Ceph) -> None:
    usage = f"client.libvirt {lab.prefix}"
    name = f"{lab.prefix}-sdrbd"
    lab.pools.append(name)
    host, port = MON.split(":")
    image = f"{lab.prefix}-shared"
    try:
        run_module(secret, {"uri": URI, "usage_type": "ceph", "usage_id": usage, "value": ceph.libvirt_key(),
                            "value_encoding": "base64"})  # fmt: skip
        auth = {"username": "libvirt", "secret": {"usage": usage}}
        source = {"name": ceph.pool, "hosts": [{"name": host, "port": int(port)}], "auth": auth}
        made = run_module(pool, {"uri": URI, "name": name, "type": "rbd", "source": source})
        assert not made.get("failed"), made.get("msg")
        assert not run_module(
            volume, {"uri": URI, "pool": name, "name": image, "format": "raw", "capacity": "16MiB"}
        ).get("failed")
        # libvirt 9.0 cannot attach rbd pool volumes as volume disks: the image goes in as a network disk.
        network = {"protocol": "rbd", "name": f"{ceph.pool}/{image}", "hosts": [{"name": host, "port": int(port)}],
                   "auth": {"username": "libvirt", "secret": {"type": "ceph", "usage": usage}}}  # fmt: skip
        exchange(lab, {"network": network})
        run_module(volume, {"uri": URI, "pool": name, "name": image, "state": "absent"})
        run_module(pool, {"uri": URI, "name": name, "state": "absent"})
    finally:
        run_module(secret, {"uri": URI, "usage_type": "ceph", "usage_id": usage, "state": "absent", "force": True})


def test_nfs_file_through_qemu(lab: Lab, nfs: Nfs) -> None:
    image = nfs.export / "shared.raw"
    with image.open("wb") as handle:
        handle.truncate(16 * 2**20)
    # QEMU presents the AUTH_SYS ids of libvirt-qemu; create the file with that owner before ganesha caches it.
    os.chown(image, pwd.getpwnam("libvirt-qemu").pw_uid, grp.getgrnam("kvm").gr_gid)
    network = {"protocol": "nfs", "name": str(image), "hosts": [{"name": "127.0.0.1"}]}
    exchange(lab, {"network": network})
