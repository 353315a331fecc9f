"""One raw disk on several running guests: each writes its marker with O_DIRECT and reads the others'."""

from __future__ import annotations

import os
import re
import signal
import typing as t
from pathlib import Path

import pytest
from testbed import iscsi
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, pool, secret, shared_disk

pytestmark = pytest.mark.xdist_group("shared-daemons")  # tgtd, glusterd, nfs-ganesha, Ceph: one worker

URI = "qemu:///system"
MIB = 2**20


def dir_pool(lab: Lab) -> tuple[str, Path]:
    name = f"{lab.prefix}-sd"
    path = Path("/var/tmp/sharedvirt-kvm") / name
    lab.pools.append(name)
    lab.files.append(path)
    assert not run_module(pool, {"uri": URI, "name": name, "type": "dir", "target": {"path": str(path)}}).get("failed")
    return name, path


def boot(lab: Lab, name: str, sector: int, marker: str) -> dict[str, t.Any]:
    """A running guest without disks that writes ``marker`` to ``sector`` of the disk once it appears."""
    params = guest_params(
        lab, name, None, cmdline=f"sv_disk=/dev/vda sv_write={marker} sv_sector={sector} sv_read=0,1,2"
    )
    params["state"] = "running"
    result = run_module(domain, params)
    assert result["changed"] and not result.get("failed"), result.get("msg")
    return params


def test_two_running_guests_share_a_disk(lab: Lab) -> None:
    p, path = dir_pool(lab)
    a, b = f"{lab.prefix}-a", f"{lab.prefix}-b"
    guest_a, guest_b = boot(lab, a, 0, "A"), boot(lab, b, 1, "B")
    task = {
        "uri": URI,
        "volume": {"pool": p, "name": "quorum.raw"},
        "capacity": "200MiB",  # the brief's example: a 200 MB disk shared by two Linux guests
        "target": "vdb",
        "serial": "QUORUM01",
        "domains": [a, b],
    }
    results = ladder(shared_disk, task)
    assert results[0]["actions"][0] == f"create volume {p}/quorum.raw (raw, {200 * MIB} bytes, full)"
    facts = results[2]["shared_disk"]
    assert facts["domains"] == [
        {"name": a, "persistent": True, "live": True},
        {"name": b, "persistent": True, "live": True},
    ]
    assert results[0]["shared_disk"]["domains"] == facts["domains"]  # check mode predicted it
    xml = lab.conn.lookupByName(a).XMLDesc(0)
    assert "<shareable/>" in xml and "cache='none'" in xml and "snapshot='no'" in xml and "QUORUM01" in xml

    both = "s0=<SVKVM-MARK A> s1=<SVKVM-MARK B>"
    wait_for_marker(serial_path_of(guest_a), re.escape(both), 90)
    wait_for_marker(serial_path_of(guest_b), re.escape(both), 90)

    # The guests' own domain tasks, rerun with a complete (empty) disk list, leave the disk shared_disk
    # attached: no change in check mode or for real, and both guests still read a new marker.
    for params in (guest_a, guest_b):
        own = dict(params, disks=[])
        assert run_module(domain, own, check_mode=True)["changed"] is False
        assert run_module(domain, own)["changed"] is False
    with (path / "quorum.raw").open("r+b") as handle:
        handle.seek(2 * 4096)  # block 2: the guests read 4 KiB blocks
        handle.write(b"SVKVM-MARK D\n")
    wait_for_marker(serial_path_of(guest_a), re.escape("s2=<SVKVM-MARK D>"), 30)
    wait_for_marker(serial_path_of(guest_b), re.escape("s2=<SVKVM-MARK D>"), 30)

    # Refusals: specific errors, nothing changed, no marker lost.
    refused = run_module(shared_disk, dict(task, format="qcow2"))
    assert refused["failed"] and refused["msg"].startswith(
        "format: a qcow2 disk cannot be shared by several domains for writing: QEMU takes an exclusive write lock"
    )
    assert run_module(shared_disk, dict(task, cache="writeback"))["msg"] == (
        "cache: cache=writeback lets each domain keep writes the others cannot see; a shared disk needs cache=none "
        "or directsync"
    )
    # The same rules hold when a shareable disk is declared through the domain module (no bypass).
    vdc = {"target": "vdc", "shareable": True, "source": {"pool": p, "volume": "quorum.raw"}}
    through_domain = {"uri": URI, "name": a}
    qcow2 = run_module(domain, dict(through_domain, disks=[dict(vdc, format="qcow2", cache="none")]))
    assert qcow2["failed"] and qcow2["msg"] == (
        "disks[0].format: a qcow2 disk cannot be shared by several domains for writing: QEMU takes an exclusive "
        "write lock on it and libvirt refuses <shareable/> for it; use format=raw (convert the image, or create a new "
        "raw volume)"
    )
    writeback = run_module(domain, dict(through_domain, disks=[dict(vdc, format="raw", cache="writeback")]))
    assert writeback["failed"] and writeback["msg"] == (
        "disks[0].cache: cache=writeback lets each domain keep writes the others cannot see; a shared disk needs "
        "cache=none or directsync"
    )
    c = f"{lab.prefix}-c"
    lab.domains.append(c)
    other = {"uri": URI, "name": c, "type": "qemu", "memory": 64,
             "disks": [{"target": "vda", "format": "raw", "source": {"pool": p, "volume": "quorum.raw"}}]}  # fmt: skip
    # The domain module refuses to give a third domain the disk without <shareable/> ...
    bypass = run_module(domain, other)
    assert bypass["failed"] and bypass["msg"].startswith(
        f"disks[target=vda]: domain {a} on {URI} already uses this storage as vdb; two domains writing one disk"
    )
    # ... so the asymmetric case is made behind its back, as another tool could.
    lab.conn.defineXML(
        f"<domain type='qemu'><name>{c}</name><memory unit='MiB'>64</memory><os><type>hvm</type></os><devices>"
        f"<disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='{p}' volume='quorum.raw'/>"
        "<target dev='vda' bus='virtio'/></disk></devices></domain>"
    )
    asymmetric = run_module(shared_disk, task)
    assert asymmetric["failed"] and asymmetric["msg"].startswith(
        f"shared disk {p}/quorum.raw: domain {c} already uses it as vda without <shareable/>"
    )
    run_module(domain, {"uri": URI, "name": c, "state": "absent"})
    data = (path / "quorum.raw").read_bytes()
    assert data[:12] == b"SVKVM-MARK A" and data[4096:4108] == b"SVKVM-MARK B"

    # B leaves (live); A keeps writing and reading.
    detached = ladder(shared_disk, dict(task, domains=[a], detach_others=True))
    assert detached[2]["shared_disk"]["domains"] == [{"name": a, "persistent": True, "live": True}]
    assert detached[0]["shared_disk"] == detached[2]["shared_disk"]  # check mode predicted the facts
    with (path / "quorum.raw").open("r+b") as handle:
        handle.seek(2 * 4096)  # block 2: the guests read 4 KiB blocks
        handle.write(b"SVKVM-MARK C\n")
    wait_for_marker(serial_path_of(guest_a), re.escape("s2=<SVKVM-MARK C>"), 30)

    # state=absent for a listed domain: check mode reports what the real run then reports.
    predicted = run_module(shared_disk, dict(task, domains=[a], state="absent"), check_mode=True)
    done = run_module(shared_disk, dict(task, domains=[a], state="absent"))
    assert (
        done["actions"]
        == predicted["actions"]
        == [f"update domain {a}: disks[target=vdb]", f"detach disk disks[target=vdb] from running {a}"]
    )
    assert done["shared_disk"] == predicted["shared_disk"] and done["shared_disk"]["domains"] == []
    assert run_module(shared_disk, dict(task, domains=[a]))["changed"]  # back for the next step

    # Removing A with remove_storage=owned keeps the shared (shareable) disk.
    removed = run_module(domain, {"uri": URI, "name": a, "state": "absent", "remove_storage": "owned"})
    assert removed["changed"] and removed["removed_storage"] == []
    assert (path / "quorum.raw").exists()
    gone = ladder(shared_disk, dict(task, domains=[], state="absent", delete_volume=True))
    assert gone[2]["actions"] == [f"delete volume {p}/quorum.raw"]
    assert not (path / "quorum.raw").exists()
    run_module(domain, {"uri": URI, "name": b, "state": "absent"})


def test_three_guests_share_an_iscsi_lun_cold_attached(lab: Lab, chap_target: iscsi.Target) -> None:
    """Defined (not running) guests get the LUN in their definitions, then boot and exchange markers."""
    names = [f"{lab.prefix}-n{i}" for i in range(3)]
    try:
        run_module(
            secret, {"uri": URI, "usage_type": "iscsi", "usage_id": chap_target.iqn, "value": chap_target.password}
        )
        guests = []
        for i, name in enumerate(names):
            params = guest_params(
                lab,
                name,
                None,
                cmdline=f"sv_disk=/dev/vda sv_write=N{i} sv_sector={i} sv_read=0,1,2",
                guest_agent=False,
            )
            assert run_module(domain, params)["changed"]
            guests.append(params)
        task = {
            "uri": URI,
            "network": {
                "protocol": "iscsi",
                "name": f"{chap_target.iqn}/1",
                "hosts": [{"name": iscsi.PORTAL, "port": iscsi.PORT}],
                "auth": {"username": chap_target.user, "secret": {"type": "iscsi", "usage": chap_target.iqn}},
            },
            "target": "vda",
            "serial": "LUN1",
            "domains": names,
        }
        attached = ladder(shared_disk, task)
        assert [d["live"] for d in attached[2]["shared_disk"]["domains"]] == [False, False, False]
        for params in guests:
            assert run_module(domain, dict(params, state="running"))["changed"]
        everyone = "s0=<SVKVM-MARK N0> s1=<SVKVM-MARK N1> s2=<SVKVM-MARK N2>"
        for params in guests:
            wait_for_marker(serial_path_of(params), re.escape(everyone), 120)
        assert chap_target.backing.read_bytes()[8192:8205] == b"SVKVM-MARK N2"
    finally:
        for name in names:
            run_module(domain, {"uri": URI, "name": name, "state": "absent"})
        run_module(
            secret, {"uri": URI, "usage_type": "iscsi", "usage_id": chap_target.iqn, "state": "absent", "force": True}
        )


def test_iscsi_lun_passthrough_shared_by_two_guests(lab: Lab, chap_target: iscsi.Target) -> None:
    """device=lun on a virtio-scsi bus: both guests read and write the passed-through LUN, and the result says how
    SCSI reservations would reach the target. No reservation command is sent: the test guest has no sg_persist."""
    names = [f"{lab.prefix}-l{i}" for i in range(2)]
    try:
        chap = {"uri": URI, "usage_type": "iscsi", "usage_id": chap_target.iqn, "value": chap_target.password}
        run_module(secret, chap)
        guests = []
        for i, name in enumerate(names):
            cmdline = f"sv_disk=/dev/sda sv_write=L{i} sv_sector={i} sv_read=0,1"
            params = guest_params(lab, name, None, cmdline=cmdline, guest_agent=False)
            assert run_module(domain, params)["changed"]
            guests.append(params)
        task = {
            "uri": URI,
            "network": {
                "protocol": "iscsi",
                "name": f"{chap_target.iqn}/1",
                "hosts": [{"name": iscsi.PORTAL, "port": iscsi.PORT}],
                "auth": {"username": chap_target.user, "secret": {"type": "iscsi", "usage": chap_target.iqn}},
            },
            "device": "lun",
            "target": "sda",
            "domains": names,
        }
        attached = ladder(shared_disk, task)
        facts = attached[2]["shared_disk"]
        assert facts["device"] == "lun"
        assert facts["reservations"] == "passthrough: QEMU's iSCSI initiator sends them to the target"
        xml = lab.conn.lookupByName(names[0]).XMLDesc(0)
        assert "device='lun'" in xml and "model='virtio-scsi'" in xml
        for params in guests:
            assert run_module(domain, dict(params, state="running"))["changed"]
        for params in guests:
            wait_for_marker(serial_path_of(params), r"s0=<SVKVM-MARK L0> s1=<SVKVM-MARK L1>", 120)
        refused = run_module(shared_disk, dict(task, reservations="managed"))
        assert refused["failed"] and refused["msg"].startswith("reservations: managed reservations (qemu-pr-helper)")
    finally:
        for name in names:
            run_module(domain, {"uri": URI, "name": name, "state": "absent"})
        run_module(
            secret, {"uri": URI, "usage_type": "iscsi", "usage_id": chap_target.iqn, "state": "absent", "force": True}
        )


def test_a_guest_that_does_not_answer_fails_the_attach_and_the_next_run_finishes_it(lab: Lab) -> None:
    """SIGSTOP the QEMU of the second of three guests while shared_disk plugs the disk into all three."""
    p, _path = dir_pool(lab)
    names = [f"{lab.prefix}-f{i}" for i in range(3)]
    guests = [boot(lab, name, i, f"F{i}") for i, name in enumerate(names)]
    task = {"uri": URI, "volume": {"pool": p, "name": "f.raw"}, "capacity": "16MiB", "target": "vda", "domains": names}
    qemu = int(Path(f"/run/libvirt/qemu/{names[1]}.pid").read_text().strip())
    os.kill(qemu, signal.SIGSTOP)
    try:
        failed = run_module(shared_disk, dict(task, timeout=5))
    finally:
        os.kill(qemu, signal.SIGCONT)
    # The failure names the guest and says what was done before it: the volume, the first guest, the
    # second guest's definition.
    assert failed["failed"] and failed["changed"] is True
    assert f"attach a device to domain '{names[1]}': no answer within 5 s" in failed["msg"]
    done = failed["completed_actions"]
    assert done[0] == f"create volume {p}/f.raw (raw, {16 * MIB} bytes, full)"
    assert (
        f"attach disk disks[target=vda] to running {names[0]}" in done
        and f"update domain {names[1]}: disks[target=vda]" in done
    )
    # The next run finishes the job (the third guest, and the second's live disk if it still lacks it) ...
    finished = run_module(shared_disk, task)
    assert not finished.get("failed"), finished.get("msg")
    assert finished["shared_disk"]["domains"] == [{"name": n, "persistent": True, "live": True} for n in names]
    # ... and the one after it has nothing left to do; all three guests read each other's marks.
    assert run_module(shared_disk, task)["changed"] is False
    everyone = "s0=<SVKVM-MARK F0> s1=<SVKVM-MARK F1> s2=<SVKVM-MARK F2>"
    for params in guests:
        wait_for_marker(serial_path_of(params), re.escape(everyone), 120)
    for name in names:
        run_module(domain, {"uri": URI, "name": name, "state": "absent", "force": True, "timeout": 30})
