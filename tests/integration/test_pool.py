"""The pool module on the real libvirtd: dir, fs (ext4, xfs) and disk (GPT) pools on loop devices.

Data safety is checked with checksums: nothing the module is not told to destroy changes.
"""

from __future__ import annotations

import hashlib
import subprocess
import typing as t
from pathlib import Path

from testbed.lab import Lab
from testbed.modules import ladder, run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import pool

URI = "qemu:///system"


def digest(path: str | Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def fs_uuid(device: str) -> str:
    return subprocess.run(
        ["blkid", "-o", "value", "-s", "UUID", device], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_dir_pool_keeps_data_unless_purged(lab: Lab) -> None:
    name = f"{lab.prefix}-dir"
    lab.pools.append(name)
    target = Path("/var/tmp/sharedvirt-kvm") / name
    lab.files.append(target)
    params = {"uri": URI, "name": name, "type": "dir", "target": {"path": str(target)}}
    created = ladder(pool, dict(params, autostart=True))
    assert target.is_dir()  # built (mkdir) because it was absent
    assert created[2]["pool"]["state"] == "active" and created[2]["pool"]["autostart"] is True
    vol = lab.conn.storagePoolLookupByName(name).createXML(
        "<volume><name>keep.raw</name><capacity unit='MiB'>1</capacity><target><format type='raw'/></target></volume>",
        0,
    )
    (target / "keep.raw").write_bytes(b"important" * 1000)
    before = digest(vol.path())
    ladder(pool, {"uri": URI, "name": name, "state": "absent"})
    assert digest(target / "keep.raw") == before  # absent keeps data
    ladder(pool, params)  # defined again over the same directory: the volume is there
    assert [v["name"] for v in run_module(pool, params)["pool"]["volumes"]] == ["keep.raw"]
    (target / "dropped.raw").write_bytes(b"x" * 4096)  # put there behind libvirt's back
    refreshed = run_module(pool, dict(params, refresh=True))
    assert refreshed["changed"] is False
    assert [v["name"] for v in refreshed["pool"]["volumes"]] == ["dropped.raw", "keep.raw"]
    (target / "dropped.raw").unlink()
    run_module(pool, dict(params, refresh=True))
    refused = run_module(pool, {"uri": URI, "name": name, "state": "absent", "purge": True})
    assert refused["failed"] and "holds volumes keep.raw" in refused["msg"]
    assert digest(target / "keep.raw") == before
    # Stopped, the pool cannot list its volumes: the same purge is refused, never done blind.
    ladder(pool, dict(params, state="inactive"))
    for check in (True, False):
        blind = run_module(pool, {"uri": URI, "name": name, "state": "absent", "purge": True}, check_mode=check)
        assert blind["failed"] and blind["msg"].startswith(
            f"pool {name} is inactive, so the volumes a purge would delete cannot be listed"
        )
        assert blind["consent_option"] == "purge_volumes"
    assert digest(target / "keep.raw") == before
    ladder(pool, dict(params, state="active"))
    purged = run_module(
        pool, {"uri": URI, "name": name, "state": "absent", "purge": True, "purge_volumes": ["keep.raw"]}
    )
    assert purged["changed"] and not target.exists()


def test_fs_pool_on_existing_ext4_is_never_formatted(lab: Lab, tmp_path: Path) -> None:
    device = lab.loop(64, mkfs="ext4")
    mnt = tmp_path / "m"
    mnt.mkdir()
    subprocess.run(["mount", device, str(mnt)], check=True)
    (mnt / "data.bin").write_bytes(b"precious" * 4096)
    subprocess.run(["umount", str(mnt)], check=True)
    # Mounting updates the superblock, so the file system's UUID and the file are what must stay.
    uuid_before = fs_uuid(device)
    name = f"{lab.prefix}-ext4"
    lab.pools.append(name)
    target = Path("/var/tmp/sharedvirt-kvm") / name
    lab.files.append(target)
    params = {
        "uri": URI,
        "name": name,
        "type": "fs",
        "source": {"device": [device], "format": "ext4"},
        "target": {"path": str(target)},
    }
    created = ladder(pool, params)
    assert created[2]["pool"]["state"] == "active"
    assert (target / "data.bin").read_bytes() == b"precious" * 4096
    assert any("storage already prepared, not formatted" in w for w in created[2]["warnings"])
    ladder(pool, {"uri": URI, "name": name, "state": "absent"})
    assert fs_uuid(device) == uuid_before
    subprocess.run(["mount", device, str(mnt)], check=True)
    try:
        assert (mnt / "data.bin").read_bytes() == b"precious" * 4096
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_fs_pool_builds_xfs_on_an_empty_device(lab: Lab) -> None:
    device = lab.loop(320, suffix="xfs")  # xfs needs at least 300 MB
    name = f"{lab.prefix}-xfs"
    lab.pools.append(name)
    target = Path("/var/tmp/sharedvirt-kvm") / name
    lab.files.append(target)
    params = {
        "uri": URI,
        "name": name,
        "type": "fs",
        "source": {"device": [device], "format": "xfs"},
        "target": {"path": str(target)},
    }
    ladder(pool, params)
    blkid = subprocess.run(["blkid", "-o", "value", "-s", "TYPE", device], capture_output=True, text=True, check=False)
    assert blkid.stdout.strip() == "xfs"
    ladder(pool, {"uri": URI, "name": name, "state": "absent"})


def test_disk_pool_gpt_and_refusals(lab: Lab) -> None:
    device = lab.loop(64, suffix="gpt")
    name = f"{lab.prefix}-gpt"
    lab.pools.append(name)
    params = {
        "uri": URI,
        "name": name,
        "type": "disk",
        "source": {"device": [device], "format": "gpt"},
        "target": {"path": "/dev"},
    }
    ladder(pool, params)
    parted = subprocess.run(["parted", "-s", device, "print"], capture_output=True, text=True, check=True).stdout
    assert "Partition Table: gpt" in parted
    ladder(pool, {"uri": URI, "name": name, "state": "absent"})

    # A device that holds a file system: never partitioned, the start fails and says why.
    other = lab.loop(64, mkfs="ext4", suffix="busy")
    before = digest(other)
    busy = f"{lab.prefix}-busy"
    lab.pools.append(busy)
    busy_params: dict[str, t.Any] = {
        "uri": URI,
        "name": busy,
        "type": "disk",
        "source": {"device": [other], "format": "gpt"},
        "target": {"path": "/dev"},
    }
    failed = run_module(pool, busy_params)
    assert failed["failed"] is True and failed["msg"].startswith(f"start pool '{busy}': ")
    assert digest(other) == before
    refused = run_module(pool, dict(busy_params, build="overwrite"))
    assert refused["failed"] and refused["consent_option"] == "confirm"
    assert digest(other) == before
    run_module(pool, {"uri": URI, "name": busy, "state": "absent"})
