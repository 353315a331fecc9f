"""iSCSI storage on a real userspace target (tgtd): CHAP secret, iscsi-direct pool, iscsi network disk."""

from __future__ import annotations

import typing as t

import pytest
from testbed import iscsi
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, pool, pool_info, secret

pytestmark = pytest.mark.xdist_group("shared-daemons")  # tgtd, glusterd, nfs-ganesha, Ceph: one worker

URI = "qemu:///system"


def test_iscsi_direct_pool_with_chap_and_outage(lab: Lab, chap_target: iscsi.Target) -> None:
    name = f"{lab.prefix}-san"
    lab.pools.append(name)
    try:
        ladder(secret, {"uri": URI, "usage_type": "iscsi", "usage_id": chap_target.iqn, "value": chap_target.password})
        params: dict[str, t.Any] = {
            "uri": URI,
            "name": name,
            "type": "iscsi-direct",
            "source": {
                "hosts": [{"name": iscsi.PORTAL, "port": iscsi.PORT}],
                "device": [chap_target.iqn],
                "initiator": f"iqn.2024-01.svt:{lab.prefix}-init",
                "auth": {"username": chap_target.user, "secret": {"usage": chap_target.iqn}},
            },
        }
        created = ladder(pool, params)
        luns = {v["name"]: v["capacity"] for v in created[2]["pool"]["volumes"]}
        # libvirt computes the size from the last LBA: one 512-byte sector short of the file.
        assert 32 * 2**20 - 512 <= luns.get("unit:0:0:1", 0) <= 32 * 2**20
        info = run_module(pool_info, {"uri": URI, "name": name})
        assert info["pools"][0]["source"]["auth"]["username"] == chap_target.user
        assert str(chap_target.password) not in str(created) + str(info)

        # The target goes away under the active pool (nothing stopped by hand): the refresh fails, naming the
        # pool; whatever libvirt made of the pool, the runs after the target is back converge.
        iscsi.kill()
        outage = run_module(pool, dict(params, refresh=True, timeout=30))
        assert outage["failed"] is True and f"pool '{name}'" in outage["msg"], outage["msg"]
        iscsi.start()
        chap_target.export()
        recovered = run_module(pool, dict(params, refresh=True))
        assert not recovered.get("failed"), recovered.get("msg")
        assert lab.conn.storagePoolLookupByName(name).isActive()
        assert "unit:0:0:1" in [
            v["name"] for v in run_module(pool_info, {"uri": URI, "name": name})["pools"][0]["volumes"]
        ]
        assert run_module(pool, params)["changed"] is False
        ladder(pool, {"uri": URI, "name": name, "state": "absent"})
    finally:
        run_module(
            secret, {"uri": URI, "usage_type": "iscsi", "usage_id": chap_target.iqn, "state": "absent", "force": True}
        )


def test_guest_reads_an_iscsi_network_disk(lab: Lab, chap_target: iscsi.Target) -> None:
    with chap_target.backing.open("r+b") as handle:
        handle.write(b"SVKVM-MARK ISCSI\n".ljust(512, b"\0"))
    try:
        run_module(
            secret, {"uri": URI, "usage_type": "iscsi", "usage_id": chap_target.iqn, "value": chap_target.password}
        )
        disk = {
            "target": "vda",
            "bus": "virtio",
            "format": "raw",
            "cache": "none",
            "source": {
                "protocol": "iscsi",
                "name": f"{chap_target.iqn}/1",
                "hosts": [{"name": iscsi.PORTAL, "port": iscsi.PORT}],
                "auth": {"username": chap_target.user, "secret": {"type": "iscsi", "usage": chap_target.iqn}},
            },
        }
        name = f"{lab.prefix}-isc"
        params = guest_params(lab, name, None, cmdline="sv_disk=/dev/vda sv_read=0", disks=[disk], state="running")
        ladder(domain, params)
        wait_for(
            "the guest to read the LUN's marker",
            lambda: "s0=<SVKVM-MARK ISCSI>" in serial_path_of(params).read_text(errors="replace"),
            90,
        )
        run_module(domain, {"uri": URI, "name": name, "state": "absent"})
    finally:
        run_module(
            secret, {"uri": URI, "usage_type": "iscsi", "usage_id": chap_target.iqn, "state": "absent", "force": True}
        )
