"""replication between two namespace hypervisors: a full sync at marker A, incremental ones at B and C, then the
source dies; a failover without proof is refused, and with the bed's fencing step the replica boots on the target
holding C (the last sync), not D (written after it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from testbed.agent import agent, guest_sh
from testbed.hosts import HostBed
from testbed.lab import Lab
from testbed.modules import run_module
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for, wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, pool, replication, replication_info

BASE = Path("/var/tmp/sharedvirt-kvm")
FENCE = [sys.executable, str(Path(__file__).resolve().parents[1] / "testbed" / "fence.py"), "{host}"]


@pytest.fixture(scope="module")
def bed() -> t.Iterator[HostBed]:
    with HostBed("svt-rep", 2) as hosts:
        yield hosts


def dir_pool(uri: str, name: str, path: Path) -> None:
    made = run_module(pool, {"uri": uri, "name": name, "type": "dir", "target": {"path": str(path)}})
    assert not made.get("failed"), made.get("msg")


def mark(dom: t.Any, text: str) -> None:
    script = f"echo 'SVKVM-MARK {text}' | dd of=/dev/vda bs=512 count=1 conv=sync,fsync oflag=direct 2>/dev/null"
    assert guest_sh(dom, script)[0] == 0


def freeze_libvirtd(netns: str) -> None:
    """SIGSTOP the libvirtd of one bed host (pkill would stop every libvirtd: netns does not scope PIDs)."""
    pids = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True, check=True).stdout.split()
    for pid in pids:
        if Path(f"/proc/{pid}/comm").read_text().strip() == "libvirtd":
            os.kill(int(pid), signal.SIGSTOP)


def read_mark(dom: t.Any) -> str:
    return guest_sh(dom, "dd if=/dev/vda bs=512 count=1 iflag=direct 2>/dev/null | head -c 14")[1]


def test_incremental_syncs_then_a_fenced_failover_boots_the_last_synced_data(bed: HostBed, prefix: str) -> None:
    h0, h1 = bed.hosts
    source_dir, replica_dir, staging = BASE / f"{prefix}-src", BASE / f"{prefix}-rep", BASE / f"{prefix}-staging"
    conns = {h.uri: h.open() for h in bed.hosts}
    lab = Lab(conns[h1.uri], prefix)
    lab.files += [source_dir, replica_dir, staging]
    try:
        dir_pool(h0.uri, f"{prefix}-src", source_dir)
        dir_pool(h1.uri, f"{prefix}-rep", replica_dir)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(source_dir / "disk.qcow2"), "64M"], check=True)
        conns[h0.uri].storagePoolLookupByName(f"{prefix}-src").refresh(0)
        disk = {"target": "vda", "format": "qcow2", "source": {"pool": f"{prefix}-src", "volume": "disk.qcow2"}}
        params = guest_params(lab, f"{prefix}-db", None, "", uri=h0.uri, state="running", disks=[disk])
        made = run_module(domain, params)
        assert not made.get("failed"), made.get("msg")
        name = params["name"]
        dom = conns[h0.uri].lookupByName(name)
        wait_for_marker(serial_path_of(params), r"SVKVM-AGENT", 120)
        wait_for("the guest agent", lambda: agent(dom, {"execute": "guest-ping"}) is not None, 90)

        sync = {"uri": h0.uri, "name": name, "target": h1.uri, "pool": f"{prefix}-rep", "staging": str(staging)}
        mark(dom, "A")
        first = run_module(replication, sync)
        assert not first.get("failed"), first.get("msg")
        assert first["actions"][0].startswith(f"back up {name} (full)")
        mark(dom, "B")
        predicted = run_module(replication, sync, check_mode=True)
        second = run_module(replication, sync)
        assert second["actions"] == predicted["actions"]
        assert second["actions"][0].startswith(f"back up {name} (incremental since ")
        assert any(a.startswith("ship the changed blocks") for a in second["actions"])
        mark(dom, "C")
        third = run_module(replication, sync)  # the second incremental sync
        assert third["actions"][0].startswith(f"back up {name} (incremental since "), third.get("msg")
        info = run_module(replication_info, {"uri": h1.uri, "name": name, "target": h1.uri})["replica"]
        assert info["source"] == h0.uri and not info["running"] and info["age"] < 120
        mark(dom, "D")  # after the last sync: the replica must not have it

        failover = dict(sync, state="failed_over", connect_timeout=3)
        refused = run_module(replication, failover)  # h0 still answers: the VM would run twice
        assert refused["failed"] and f"the source of {name} answers; starting the replica would run" in refused["msg"]
        freeze_libvirtd(h0.name)  # silent, but alive
        unproven = run_module(replication, failover)
        assert unproven["failed"] and "does not prove it stopped writing" in unproven["msg"]
        done = run_module(replication, dict(failover, fence_command=FENCE))  # the bed's fencing: h0 dies
        assert not done.get("failed"), done.get("msg")
        assert done["actions"] == [f"start the replica {name} on {h1.uri} (fenced by {sys.executable})"]
        replica = conns[h1.uri].lookupByName(name)
        wait_for("the replica's agent", lambda: agent(replica, {"execute": "guest-ping"}) is not None, 120)
        assert read_mark(replica).startswith("SVKVM-MARK C")  # the last sync, not D
        again = run_module(replication, dict(failover, fence_command=FENCE))
        assert again["changed"] is False
        assert run_module(replication_info, {"uri": h1.uri, "name": name, "target": h1.uri})["replica"]["running"]
    finally:
        lab.cleanup()
        for conn in conns.values():
            conn.close()
