"""Maintenance and recovery on three namespace hypervisors (tools/hostbed.py) with guests ticking on shared disks."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import typing as t
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ansible.errors import AnsibleError
from testbed.agent import agent, guest_sh
from testbed.ansible import run_playbook
from testbed.guest import Disk
from testbed.hosts import HostBed
from testbed.lab import Guest, Lab
from testbed.modules import run_module
from testbed.params import guest_params, serial_path_of
from testbed.plugins import lookup
from testbed.wait import wait_for, wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.module_utils.maintenance.record_model import RECORD_NETWORK
from ansible_collections.sharedvirt.kvm.plugins.module_utils.recovery.record_model import read_vm_record
from ansible_collections.sharedvirt.kvm.plugins.modules import domain, maintenance, recover

SHARED_DIR = Path("/var/tmp/sharedvirt-kvm")
PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"


@pytest.fixture(scope="module")
def bed() -> t.Iterator[HostBed]:
    with HostBed("svt-mnt", 3) as hosts:
        yield hosts


def shared_pool(conn: t.Any, name: str, path: Path) -> None:
    root = ET.Element("pool", {"type": "dir"})
    ET.SubElement(root, "name").text = name
    ET.SubElement(ET.SubElement(root, "target"), "path").text = str(path)
    conn.storagePoolCreateXML(ET.tostring(root, encoding="unicode"), 0)


def ticks(guest: Guest) -> list[int]:
    name = guest.name.rsplit("-", 1)[-1]
    return [int(n) for n in re.findall(rf"SVKVM-TICK {name} (\d+)", guest.serial.read_text(errors="replace"))]


def where(conns: t.Mapping[str, t.Any], name: str) -> list[tuple[str, bool]]:
    """(host, running) of every hypervisor that has the domain."""
    found = []
    for uri, conn in conns.items():
        if name in [d.name() for d in conn.listAllDomains()]:
            found.append((uri, bool(conn.lookupByName(name).isActive())))
    return found


def cleanup(conns: t.Mapping[str, t.Any], prefix: str, shared: Path) -> None:
    for conn in conns.values():
        for dom in conn.listAllDomains():
            if dom.name().startswith(prefix):
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
        for pool in conn.listAllStoragePools():
            if pool.name().startswith(prefix):
                pool.destroy()
        record = [n for n in conn.listAllNetworks() if n.name() == RECORD_NETWORK]
        for network in record:
            network.undefine()
        conn.close()
    subprocess.run(["rm", "-rf", str(shared)], check=False)


def test_drain_and_restore_a_host_of_three_vms(bed: HostBed, prefix: str, tmp_path: Path) -> None:
    a, b, c = bed.hosts
    conns = {h.uri: h.open() for h in bed.hosts}
    uris = list(conns)
    shared = SHARED_DIR / f"{prefix}-shared"
    lab = Lab(conns[a.uri], prefix)
    try:
        shared.mkdir(parents=True)
        for conn in conns.values():
            shared_pool(conn, f"{prefix}-shared", shared)
        guests = []
        for name in ("m1", "m2", "s1"):
            disk = shared / f"{name}.raw"
            with disk.open("wb") as handle:
                handle.truncate(8 * 2**20)
            cmdline = f"sv_disk=/dev/vda sv_write={name} sv_tick=1"
            guests.append(lab.guest(name, disks=[Disk(str(disk), "vda")], cmdline=cmdline))
        m1, m2, s1 = guests
        group = {"anti_affinity": f"{prefix}-db", "maintenance_policy": "migrate", "ha": True}
        for guest, policy in ((m1, group), (m2, group), (s1, {"maintenance_policy": "shutdown"})):
            assert run_module(domain, {"uri": a.uri, "name": guest.name, "cluster": policy})["changed"]
        for guest in guests:
            wait_for(f"{guest.name} to tick", lambda g=guest: len(ticks(g)) >= 2, 120)  # type: ignore[misc]

        # The bed's shared directory is a local file system to libvirt: allow_unsafe vouches that all hosts see it.
        drain = {
            "host": a.uri,
            "hypervisors": uris,
            "parallel": 2,
            "timeout": 120,
            "reason": "test",
            "allow_unsafe": True,
        }
        predicted = run_module(maintenance, drain, check_mode=True)
        assert not predicted.get("failed"), predicted.get("msg")
        assert predicted["actions"][0] == f"mark {a.uri} in maintenance"
        assert predicted["after"][a.uri]["running"] == [] and where(conns, m1.name) == [(a.uri, True)]
        done = run_module(maintenance, drain)
        assert not done.get("failed"), done.get("msg")
        assert sorted(done["actions"]) == sorted(predicted["actions"])  # check mode predicted every move
        destinations = {m["domain"]: m["destination"] for m in done["moves"] if m["action"] == "migrate"}
        assert set(destinations) == {m1.name, m2.name} and sorted(destinations.values()) == [b.uri, c.uri]
        for guest in (m1, m2):  # live: the same boot, and the heartbeat goes on from the new host
            assert where(conns, guest.name) == [(destinations[guest.name], True)]
            seen = max(ticks(guest))
            wait_for(f"{guest.name} to tick on", lambda g=guest, n=seen: max(ticks(g)) >= n + 2, 60)  # type: ignore[misc]
            assert guest.serial.read_text(errors="replace").count("SVKVM-BOOT") == 1
        assert where(conns, s1.name) == [(a.uri, False)] and "SVKVM-POWEROFF" in s1.serial.read_text()
        assert done["after"][a.uri]["maintenance"].startswith("in maintenance since ")

        # Nothing chooses the host now; a second drain has nothing to do.
        assert a.uri not in lookup("placement", f"{prefix}-new", uri=uris, memory="160MiB")
        with pytest.raises(AnsibleError, match=re.escape(f"{a.uri} is in maintenance since")):
            lookup("placement", f"{prefix}-new", uri=[a.uri], memory="160MiB")
        again = run_module(maintenance, drain)
        assert again["changed"] is False and again["actions"] == []

        restore = {"host": a.uri, "hypervisors": uris, "state": "absent", "timeout": 120, "allow_unsafe": True}
        planned_back = run_module(maintenance, restore, check_mode=True)
        back = run_module(maintenance, restore)
        assert not back.get("failed"), back.get("msg")
        assert back["actions"] == planned_back["actions"] and back["actions"][-1] == f"put {a.uri} back in service"
        for guest in guests:
            assert where(conns, guest.name) == [(a.uri, True)]
        for guest in (m1, m2):
            assert guest.serial.read_text(errors="replace").count("SVKVM-BOOT") == 1
        assert run_module(maintenance, restore)["changed"] is False
        assert RECORD_NETWORK not in [n.name() for n in conns[a.uri].listAllNetworks()]

        # make demo's DRAIN step, on m1 alone (the others stopped, to keep it short): the plan, the tables before
        # and after, and the way back.
        for guest in (m2, s1):
            guest.dom.destroy()
        demo = run_playbook(PLAYBOOKS / "demo_drain.yml", inventory=bed_inventory(bed, tmp_path),
                            extra_vars=json.dumps({"demo_drain_vm": m1.name}))  # fmt: skip
        assert demo.rc == 0 and demo.recap["failed"] == 0, demo.output
        tables = re.findall(r'"HOST +MAINTENANCE +RUNNING",?\n((?:\s+"[^"]*",?\n)+)', demo.output)
        # Per table: host -> its MAINTENANCE column (columns are two or more spaces apart).
        rows = [{c[0]: c[1] for c in (re.split(r" {2,}", r) for r in re.findall(r'"([^"]*)"', t))} for t in tables]
        assert [r[a.uri].startswith("in maintenance since") for r in rows] == [False, True, False], demo.output
        assert where(conns, m1.name) == [(a.uri, True)]
    finally:
        lab.cleanup()
        cleanup(conns, prefix, shared)


def bed_inventory(bed: HostBed, tmp_path: Path) -> Path:
    """The bed's hypervisors (never connected to: the plays run on the controller) and the controller."""
    path = tmp_path / "bed.yml"
    path.write_text(json.dumps({"all": {"children": bed.inventory(), "hosts": {"localhost": {}}}}))
    return path


def test_drains_that_cannot_be_done_are_refused_and_move_nothing(bed: HostBed, prefix: str) -> None:
    a, b, _c = bed.hosts
    conns = {h.uri: h.open() for h in bed.hosts[:2]}
    uris = list(conns)
    lab = Lab(conns[a.uri], prefix)
    try:
        big = lab.guest("big", start=False)
        big.dom.create()
        transient = lab.guest("tmp")  # created, never defined: nothing a drain could move or restart
        unknown = run_module(maintenance, {"host": "qemu+tcp://192.0.2.1/system", "hypervisors": uris})
        assert unknown["failed"] and unknown["msg"].startswith("host: qemu+tcp://192.0.2.1/system is not one of")
        # Nothing fits: the VM is named with every host's reason, and nothing moved or was marked.
        too_big = run_module(maintenance, {"host": a.uri, "hypervisors": uris, "reserve_memory": "1TiB"})
        assert too_big["failed"] and too_big["changed"] is False
        assert too_big["msg"].startswith(f"cannot drain {a.uri}, nothing was moved: no hypervisor can take domain")
        assert big.name in too_big["msg"] and where(conns, big.name) == [(a.uri, True)]
        assert f"{transient.name} is transient (it has no definition to move or restart)" in too_big["msg"]
        assert RECORD_NETWORK not in [n.name() for n in conns[a.uri].listAllNetworks()]
        # b drained first (nothing on it); then a would be the last host in service.
        assert run_module(maintenance, {"host": b.uri, "hypervisors": uris})["changed"]
        last = run_module(maintenance, {"host": a.uri, "hypervisors": uris})
        assert last["failed"] and last["msg"].startswith(f"{a.uri} is the last hypervisor in service")
        assert where(conns, big.name) == [(a.uri, True)]
        assert run_module(maintenance, {"host": b.uri, "hypervisors": uris, "state": "absent"})["changed"]
    finally:
        lab.cleanup()
        cleanup(conns, prefix, SHARED_DIR / f"{prefix}-none")


FENCE = [sys.executable, str(Path(__file__).resolve().parents[1] / "testbed" / "fence.py"), "{host}"]


def ha_guests(lab: Lab, host_uri: str, shared: Path, pool: str) -> dict[str, dict[str, t.Any]]:
    """h1 (HA, priority 100), h2 (HA, priority 10) and n1 (not HA) on ``host_uri``, through the domain module,
    each with its recovery record in ``pool`` and its disk in ``shared``; each reads sector 1 of its disk."""
    params = {}
    for name, cluster in (("h1", {"ha": True, "priority": 100}), ("h2", {"ha": True, "priority": 10}), ("n1", {})):
        full = f"{lab.prefix}-{name}"
        disk = shared / f"{name}.raw"
        with disk.open("wb") as handle:
            handle.truncate(8 * 2**20)
        option = guest_params(
            lab,
            full,
            None,
            f"sv_disk=/dev/vda sv_write={name} sv_tick=1 sv_read=1",
            uri=host_uri,
            state="running",
            disks=[{"target": "vda", "format": "raw", "cache": "none", "source": {"file": str(disk)}}],
            cluster=dict(cluster, record_pool=pool),
        )
        made = run_module(domain, option)
        assert not made.get("failed"), made.get("msg")
        assert made["actions"][-1] == f"record the definition of {full} in pool {pool}"
        params[name] = option
    return params


def write_block_1(dom: t.Any, text: str) -> None:
    """The guest itself writes ``text`` to 4 KiB block 1 of its disk (through its agent), synced: where sv_read=1
    reads."""
    command = f"echo 'SVKVM-MARK {text}' | dd of=/dev/vda bs=4096 seek=1 count=1 conv=sync,fsync oflag=direct"
    wait_for("the guest agent", lambda: agent(dom, {"execute": "guest-ping"}) is not None, 120)
    assert guest_sh(dom, command)[0] == 0


def record_host(path: Path) -> str:
    """The hypervisor a recovery record file says its VM lives on."""
    return read_vm_record(path.read_text()).host if path.exists() else ""


def test_records_written_by_one_host_are_replaced_and_removed_by_hosts_that_never_scanned_them(
    bed: HostBed, prefix: str
) -> None:
    """The record pool is shared: a writes v's record after c and b scanned the pool, so their lists lack it.
    c defining v must still replace it (it is c's VM now), and b removing v must remove it - a record left behind
    would make recovery restart a VM its operator deleted."""
    a, b, c = bed.hosts
    conns = {h.uri: h.open() for h in bed.hosts}
    shared = SHARED_DIR / f"{prefix}-records"
    pool = f"{prefix}-records"
    lab = Lab(conns[a.uri], prefix)
    record = shared / f"{prefix}-v.sharedvirt.xml"
    try:
        shared.mkdir(parents=True)
        for conn in conns.values():
            shared_pool(conn, pool, shared)  # each hypervisor scans the empty pool now, and not again
        params = guest_params(lab, f"{prefix}-v", None, state="present", cluster={"record_pool": pool})
        for uri in (a.uri, c.uri):
            made = run_module(domain, dict(params, uri=uri))
            assert not made.get("failed"), made.get("msg")
            assert made["actions"][-1] == f"record the definition of {prefix}-v in pool {pool}"
            assert record_host(record) == uri
        with pytest.raises(Exception, match="Storage volume not found"):
            conns[b.uri].storagePoolLookupByName(pool).storageVolLookupByName(record.name)  # b's list lacks it
        for check in (True, False):
            gone = run_module(domain, dict(params, uri=b.uri, state="absent"), check_mode=check)
            assert gone["changed"] and f"remove the record of {prefix}-v from pool {pool}" in gone["actions"]
        assert not record.exists()
    finally:
        cleanup(conns, prefix, shared)


def test_recovery_is_refused_while_a_frozen_host_holds_its_locks(bed: HostBed, prefix: str) -> None:
    """Host b is frozen (SIGSTOP), not dead: its libvirtd does not answer, but its QEMU and virtlockd hold their
    locks. Even with fenced: true nothing restarts - a restart would be a second writer."""
    a, b, c = bed.hosts
    conns = {h.uri: h.open() for h in bed.hosts}
    shared = SHARED_DIR / f"{prefix}-shared"
    pool = f"{prefix}-shared"
    lab = Lab(conns[b.uri], prefix)
    pids: list[str] = []
    try:
        shared.mkdir(parents=True)
        for conn in conns.values():
            shared_pool(conn, pool, shared)
        ha_guests(lab, b.uri, shared, pool)
        params = {"hypervisors": list(conns), "record_pool": pool, "fenced": True, "connect_timeout": 5,
                  "lockspace_dir": str(b.lockspace / "sharedvirt")}  # fmt: skip
        assert run_module(recover, params)["failed_hosts"] == []  # all answer: nothing to do
        pids = subprocess.run(
            ["ip", "netns", "pids", b.name], capture_output=True, text=True, check=True
        ).stdout.split()
        for pid in pids:
            os.kill(int(pid), signal.SIGSTOP)
        refused = run_module(recover, params)
        assert refused["failed"] and refused["changed"] is False
        assert refused["msg"].startswith(f"the VMs of {b.uri} still hold their locks - ")
        assert f"{prefix}-h1 (lock " in refused["msg"] and "nothing was restarted" in refused["msg"]
        for uri in (a.uri, c.uri):  # no second copy anywhere
            assert not [d for d in conns[uri].listAllDomains() if d.name().startswith(prefix)]
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGCONT)
        lab.cleanup()
        cleanup(conns, prefix, shared)


def test_a_dead_host_is_fenced_and_its_ha_vms_restart_by_priority(bed: HostBed, prefix: str) -> None:
    """Host b is killed. Without proof nothing restarts; with the bed's fencing step the HA VMs of b start on a and
    c, highest priority first, and read what they wrote before the failure; the non-HA VM stays down. Runs last:
    b does not come back."""
    a, b, c = bed.hosts
    conns = {h.uri: h.open() for h in bed.hosts}
    shared = SHARED_DIR / f"{prefix}-shared"
    pool = f"{prefix}-shared"
    lab = Lab(conns[b.uri], prefix)
    try:
        shared.mkdir(parents=True)
        for conn in conns.values():
            shared_pool(conn, pool, shared)
        guests = ha_guests(lab, b.uri, shared, pool)
        for name in ("h1", "h2"):
            write_block_1(conns[b.uri].lookupByName(f"{prefix}-{name}"), f"BEFORE-{name}")
        pids = subprocess.run(
            ["ip", "netns", "pids", b.name], capture_output=True, text=True, check=True
        ).stdout.split()
        for pid in pids:  # b dies: its QEMUs, libvirtd and virtlockd at once
            os.kill(int(pid), signal.SIGKILL)
        wait_for("b's processes to die", lambda: not any(Path(f"/proc/{p}").exists() for p in pids), 10)
        survivors = {uri: conn for uri, conn in conns.items() if uri != b.uri}

        params = {"hypervisors": list(conns), "record_pool": pool, "connect_timeout": 5,
                  "lockspace_dir": str(b.lockspace / "sharedvirt")}  # fmt: skip
        unproven = run_module(recover, params)
        assert unproven["failed"] and unproven["msg"].startswith(f"{b.uri} does not answer, which does not prove")
        planned = run_module(recover, dict(params, fence_command=FENCE), check_mode=True)
        assert not planned.get("failed"), planned.get("msg")
        done = run_module(recover, dict(params, fence_command=FENCE))
        assert not done.get("failed"), done.get("msg")
        assert done["failed_hosts"] == [b.uri] and done["proofs"] == {b.uri: f"fenced by {sys.executable}"}
        assert [r["domain"] for r in done["restarted"]] == [f"{prefix}-h1", f"{prefix}-h2"]  # priority order
        assert done["actions"] == planned["actions"]
        assert {r["host"] for r in done["restarted"]} == {a.uri, c.uri}  # spread over the survivors
        assert done["left_down"] == {f"{prefix}-n1": "not HA (cluster.ha is not set)"}
        for name in ("h1", "h2"):
            serial = serial_path_of(guests[name])
            wait_for_marker(serial, rf"SVKVM-READ /dev/vda s1=<SVKVM-MARK BEFORE-{name}>", 120)
            assert where(survivors, f"{prefix}-{name}") == [(r["host"], True) for r in done["restarted"]
                                                            if r["domain"] == f"{prefix}-{name}"]  # fmt: skip
        assert where(survivors, f"{prefix}-n1") == []
        again = run_module(recover, dict(params, fence_command=FENCE))
        assert again["changed"] is False and again["restarted"] == []
        # Their records followed them to their new hosts; only the non-HA VM is still on b's account.
        assert again["left_down"] == done["left_down"] and again["elsewhere"] == {}
        # The playbook, with a fencing task file included for b: nothing left to restart.
        fence_tasks = shared / "fence.yml"
        fence_tasks.write_text(
            "- name: Fence {{ failed_host }}\n"
            f"  ansible.builtin.command: {sys.executable} {FENCE[1]} {{{{ failed_host }}}}\n"
            "  changed_when: true\n"
        )
        extra = {
            "recover_hypervisors": list(conns),
            "recover_record_pool": pool,
            "recover_fence_tasks": str(fence_tasks),
        }
        played = run_playbook(PLAYBOOKS / "recover.yml", extra_vars=json.dumps(extra))
        assert played.rc == 0, played.output
        assert "failed: [localhost]" not in played.output and "'restarted': []" in played.output.replace('"', "'")
    finally:
        cleanup({uri: conn for uri, conn in conns.items() if uri != b.uri}, prefix, shared)
        for path in lab.files:  # b's libvirt is gone with b: only the files are left to remove
            path.unlink(missing_ok=True)
