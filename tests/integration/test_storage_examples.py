"""The storage modules' EXAMPLES run for real, with names mapped to this test's pools and secrets.

Examples that reach storage servers on other hosts (gluster1, 192.0.2.10, mon1) are not run: test
traffic stays on this machine; the same pool types are proven against local daemons in
test_iscsi_storage.py, test_gluster_storage.py and test_ceph_storage.py.
"""

from __future__ import annotations

import base64
import typing as t
from pathlib import Path

import yaml
from testbed.ansible import run_playbook
from testbed.lab import Lab
from testbed.modules import run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import pool, secret, volume

URI = "qemu:///system"
REMOTE_EXAMPLES = {
    "GlusterFS volume mounted as a pool",
    "iSCSI LUNs through libiscsi, CHAP secret",
    "Ceph RBD pool, cephx key in a libvirt secret",
}


def run_examples(
    text: str, replacements: dict[str, str], skip: t.AbstractSet[str] = frozenset(), extra_vars: str = ""
) -> list[str]:
    for old, new in replacements.items():
        text = text.replace(old, new)
    tasks = [task for task in yaml.safe_load(text) if task["name"] not in skip]
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    run = run_playbook(yaml.safe_dump(play), extra_vars=extra_vars)
    assert run.rc == 0, run.output
    assert run.recap["failed"] == 0 and run.recap["changed"] == len(tasks), run.output
    return [task["name"] for task in tasks]


def dir_pool(lab: Lab, suffix: str) -> str:
    name = f"{lab.prefix}-{suffix}"
    path = Path("/var/tmp/sharedvirt-kvm") / name
    lab.pools.append(name)
    lab.files.append(path)
    run_module(pool, {"uri": URI, "name": name, "type": "dir", "target": {"path": str(path)}})
    return name


def test_volume_examples(lab: Lab) -> None:
    images, fast = dir_pool(lab, "images"), dir_pool(lab, "fast")
    ran = run_examples(volume.EXAMPLES, {"pool: images": f"pool: {images}", "pool: fast": f"pool: {fast}"})
    assert len(ran) == 6


def test_secret_examples(system_conn: t.Any, prefix: str) -> None:
    usage = f"iqn.2024-01.svt:{prefix}"
    key = base64.b64encode(b"svt example key").decode()
    try:
        run_examples(
            secret.EXAMPLES,
            {"iqn.2024-01.example:storage": usage, "client.libvirt": f"client.libvirt {prefix}"},
            extra_vars=f"ceph_libvirt_key={key} chap_password=one new_chap_password=two",
        )
    finally:
        for kind, name in (("ceph", f"client.libvirt {prefix}"), ("iscsi", usage)):
            run_module(secret, {"uri": URI, "usage_type": kind, "usage_id": name, "state": "absent", "force": True})


def test_pool_examples(lab: Lab) -> None:
    device = lab.loop(32, mkfs="ext4", suffix="sdb1")
    images, fast = f"{lab.prefix}-images", f"{lab.prefix}-fast"
    lab.pools += [images, fast]
    base = Path("/var/tmp/sharedvirt-kvm")
    lab.files += [base / images, base / fast]
    ran = run_examples(
        pool.EXAMPLES,
        {
            "name: images": f"name: {images}",
            "/var/lib/libvirt/images": str(base / images),
            "name: fast": f"name: {fast}",
            "/dev/sdb1": device,
            "/srv/fast": str(base / fast),
        },
        skip=REMOTE_EXAMPLES,
    )
    assert ran == [
        "Directory pool for VM images and templates",
        "A file system pool on a disk that already holds ext4 (never reformatted)",
        "Remove a pool, keep its data",
    ]
