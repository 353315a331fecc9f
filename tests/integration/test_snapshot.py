"""snapshot and snapshot_info on the real libvirtd: a disk marker before and after a revert."""

from __future__ import annotations

import re
import subprocess
import typing as t
import xml.etree.ElementTree as ET
from pathlib import Path

from testbed.agent import agent, guest_sh
from testbed.guest import Disk
from testbed.lab import Guest, Lab
from testbed.modules import run_module
from testbed.params import URI
from testbed.paths import RUN_DIR
from testbed.wait import wait_for

from ansible_collections.sharedvirt.kvm.plugins.modules import snapshot, snapshot_info


def first_sector(image: Path) -> bytes:
    raw = image.with_suffix(".sector0")
    subprocess.run(["qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", str(image), str(raw)], check=True)
    try:
        return raw.read_bytes()[:512]
    finally:
        raw.unlink()


def boot_and_write(lab: Lab, guest: Guest, mark: str, keep_running: bool = False) -> None:
    """Boot the guest with ``sv_write=<mark>`` on /dev/vda and power it off once it wrote (or leave it running)."""
    root = ET.fromstring(guest.dom.XMLDesc(0))
    cmdline = root.find("os/cmdline")
    assert cmdline is not None
    cmdline.text = re.sub(r"sv_write=\S+", f"sv_write={mark}", cmdline.text or "")
    lab.conn.defineXML(ET.tostring(root, encoding="unicode"))
    guest.dom.create()
    guest.wait_for(rf"SVKVM-WROTE /dev/vda sector=0 mark={mark}")
    if not keep_running:
        guest.dom.destroy()


def snap(guest: Guest, name: str, check: bool = False, **extra: t.Any) -> dict[str, t.Any]:
    return run_module(snapshot, {"uri": URI, "domain": guest.name, "name": name, **extra}, check_mode=check)


def make_disks(prefix: str, lab: Lab, shared_disk: bool) -> tuple[Path, list[Disk]]:
    system = RUN_DIR / f"{prefix}-sys.qcow2"
    lab.files.append(system)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(system), "16M"], check=True)
    disks = [Disk(str(system), "vda", format="qcow2")]
    if shared_disk:
        shared = RUN_DIR / f"{prefix}-shared.raw"
        lab.files.append(shared)
        with shared.open("wb") as handle:
            handle.truncate(8 * 2**20)
        disks.append(Disk(str(shared), "vdb", shareable=True))
    return system, disks


def test_marker_a_snapshot_marker_b_revert_gives_a_and_deletion_keeps_the_chain(lab: Lab, prefix: str) -> None:
    system, disks = make_disks(prefix, lab, shared_disk=False)
    guest = lab.guest("s", start=False, disks=disks, cmdline="sv_disk=/dev/vda sv_write=A")
    boot_and_write(lab, guest, "A")

    planned = snap(guest, "s1", check=True)
    assert planned["changed"] and planned["snapshot"] is None
    assert planned["actions"] == [f"create internal snapshot s1 of {guest.name} (disks vda)"]
    made = snap(guest, "s1", description="marker A")
    assert not made.get("failed"), made.get("msg")
    assert made["changed"] and made["actions"] == planned["actions"]
    assert made["snapshot"]["kind"] == "internal" and made["snapshot"]["state"] == "shutoff"
    assert made["snapshot"]["current"] is True and made["snapshot"]["description"] == "marker A"
    assert snap(guest, "s1")["changed"] is False and snap(guest, "s1", check=True)["changed"] is False

    boot_and_write(lab, guest, "B")
    assert b"SVKVM-MARK B" in first_sector(system)
    snap(guest, "s2")

    # The documented rollback: snapshot, change the guest, roll back - with the snapshot still current.
    boot_and_write(lab, guest, "C")
    assert b"SVKVM-MARK C" in first_sector(system)
    unchanged = snap(guest, "s2", state="current")  # what the old rollback did: ok, and the new data stays
    assert unchanged["changed"] is False and b"SVKVM-MARK C" in first_sector(system)
    assert snap(guest, "s2", state="reverted", check=True)["changed"] is True
    rolled_back = snap(guest, "s2", state="reverted")
    assert rolled_back["changed"] and rolled_back["actions"] == [f"revert {guest.name} to snapshot s2"]
    assert b"SVKVM-MARK B" in first_sector(system)

    guest.dom.create()
    stop = snap(guest, "s1", state="current")
    assert stop["failed"] and stop["consent_option"] == "force" and guest.dom.isActive()
    predicted = snap(guest, "s1", state="current", force=True, check=True)
    assert predicted["actions"] == [f"revert {guest.name} to snapshot s1"] and guest.dom.isActive()
    reverted = snap(guest, "s1", state="current", force=True)
    assert reverted["changed"] and not guest.dom.isActive()
    assert b"SVKVM-MARK A" in first_sector(system)
    assert snap(guest, "s1", state="current")["changed"] is False

    deleted = snap(guest, "s1", state="absent")
    assert deleted["actions"] == [f"delete snapshot s1 of {guest.name}"]
    assert snap(guest, "s1", state="absent")["changed"] is False
    info = run_module(snapshot_info, {"uri": URI, "domain": guest.name})
    assert [s["name"] for s in info["snapshots"]] == ["s2"] and info["current"] is None
    check = subprocess.run(["qemu-img", "check", "-U", str(system)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "s2" in subprocess.run(["qemu-img", "snapshot", "-U", "-l", str(system)], capture_output=True, text=True,
                                  check=True).stdout  # fmt: skip


def test_a_shared_disk_stays_out_of_the_snapshot(lab: Lab, prefix: str) -> None:
    system, disks = make_disks(prefix, lab, shared_disk=True)
    guest = lab.guest("h", start=False, disks=disks)
    refused = snap(guest, "bad", disks=["vda", "vdb"])
    assert refused["failed"] and refused["msg"] == (
        f"disk vdb of domain {guest.name!r} is shared with other domains; a snapshot of it would roll back their "
        "data on revert - leave it out (shared disks are excluded by default)"
    )
    internal = snap(guest, "bad", kind="internal")
    assert internal["failed"] and internal["msg"].startswith(f"domain {guest.name!r} has shared disk vdb")
    made = snap(guest, "s1")
    assert not made.get("failed"), made.get("msg")
    assert made["actions"] == [f"create external snapshot s1 of {guest.name} (disks vda; left out vdb)"]
    assert made["snapshot"]["kind"] == "external"
    assert made["snapshot"]["disks"] == ["vda"] and made["snapshot"]["excluded_disks"] == ["vdb"]
    active = ET.fromstring(guest.dom.XMLDesc(0)).findall("devices/disk/source")
    overlay, still_shared = active[0].get("file", ""), active[1].get("file", "")
    lab.files.append(Path(overlay))
    assert overlay != str(system) and still_shared == disks[1].path  # vda got an overlay, vdb did not
    info = run_module(snapshot_info, {"uri": URI, "domain": guest.name})
    assert info["chain_depth"] == {"vda": 1, "vdb": 0}  # the overlay on the system disk; the shared disk alone


def block(image: Path, number: int) -> bytes:
    with image.open("rb") as handle:
        handle.seek(4096 * number)  # the guest's marks are 4 KiB blocks
        return handle.read(4096)


def test_an_external_snapshot_reverts_and_deletes_on_libvirt_9_0(lab: Lab, prefix: str) -> None:
    """libvirt 9.0 refuses to revert external snapshots: the module's own revert brings marker A back on the
    system disk, leaves the shared disk alone, and the deletion afterwards commits the newer data down."""
    system, disks = make_disks(prefix, lab, shared_disk=True)
    shared = Path(disks[1].path)
    guest = lab.guest("x", start=False, disks=disks, cmdline="sv_disk=/dev/vda sv_write=A")
    boot_and_write(lab, guest, "A", keep_running=True)
    made = snap(guest, "s1")  # of the running guest: a live external snapshot
    assert not made.get("failed"), made.get("msg")
    assert made["snapshot"]["kind"] == "external" and made["snapshot"]["excluded_disks"] == ["vdb"]
    guest.dom.destroy()
    overlay = Path(ET.fromstring(guest.dom.XMLDesc(0)).findall("devices/disk/source")[0].get("file", ""))
    lab.files.append(overlay)
    shared.write_bytes(b"SVKVM-MARK SHARED".ljust(4096, b"\0") * 2)  # other guests' data, after the snapshot
    boot_and_write(lab, guest, "B")
    assert b"SVKVM-MARK B" in first_sector(overlay)

    # Running, the revert would drop the guest's state as well: only with force.
    guest.dom.create()
    refused = snap(guest, "s1", state="reverted")
    assert refused["failed"] and refused["consent_option"] == "force" and guest.dom.isActive()
    predicted = snap(guest, "s1", state="reverted", force=True, check=True)
    reverted = snap(guest, "s1", state="reverted", force=True)
    assert not reverted.get("failed"), reverted.get("msg")
    assert (
        reverted["actions"]
        == predicted["actions"]
        == [f"revert {guest.name} to snapshot s1 (external: new empty overlays for vda on {system})"]
    )
    assert not guest.dom.isActive() and reverted["snapshot"]["current"] is True
    assert b"SVKVM-MARK A" in first_sector(overlay) and b"SVKVM-MARK B" not in first_sector(overlay)
    assert block(shared, 1).startswith(b"SVKVM-MARK SHARED")  # the shared disk was not rolled back
    again = snap(guest, "s1", state="reverted")  # the rollback reverts on every run
    assert again["changed"] and b"SVKVM-MARK A" in first_sector(overlay)

    # The guest boots from the reverted disk and writes C; deleting s1 keeps C (committed into the base).
    boot_and_write(lab, guest, "C")
    deleted = snap(guest, "s1", state="absent")
    assert not deleted.get("failed"), deleted.get("msg")
    assert deleted["actions"] == [f"delete snapshot s1 of {guest.name}"]
    assert b"SVKVM-MARK C" in first_sector(system) and not overlay.exists()
    assert ET.fromstring(guest.dom.XMLDesc(0)).findall("devices/disk/source")[0].get("file") == str(system)
    check = subprocess.run(["qemu-img", "check", "-U", str(system)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_running_guest_rolls_back_with_its_memory(lab: Lab, prefix: str) -> None:
    """The documented rollback on a running guest: snapshot with memory, the guest writes marker B and leaves a
    file in RAM, then state=reverted - the guest runs on, reads marker A from its disk, and the file is gone."""
    _system, disks = make_disks(prefix, lab, shared_disk=False)
    guest = lab.guest("m", disks=disks, cmdline="sv_disk=/dev/vda sv_write=A")
    guest.wait_for(r"SVKVM-WROTE /dev/vda sector=0 mark=A")
    wait_for("the guest agent", lambda: agent(guest.dom, {"execute": "guest-ping"}) is not None, 90)
    read_mark = "dd if=/dev/vda bs=512 count=1 iflag=direct 2>/dev/null | head -c 14"
    assert guest_sh(guest.dom, read_mark)[1].startswith("SVKVM-MARK A")

    made = snap(guest, "live", memory=True)
    assert not made.get("failed"), made.get("msg")
    assert made["snapshot"]["memory"] is True and made["snapshot"]["state"] == "running"
    write_b = "echo 'SVKVM-MARK B' | dd of=/dev/vda bs=512 count=1 conv=sync,fsync oflag=direct 2>/dev/null"
    assert guest_sh(guest.dom, f"{write_b} && touch /run/after-snapshot")[0] == 0
    assert guest_sh(guest.dom, read_mark)[1].startswith("SVKVM-MARK B")

    rolled_back = snap(guest, "live", state="reverted")  # taken running: no force needed, the guest runs on
    assert not rolled_back.get("failed"), rolled_back.get("msg")
    assert rolled_back["actions"] == [f"revert {guest.name} to snapshot live"] and guest.dom.isActive()
    wait_for("the guest agent after the revert", lambda: agent(guest.dom, {"execute": "guest-ping"}) is not None, 60)
    assert guest_sh(guest.dom, read_mark)[1].startswith("SVKVM-MARK A")  # the disk, as the guest reads it
    assert guest_sh(guest.dom, "test -e /run/after-snapshot")[0] == 1  # the memory: the file never existed
