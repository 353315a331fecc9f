"""Pool types this test machine's kernel cannot start. libvirt still accepts their definitions,
which is tested for real here; their XML and plans are unit-tested in
tests/unit/plugins/module_utils/storage/test_pool_model.py. Starting them is skipped with the reason,
checked on the machine each time."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from testbed.modules import ladder, run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import pool

URI = "qemu:///system"


def _filesystems() -> str:
    return Path("/proc/filesystems").read_text()


# kind -> (pool options, probe that is True when the machine can start it, reason when not)
CASES: dict[str, tuple[dict[str, t.Any], t.Callable[[], bool], str]] = {
    "logical": (
        {
            "type": "logical",
            "source": {"name": "svtvg", "device": ["/dev/svt-missing"]},
            "target": {"path": "/dev/svtvg"},
        },
        lambda: Path("/dev/mapper/control").exists(),
        "LVM needs device-mapper, which this kernel lacks",
    ),
    "iscsi": (
        {
            "type": "iscsi",
            "source": {"hosts": [{"name": "127.0.0.1"}], "device": ["iqn.2024-01.svt:none"]},
            "target": {"path": "/dev/disk/by-path"},
        },
        lambda: Path("/sys/module/scsi_transport_iscsi").exists(),
        "the kernel iSCSI initiator is missing; iscsi-direct (tested) covers iSCSI here",
    ),
    "netfs-nfs": (
        {
            "type": "netfs",
            "source": {"hosts": [{"name": "127.0.0.1"}], "dir": "/export", "format": "nfs"},
            "target": {"path": "/var/tmp/sharedvirt-kvm/svt-nfs"},
        },
        lambda: "\tnfs\n" in _filesystems(),
        "there is no kernel NFS client; QEMU's nfs:// network disks are the route here",
    ),
    "mpath": (
        {"type": "mpath", "target": {"path": "/dev/mapper"}},
        lambda: Path("/dev/mapper/control").exists(),
        "multipath needs device-mapper, which this kernel lacks",
    ),
    "zfs": (
        {"type": "zfs", "source": {"name": "svttank", "device": ["/dev/svt-missing"]}},
        lambda: "\tzfs\n" in _filesystems(),
        "there is no ZFS module for this kernel",
    ),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_definition_is_accepted_by_libvirt(system_conn: t.Any, prefix: str, kind: str) -> None:
    options, _probe, _reason = CASES[kind]
    name = f"{prefix}-{kind}"
    try:
        ladder(pool, {"uri": URI, "name": name, "state": "present", **options})
    finally:
        run_module(pool, {"uri": URI, "name": name, "state": "absent"})


@pytest.mark.parametrize("kind", sorted(CASES))
def test_start(kind: str) -> None:
    _options, probe, reason = CASES[kind]
    if not probe():
        pytest.skip(f"{kind} pool cannot start here: {reason}")
    pytest.fail(f"this machine can start {kind} pools; give this test a real start ladder for them")
