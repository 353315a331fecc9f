"""disk_move on the real libvirtd: a guest that writes a marker every second keeps its QEMU process and its marker
sequence while its disk moves live between pools and formats; failures leave it on its own disk."""

from __future__ import annotations

import hashlib
import re
import subprocess
import typing as t
from pathlib import Path

import pytest
from testbed.ansible import kill_tree, start_playbook
from testbed.ceph import MON, Ceph
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for, wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.modules import (
    disk_move,
    domain,
    domain_info,
    pool,
    pool_info,
    secret,
    volume,
)

pytestmark = pytest.mark.xdist_group("shared-daemons")  # tgtd, glusterd, nfs-ganesha, Ceph: one worker

URI = "qemu:///system"
MIB = 2**20
BASE = Path("/var/tmp/sharedvirt-kvm")


def dir_pool(lab: Lab, suffix: str) -> tuple[str, Path]:
    name, path = f"{lab.prefix}-{suffix}", BASE / f"{lab.prefix}-{suffix}"
    lab.pools.append(name)
    lab.files.append(path)
    assert not run_module(pool, {"uri": URI, "name": name, "type": "dir", "target": {"path": str(path)}}).get("failed")
    return name, path


def seeded_disk(path: Path, fmt: str) -> None:
    """32 MiB with a pattern after the first 4 KiB (the guest ticks in block 0)."""
    raw = path.with_suffix(".seed")
    with raw.open("wb") as handle:
        handle.truncate(32 * MIB)
        for mib in range(32):
            handle.seek(mib * MIB + 4096)
            handle.write(f"SVKVM-SEED-{mib:02d}".encode() * 64)
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", fmt, str(raw), str(path)], check=True)
    raw.unlink()


def content_after_block_0(path: Path, fmt: str) -> str:
    """SHA-256 of the disk's guest-visible bytes after the ticking 4 KiB block."""
    raw = path.with_name(path.name + ".cmp")
    subprocess.run(["qemu-img", "convert", "-q", "-U", "-f", fmt, "-O", "raw", str(path), str(raw)], check=True)
    try:
        return hashlib.sha256(raw.read_bytes()[4096:]).hexdigest()
    finally:
        raw.unlink()


def ticks(serial: Path, mark: str) -> list[int]:
    return [int(n) for n in re.findall(rf"SVKVM-TICK {mark} (\d+)", serial.read_text(errors="replace"))]


def qemu_pid(name: str) -> int:
    return int(Path(f"/run/libvirt/qemu/{name}.pid").read_text())


def ticking_guest(lab: Lab, pool_name: str, volume: str, suffix: str = "mv", fmt: str = "qcow2") -> dict[str, t.Any]:
    subprocess.run(["virsh", "-q", "pool-refresh", pool_name], check=True, capture_output=True)
    params = guest_params(
        lab,
        f"{lab.prefix}-{suffix}",
        None,
        f"sv_disk=/dev/vda sv_write={suffix} sv_tick=1",
        state="running",
        disks=[{"target": "vda", "format": fmt, "source": {"pool": pool_name, "volume": volume}}],
    )
    made = run_module(domain, params)
    assert not made.get("failed"), made.get("msg")
    wait_for_marker(serial_path_of(params), rf"SVKVM-TICK {suffix} 3", 120)
    return params


def test_a_running_disk_moves_live_into_another_pool_and_format(lab: Lab) -> None:
    slow, slow_path = dir_pool(lab, "slow")
    fast, fast_path = dir_pool(lab, "fast")
    seeded_disk(slow_path / "data.qcow2", "qcow2")
    seed = content_after_block_0(slow_path / "data.qcow2", "qcow2")
    guest = ticking_guest(lab, slow, "data.qcow2")
    name, serial = guest["name"], serial_path_of(guest)
    pid = qemu_pid(name)

    move = {"uri": URI, "name": name, "disk": "vda", "pool": fast, "format": "raw", "timeout": 120}
    steps = ladder(disk_move, move)
    assert steps[2]["actions"][2].startswith(f"copy {name}/vda live into {fast}/{name}-vda.raw")
    assert steps[1]["diff"]["before"] == {"location": f"{slow}/data.qcow2", "format": "qcow2"}
    assert steps[2]["disk_move"] == {"location": f"{fast}/{name}-vda.raw", "format": "raw"}

    assert qemu_pid(name) == pid  # the same QEMU process: the guest never stopped
    before = len(ticks(serial, "mv"))
    wait_for("the guest to tick on the new disk", lambda: len(ticks(serial, "mv")) >= before + 3, 60)
    seen = ticks(serial, "mv")
    assert seen == list(range(1, len(seen) + 1))  # no gap in the marker sequence
    live = lab.conn.lookupByName(name).XMLDesc(0)
    assert f"{fast_path}/{name}-vda.raw" in live and "data.qcow2" not in live
    lab.conn.lookupByName(name).suspend()  # quiesced: compare the data the guest does not touch
    try:
        assert content_after_block_0(fast_path / f"{name}-vda.raw", "raw") == seed
        tick = subprocess.run(
            ["dd", f"if={fast_path / f'{name}-vda.raw'}", "bs=512", "count=1"], capture_output=True, check=True
        )
        assert tick.stdout.startswith(b"SVKVM-MARK mv ")  # the guest's writes land on the new volume
    finally:
        lab.conn.lookupByName(name).resume()
    assert (slow_path / "data.qcow2").exists()  # kept: remove_source was not asked for

    # Back to the first pool as qcow2, this time dropping the volume it leaves.
    back = dict(move, pool=slow, format="qcow2", volume="data2.qcow2", remove_source=True)
    result = run_module(disk_move, back)
    assert result["changed"] and result["actions"][-2] == f"delete the old volume {fast}/{name}-vda.raw (remove_source)"
    assert not (fast_path / f"{name}-vda.raw").exists() and qemu_pid(name) == pid


def test_a_copy_that_times_out_or_is_killed_leaves_the_guest_on_its_own_disk(lab: Lab, tmp_path: Path) -> None:
    slow, slow_path = dir_pool(lab, "slow")
    fast, fast_path = dir_pool(lab, "fast")
    with (slow_path / "big.raw").open("wb") as handle:  # 48 MiB of data: a 1 MiB/s copy takes most of a minute
        handle.write(hashlib.sha256(b"x").digest() * (48 * MIB // 32))
    guest = ticking_guest(lab, slow, "big.raw", "kil", "raw")
    name = guest["name"]
    source = "volume='big.raw'"
    move = {"uri": URI, "name": name, "disk": "vda", "pool": fast, "bandwidth": 1, "timeout": 3}

    timed_out = run_module(disk_move, move)
    assert timed_out["failed"] and "timed out after 3 s waiting for the copy" in timed_out["msg"]
    assert source in lab.conn.lookupByName(name).XMLDesc(0) and list(fast_path.iterdir()) == []

    play = tmp_path / "move.yml"
    play.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - sharedvirt.kvm.disk_move:\n"
        + "".join(f"        {k}: {v}\n" for k, v in dict(move, timeout=300).items())
    )
    run = start_playbook(play)
    wait_for("the copy to start", lambda: "<mirror" in lab.conn.lookupByName(name).XMLDesc(0), 120, interval=0.1)
    kill_tree(run.pid)  # the module's process dies mid-copy
    assert source in lab.conn.lookupByName(name).XMLDesc(0)  # still on its own disk

    # domain_info shows the copy the killed run left, with its progress (1 MiB/s: far from done).
    def copy_job() -> dict[str, t.Any]:
        (seen,) = run_module(domain_info, {"uri": URI, "name": name})["domains"]
        assert seen["job"] is None  # a block job is not a domain job
        (found,) = seen["block_jobs"]
        return t.cast(dict[str, t.Any], found)

    wait_for("the copy's size to be known", lambda: copy_job()["total_bytes"] > 0, 30)
    copy = copy_job()
    assert copy["disk"] == "vda" and copy["type"] == "copy" and copy["bandwidth"] == 1 and not copy["ready"]
    assert 0 <= copy["done_bytes"] < copy["total_bytes"] and copy["percent"] < 100
    again = run_module(disk_move, dict(move, bandwidth=0, timeout=120))
    assert again["actions"][0].startswith(f"clean up the unfinished move of {name}/vda to {fast}/{name}-vda.raw")
    assert f"{fast_path}/{name}-vda.raw" in lab.conn.lookupByName(name).XMLDesc(0)
    assert not run_module(disk_move, dict(move, bandwidth=0))["changed"]


def test_refusals_change_nothing(lab: Lab) -> None:
    slow, slow_path = dir_pool(lab, "slow")
    fast, fast_path = dir_pool(lab, "fast")
    seeded_disk(slow_path / "d.qcow2", "qcow2")
    (slow_path / "q.raw").write_bytes(b"\0" * MIB)
    subprocess.run(["virsh", "-q", "pool-refresh", slow], check=True, capture_output=True)
    shared = {
        "target": "vdb",
        "format": "raw",
        "shareable": True,
        "cache": "none",
        "source": {"pool": slow, "volume": "q.raw"},
    }
    params = guest_params(lab, f"{lab.prefix}-rf", None, "", state="present", disks=[
        {"target": "vda", "format": "qcow2", "source": {"pool": slow, "volume": "d.qcow2"}}, shared])  # fmt: skip
    assert not run_module(domain, params).get("failed")
    name = params["name"]
    refused = run_module(disk_move, {"uri": URI, "name": name, "disk": "vdb", "pool": fast})
    assert refused["failed"] and refused["msg"].startswith(f"disk {name}/vdb is shareable")
    (fast_path / "taken.qcow2").write_bytes(b"")
    subprocess.run(["virsh", "-q", "pool-refresh", fast], check=True, capture_output=True)
    taken = run_module(disk_move, {"uri": URI, "name": name, "disk": "vda", "pool": fast, "volume": "taken.qcow2"})
    assert taken["failed"] and f"volume {fast}/taken.qcow2 exists already" in taken["msg"]
    assert sorted(p.name for p in fast_path.iterdir()) == ["taken.qcow2"]
    # Tiers: the fast pool labelled, and a stopped domain's disk moved there by tier - copied by libvirt, the
    # definition following; a rerun sees the disk in a pool of that tier and leaves it.
    labelled = {"uri": URI, "name": fast, "type": "dir", "target": {"path": str(fast_path)}, "tier": "fast"}
    ladder(pool, labelled)
    assert run_module(pool_info, {"uri": URI, "name": fast})["pools"][0]["tier"] == "fast"
    moved = ladder(disk_move, {"uri": URI, "name": name, "disk": "vda", "tier": "fast"})
    assert moved[2]["disk_move"] == {"location": f"{fast}/{name}-vda.qcow2", "format": "qcow2"}
    assert f"volume='{name}-vda.qcow2'" in lab.conn.lookupByName(name).XMLDesc(0)
    missing = run_module(disk_move, {"uri": URI, "name": name, "disk": "vda", "tier": "archive"})
    assert missing["failed"] and "no active pool of tier 'archive'" in missing["msg"]
    assert ladder(pool, dict(labelled, tier=""))[2]["actions"] == [f"remove the tier label of pool {fast}"]


def test_a_running_disk_moves_live_onto_rbd(lab: Lab, ceph: Ceph) -> None:
    slow, slow_path = dir_pool(lab, "slow")
    seeded_disk(slow_path / "data.qcow2", "qcow2")
    usage, rbd = f"client.libvirt {lab.prefix}", f"{lab.prefix}-rbd"
    host, port = MON.split(":")
    secret_task = {"uri": URI, "usage_type": "ceph", "usage_id": usage}
    try:
        run_module(secret, dict(secret_task, value=ceph.libvirt_key(), value_encoding="base64"))
        source = {"name": ceph.pool, "hosts": [{"name": host, "port": int(port)}],
                  "auth": {"username": "libvirt", "secret": {"usage": usage}}}  # fmt: skip
        assert not run_module(pool, {"uri": URI, "name": rbd, "type": "rbd", "source": source}).get("failed")
        guest = ticking_guest(lab, slow, "data.qcow2", "rb")
        name, serial = guest["name"], serial_path_of(guest)
        pid = qemu_pid(name)
        move = {"uri": URI, "name": name, "disk": "vda", "pool": rbd, "format": "raw", "timeout": 300}
        done = run_module(disk_move, move)
        assert not done.get("failed"), done.get("msg")
        assert qemu_pid(name) == pid and "protocol='rbd'" in lab.conn.lookupByName(name).XMLDesc(0)
        before = len(ticks(serial, "rb"))
        wait_for("the guest to tick on RBD", lambda: len(ticks(serial, "rb")) >= before + 3, 60)
        seen = ticks(serial, "rb")
        assert seen == list(range(1, len(seen) + 1))
        assert run_module(disk_move, move)["changed"] is False
        lab.conn.lookupByName(name).destroy()
        assert "protocol='rbd'" in lab.conn.lookupByName(name).XMLDesc(0)  # the definition followed
        run_module(volume, {"uri": URI, "pool": rbd, "name": f"{name}-vda.raw", "state": "absent"})
    finally:
        run_module(pool, {"uri": URI, "name": rbd, "state": "absent"})
        run_module(secret, dict(secret_task, state="absent", force=True))


def test_a_destination_pool_too_small_is_refused(lab: Lab) -> None:
    slow, slow_path = dir_pool(lab, "slow")
    with (slow_path / "full.raw").open("wb") as handle:  # 24 MiB of data: all of it must be copied
        handle.write(b"\x5a" * 24 * MIB)
    subprocess.run(["virsh", "-q", "pool-refresh", slow], check=True, capture_output=True)
    device = lab.loop(16, mkfs="ext4", suffix="small")
    small = f"{lab.prefix}-small"
    lab.pools.append(small)
    lab.files.append(BASE / small)
    made = run_module(pool, {"uri": URI, "name": small, "type": "fs", "source": {"device": device},
                             "target": {"path": str(BASE / small)}})  # fmt: skip
    assert not made.get("failed"), made.get("msg")
    disk = {"target": "vda", "format": "raw", "source": {"pool": slow, "volume": "full.raw"}}
    params = guest_params(lab, f"{lab.prefix}-sm", None, "", state="present", disks=[disk])
    assert not run_module(domain, params).get("failed")
    refused = run_module(disk_move, {"uri": URI, "name": params["name"], "disk": "vda", "pool": small})
    assert refused["failed"] and refused["msg"].startswith(f"pool {small} has ")
    assert f"bytes free, and {params['name']}/vda holds {24 * MIB} bytes of data" in refused["msg"]
    assert [p.name for p in (BASE / small).iterdir() if p.name != "lost+found"] == []
    subprocess.run(["virsh", "-q", "pool-destroy", small], check=False, capture_output=True)
