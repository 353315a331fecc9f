"""The converge module on the real libvirtd: a dir pool, a raw disk shared by two TCG guests and their start, one
task on the ladder; the guests prove the shared disk by writing and reading each other's marks."""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.modules import converge

URI = "qemu:///system"
BLOCK = 4096


def cluster_steps(lab: Lab, pool: str, path: Path) -> tuple[list[dict[str, t.Any]], list[str]]:
    """The pool, the shared raw disk in it, two guests defined, the disk attached to both, then their start."""
    # The shared disk is each guest's only disk: inside, it is vda whatever its target.
    marks = [f"sv_disk=/dev/vda sv_write=C{i} sv_sector={i} sv_read=0,1" for i in range(2)]
    guests = [guest_params(lab, f"{lab.prefix}-c{i}", None, cmdline=mark) for i, mark in enumerate(marks)]
    items = [{k: v for k, v in g.items() if k != "uri"} for g in guests]
    names = [g["name"] for g in guests]
    steps: list[dict[str, t.Any]] = [
        {"pool": {"name": pool, "type": "dir", "target": {"path": str(path)}}},
        {"volume": {"pool": pool, "name": "shared.raw", "format": "raw", "capacity": "1MiB", "allocation": "full"}},
        {"domains": {"defaults": {"state": "present"}, "domains": items}},
        {"shared_disk": {"volume": {"pool": pool, "name": "shared.raw"}, "target": "vdb", "domains": names}},
        {"domains": {"defaults": {"state": "running"}, "domains": items}},
    ]
    return steps, [str(serial_path_of(g)) for g in guests]


def test_without_its_pool_step_the_task_fails_naming_it_and_with_it_two_guests_share_the_disk(lab: Lab) -> None:
    pool, path = f"{lab.prefix}-cv", Path("/var/tmp/sharedvirt-kvm") / f"{lab.prefix}-cv"
    lab.pools.append(pool)
    lab.files.append(path)
    steps, serials = cluster_steps(lab, pool, path)

    # The pool step left out: the volume step fails naming itself and the pool, and no later step runs.
    failed = run_module(converge, {"uri": URI, "steps": steps[1:]})
    assert failed["failed"] and failed["changed"] is False
    assert failed["msg"].startswith(f"steps[0] (volume on {URI})") and pool in failed["msg"], failed["msg"]
    assert not [d for d in lab.conn.listAllDomains() if d.name().startswith(f"{lab.prefix}-c")]

    # In check mode each step predicts from what the earlier ones declare: no "an earlier task may make it".
    whole = run_module(converge, {"uri": URI, "steps": steps}, check_mode=True)
    assert whole["changed"] is True and whole["warnings"] == [], whole["warnings"]
    # The ladder twice: the pool, volume and definitions; then the whole list, which attaches and starts. (On
    # objects that earlier steps only declare, check mode words its actions differently: "once it is defined".)
    made = ladder(converge, {"uri": URI, "steps": steps[:3]})
    made_steps = [(r["step"], r["changed"]) for r in made[2]["results"]]
    assert made_steps == [("pool", True), ("volume", True), ("domains", True)]
    runs = ladder(converge, {"uri": URI, "steps": steps})
    assert [(r["step"], r["changed"]) for r in runs[2]["results"]] == [
        ("pool", False),
        ("volume", False),
        ("domains", False),
        ("shared_disk", True),
        ("domains", True),
    ]
    # Each guest wrote its mark through the shared disk and read the other's: one disk, both guests, real I/O.
    both = "s0=<SVKVM-MARK C0> s1=<SVKVM-MARK C1>"
    for serial in serials:
        wait_for_marker(Path(serial), re.escape(both), 120)
    data = (path / "shared.raw").read_bytes()
    assert data[:13] == b"SVKVM-MARK C0" and data[BLOCK : BLOCK + 13] == b"SVKVM-MARK C1"
