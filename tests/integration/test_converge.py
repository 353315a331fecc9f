"""The converge module on the real libvirtd: a dir pool, a raw disk shared by two TCG guests and their start, one
task on the ladder; the guests prove the shared disk by writing and reading each other's marks. And the steps'
shared read of who uses which volume, forgotten after a step that changes something."""

from __future__ import annotations

import re
import subprocess
import typing as t
from pathlib import Path

import pytest
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.usage_client import UsageReader
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


def test_a_step_sees_what_the_steps_before_it_changed_in_who_uses_a_volume(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The task reads who uses which volume once and keeps it for its later steps until one changes something:
    # a domain defined on the template by one step makes the next step's deletion of it a refusal.
    pool, path = f"{lab.prefix}-cu", Path("/var/tmp/sharedvirt-kvm") / f"{lab.prefix}-cu"
    lab.pools.append(pool)
    lab.files.append(path)
    made = run_module(
        converge, {"uri": URI, "steps": [{"pool": {"name": pool, "type": "dir", "target": {"path": str(path)}}}]}
    )
    assert not made.get("failed"), made.get("msg")

    def steps(template: str, domain: str) -> list[dict[str, t.Any]]:
        lab.domains.append(domain)
        disk = {"source": {"pool": pool, "volume": template}, "target": "vda"}
        item = {"name": domain, "memory": "64MiB", "vcpus": 1, "disks": [disk], "state": "present"}
        return [
            {"volume": {"pool": pool, "name": template, "format": "raw", "capacity": "1MiB"}},  # reads the users
            {"domains": {"domains": [item]}},  # a new user of the template
            {"volume": {"pool": pool, "name": template, "state": "absent"}},
        ]

    refused = run_module(converge, {"uri": URI, "steps": steps("t.raw", f"{lab.prefix}-cu1")})
    assert refused["failed"] and f"volume {pool}/t.raw is in use - domain {lab.prefix}-cu1" in refused["msg"]
    assert (path / "t.raw").exists()

    # Negative control: with the first read kept for the whole task, the last step deletes the disk of the
    # domain the step before it has just defined.
    monkeypatch.setattr(UsageReader, "forget", lambda self: None)
    harm = run_module(converge, {"uri": URI, "steps": steps("u.raw", f"{lab.prefix}-cu2")})
    assert harm["changed"] is True and not harm.get("failed") and not (path / "u.raw").exists()


def test_a_pool_rescan_that_finds_a_new_clone_makes_the_next_step_read_again(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rescan that finds nothing new keeps the task's read of who uses what; one that finds a volume - here a
    # linked clone of the template that another hypervisor makes while the task runs - makes the next step read
    # again, and its deletion of the template a refusal.
    from ansible_collections.sharedvirt.kvm.plugins.module_utils.converge import module as converge_glue
    from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage import module as storage_glue

    pool, path = f"{lab.prefix}-rs", Path("/var/tmp/sharedvirt-kvm") / f"{lab.prefix}-rs"
    lab.pools.append(pool)
    lab.files.append(path)
    made = run_module(
        converge, {"uri": URI, "steps": [{"pool": {"name": pool, "type": "dir", "target": {"path": str(path)}}}]}
    )
    assert not made.get("failed"), made.get("msg")
    rescan = storage_glue._rescan

    def clone_made_elsewhere(template: str) -> None:
        def rescan_after_it(executor: t.Any, name: str) -> t.Any:
            clone = path / f"{template}.clone.qcow2"
            subprocess.run(
                ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(path / template), str(clone)],
                check=True,
            )
            return rescan(executor, name)

        monkeypatch.setattr(storage_glue, "_rescan", rescan_after_it)

    def steps(template: str) -> list[dict[str, t.Any]]:
        volume = {"pool": pool, "name": template, "format": "qcow2", "capacity": "1MiB"}
        assert run_module(converge, {"uri": URI, "steps": [{"volume": volume}]})["changed"] is True
        return [
            {"volume": volume},  # unchanged: reads the users (none)
            {"pool": {"name": pool, "refresh": True}},
            {"volume": {"pool": pool, "name": template, "state": "absent"}},
        ]

    clone_made_elsewhere("t.qcow2")
    refused = run_module(converge, {"uri": URI, "steps": steps("t.qcow2")})
    assert refused["failed"] and f"volume {pool}/t.qcow2 is in use - " in refused["msg"], refused["msg"]
    assert "t.qcow2.clone.qcow2" in refused["msg"] and (path / "t.qcow2").exists()

    # Negative control: with the rescan's findings ignored, the last step deletes the template under the clone.
    monkeypatch.setattr(converge_glue, "_rescan_showed_news", lambda result: False)
    clone_made_elsewhere("u.qcow2")
    harm = run_module(converge, {"uri": URI, "steps": steps("u.qcow2")})
    assert harm["changed"] is True and not harm.get("failed") and not (path / "u.qcow2").exists()
    assert harm["results"][1]["rescan"] == {"found": ["u.qcow2.clone.qcow2"], "gone": []}
    assert (path / "u.qcow2.clone.qcow2").exists()
