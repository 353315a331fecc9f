"""backup, backup_info and backup_restore on the real libvirtd: a running guest's disk backed up full at marker A and
incrementally at marker B (quiesced through its agent); each restore point restores exactly its marker; retention
folds the oldest point into the next."""

from __future__ import annotations

import subprocess
from pathlib import Path

from testbed.agent import agent, guest_sh
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for, wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.modules import backup, backup_info, backup_restore, domain, pool

URI = "qemu:///system"
MIB = 2**20
BASE = Path("/var/tmp/sharedvirt-kvm")


def mark(dom: object, text: str) -> None:
    """The guest writes ``text`` into sector 0 of its disk, and syncs it to the host."""
    script = f"echo 'SVKVM-MARK {text}' | dd of=/dev/vda bs=512 count=1 conv=sync,fsync oflag=direct 2>/dev/null"
    code, out = guest_sh(dom, script)
    assert code == 0, out


def sector_0(path: Path, fmt: str) -> bytes:
    raw = path.with_name(path.name + ".raw")
    subprocess.run(["qemu-img", "convert", "-q", "-U", "-f", fmt, "-O", "raw", str(path), str(raw)], check=True)
    try:
        return raw.read_bytes()[:512].rstrip(b"\0")
    finally:
        raw.unlink()


def test_full_and_incremental_backups_restore_exactly_their_markers(lab: Lab) -> None:
    images, path = f"{lab.prefix}-bk", BASE / f"{lab.prefix}-bk"
    lab.pools.append(images)
    lab.files += [path, BASE / f"{lab.prefix}-backups"]
    assert not run_module(pool, {"uri": URI, "name": images, "type": "dir", "target": {"path": str(path)}}).get(
        "failed"
    )
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path / "disk.qcow2"), "64M"], check=True)
    subprocess.run(["virsh", "-q", "pool-refresh", images], check=True, capture_output=True)
    disk = {"target": "vda", "format": "qcow2", "source": {"pool": images, "volume": "disk.qcow2"}}
    params = guest_params(lab, f"{lab.prefix}-bk", None, "", state="running", disks=[disk])
    assert not run_module(domain, params).get("failed")
    name = params["name"]
    dom = lab.conn.lookupByName(name)
    wait_for_marker(serial_path_of(params), r"SVKVM-AGENT", 120)
    wait_for("the guest agent", lambda: agent(dom, {"execute": "guest-ping"}) is not None, 90)
    dest = str(BASE / f"{lab.prefix}-backups")
    task = {"uri": URI, "name": name, "dest": dest, "keep": 2}

    mark(dom, "A")
    predicted = run_module(backup, task, check_mode=True)
    full = run_module(backup, task)
    assert not full.get("failed"), full.get("msg")
    assert full["actions"] == predicted["actions"]
    assert full["actions"][0].startswith(f"back up {name} (full; no earlier restore point): vda into {dest}/{name}")
    assert full["actions"][0].endswith("(quiesced through the guest agent)")
    mark(dom, "B")
    incremental = run_module(backup, task)
    first_id = full["backup"]["points"][0]["id"]
    assert incremental["actions"][0].startswith(f"back up {name} (incremental since {first_id})")
    info = run_module(backup_info, {"uri": URI, "name": name, "dest": dest})
    a_point, b_point = info["points"]
    assert (a_point["kind"], b_point["kind"], b_point["parent"]) == ("full", "incremental", a_point["id"])
    # Only the changed blocks: the incremental backup read a small fraction of what the full one did.
    print(f"backup sizes: full read {a_point['processed']} B, incremental read {b_point['processed']} B")
    assert b_point["processed"] * 20 <= a_point["processed"]
    assert [c.getName() for c in dom.listAllCheckpoints()] == [b_point["id"]]  # older checkpoints deleted

    restored = {}
    for pid, volume in ((a_point["id"], "a.qcow2"), (b_point["id"], "b.qcow2")):
        restore = {"uri": URI, "name": name, "dest": dest, "point": pid, "disk": "vda", "pool": images,
                   "volume": volume}  # fmt: skip
        ladder(backup_restore, restore)
        restored[volume] = sector_0(path / volume, "qcow2")
    assert restored == {"a.qcow2": b"SVKVM-MARK A\n", "b.qcow2": b"SVKVM-MARK B\n"}
    over = run_module(backup_restore, {"uri": URI, "name": name, "dest": dest, "point": b_point["id"], "disk": "vda",
                                       "pool": images, "volume": "a.qcow2"})  # fmt: skip
    assert (
        over["failed"] and over["consent_option"] == "replace" and sector_0(path / "a.qcow2", "qcow2").endswith(b"A\n")
    )

    # A third point with keep=2: the oldest (full, A) is merged into B, which becomes a full one and still holds B.
    mark(dom, "C")
    third = run_module(backup, task)
    assert (
        third["actions"][1]
        == f"drop the oldest restore point {a_point['id']} (merged into {b_point['id']}, which becomes a full one)"
    )
    left = run_module(backup_info, {"uri": URI, "name": name, "dest": dest})["points"]
    assert [(p["id"], p["kind"]) for p in left] == [(b_point["id"], "full"), (left[1]["id"], "incremental")]
    ladder(backup_restore, {"uri": URI, "name": name, "dest": dest, "point": b_point["id"], "disk": "vda",
                            "pool": images, "volume": "b2.qcow2"})  # fmt: skip
    assert sector_0(path / "b2.qcow2", "qcow2") == b"SVKVM-MARK B\n"
    assert run_module(backup, dict(task, max_age=3600))["changed"] is False
    for checkpoint in dom.listAllCheckpoints():
        checkpoint.delete(0)
