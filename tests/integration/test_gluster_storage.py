"""A netfs pool on GlusterFS over FUSE (libvirt mounts it), with volumes a guest can use."""

from __future__ import annotations

from pathlib import Path

import pytest
from testbed.gluster import Gluster
from testbed.lab import Lab
from testbed.modules import ladder

from ansible_collections.sharedvirt.kvm.plugins.modules import pool, volume

pytestmark = pytest.mark.xdist_group("shared-daemons")  # tgtd, glusterd, nfs-ganesha, Ceph: one worker

URI = "qemu:///system"


def test_netfs_glusterfs_pool(lab: Lab, gluster: Gluster) -> None:
    name = f"{lab.prefix}-gl"
    target = Path("/var/tmp/sharedvirt-kvm") / name
    lab.pools.append(name)
    lab.files.append(target)
    params = {
        "uri": URI,
        "name": name,
        "type": "netfs",
        "source": {"hosts": [{"name": "127.0.0.1"}], "dir": f"/{gluster.volume}", "format": "glusterfs"},
        "target": {"path": str(target)},
    }
    ladder(pool, params)
    assert f"{target} " in Path("/proc/mounts").read_text()  # mounted by libvirt over FUSE
    created = ladder(
        volume,
        {"uri": URI, "pool": name, "name": "shared.raw", "format": "raw", "capacity": "16MiB", "allocation": "full"},
    )
    assert created[2]["volume"]["path"] == str(target / "shared.raw")
    assert (gluster.brick / "shared.raw").stat().st_size == 16 * 2**20  # the data lives on the brick
    ladder(volume, {"uri": URI, "pool": name, "name": "shared.raw", "state": "absent"})
    ladder(pool, {"uri": URI, "name": name, "state": "absent"})
    assert f"{target} " not in Path("/proc/mounts").read_text()
