"""Scenario 6: a live disk move against qemu-img convert of the same data; an incremental backup against a full one;
the lag of a replica (s6_replication)."""

from __future__ import annotations

import shutil
import subprocess
import time
import typing as t
import xml.etree.ElementTree as ET

import s6_replication
from env import PREFIX, connect, remove_domains
from harness import WORK, Goal, Section, rotations
from testbed.agent import agent, guest_sh
from testbed.guest import Disk, guest_domain_xml, guest_image, local_domain_type
from testbed.modules import run_module
from testbed.wait import wait_for

from ansible_collections.sharedvirt.kvm.plugins.modules import backup, backup_info, disk_move

MIB = 2**20
DATA_MIB = 256
MOVE = f"ours, live disk move of {DATA_MIB} MiB (disk_move, guest running)"
CONVERT = f"qemu-img convert of the same {DATA_MIB} MiB file (offline)"
FULL = f"ours, full backup of a {DATA_MIB} MiB qcow2 disk (backup)"
INCREMENTAL = "ours, incremental backup after the guest wrote 4 MiB (backup)"


def pool(conn: t.Any, name: str, path: t.Any) -> t.Any:
    path.mkdir(parents=True, exist_ok=True)
    root = ET.Element("pool", {"type": "dir"})
    ET.SubElement(root, "name").text = name
    ET.SubElement(ET.SubElement(root, "target"), "path").text = str(path)
    return conn.storagePoolCreateXML(ET.tostring(root, encoding="unicode"), 0)


def random_image(path: t.Any, fmt: str) -> None:
    raw = path.with_suffix(".tmp")
    subprocess.run(["dd", "if=/dev/urandom", f"of={raw}", "bs=4M", f"count={DATA_MIB // 4}", "status=none"], check=True)
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", fmt, str(raw), str(path)], check=True)
    raw.unlink()


class Bench:
    """The guest, its pools and the runs measured on them."""

    def __init__(self, conn: t.Any, work: t.Any, section: Section) -> None:
        self.work, self.section = work, section
        self.pools = [pool(conn, f"{PREFIX}st{side}", work / side) for side in ("a", "b")]
        random_image(work / "a" / "data.raw", "raw")
        random_image(work / "a" / "backed.qcow2", "qcow2")
        for made in self.pools:
            made.refresh(0)
        self.name = f"{PREFIX}st"
        disks = [
            Disk(str(work / "a" / "data.raw"), "vda"),
            Disk(str(work / "a" / "backed.qcow2"), "vdb", format="qcow2"),
        ]
        xml = guest_domain_xml(self.name, guest_image(), local_domain_type(conn), disks=disks, serial=work / "s.log")
        self.dom = conn.defineXML(xml)
        self.dom.create()
        wait_for("the guest agent", lambda: agent(self.dom, {"execute": "guest-ping"}) is not None, 180)
        self.dest = str(work / "backups")
        self.processed: t.Dict[str, int] = {}

    def move(self) -> None:
        sides = [made.name() for made in self.pools]
        # Back and forth: the disk is a file, so where it is shows in its path (libvirt writes no pool for it).
        there = sides[0] if str(self.work / "b" / "data.raw") in self.dom.XMLDesc(0) else sides[1]
        task = {"uri": "qemu:///system", "name": self.name, "disk": "vda", "pool": there, "volume": "data.raw",
                "timeout": 600, "remove_source": True}  # fmt: skip
        result = run_module(disk_move, task)
        if result.get("failed") or not result["changed"]:
            raise RuntimeError(f"disk_move: {result.get('msg') or result.get('actions')}")

    def convert(self) -> None:
        source = next(self.work / side / "data.raw" for side in "ab" if (self.work / side / "data.raw").exists())
        copy = self.work / "converted.raw"
        subprocess.run(["qemu-img", "convert", "-U", "-f", "raw", "-O", "raw", str(source), str(copy)], check=True)
        copy.unlink()

    def backups(self) -> None:
        shutil.rmtree(self.dest, ignore_errors=True)
        self.forget_checkpoints()
        task = {"uri": "qemu:///system", "name": self.name, "dest": self.dest, "disks": ["vdb"], "quiesce": "never"}
        self.section.measure(FULL, lambda: run_module(backup, dict(task, mode="full")))
        guest_sh(self.dom, "dd if=/dev/urandom of=/dev/vdb bs=1M count=4 seek=16 oflag=direct 2>/dev/null")
        time.sleep(0.01)  # restore points are named by the millisecond
        self.section.measure(INCREMENTAL, lambda: run_module(backup, dict(task, mode="incremental")))
        points = run_module(backup_info, {"uri": "qemu:///system", "name": self.name, "dest": self.dest})["points"]
        self.processed = {label: point["processed"] for label, point in zip((FULL, INCREMENTAL), points)}

    def forget_checkpoints(self) -> None:
        for checkpoint in self.dom.listAllCheckpoints():
            checkpoint.delete(0)


def scenario(reps: int) -> Section:
    section = Section(
        "6. Storage services: live disk move and incremental backup",
        f"A TCG guest with two disks of {DATA_MIB} MiB of random data: vda raw, vdb qcow2. Ours, in-process module "
        "runs: `disk_move` of vda between two dir pools while the guest runs (block copy and pivot; the volume goes "
        "back and forth, one move a run); `backup` of vdb, full, then incremental after the guest wrote 4 MiB "
        "through its agent. Reference: `qemu-img convert` of the same raw file while the guest runs (`-U`). The "
        "bytes each backup read are in the notes. Replication: a second guest's qcow2 disk of the same size "
        "replicated to a namespace hypervisor (`replication`), a full sync, then an incremental one after the "
        "guest wrote 4 MiB; a replica synced every T seconds is at most T plus the incremental sync behind.",
    )
    section.goals = [
        Goal("live disk move against qemu-img convert of the same data", MOVE, CONVERT, 0, reported=True),
        Goal("incremental backup time against a full one", INCREMENTAL, FULL, 0, reported=True),
    ]
    work = WORK / "storage"
    shutil.rmtree(work, ignore_errors=True)
    conn = connect()
    remove_domains(conn)
    bench = None
    try:
        bench = Bench(conn, work, section)
        for _rep, label in rotations([MOVE, CONVERT, FULL], reps):
            if label == FULL:
                bench.backups()
            else:
                section.measure(label, bench.move if label == MOVE else bench.convert)
        section.notes += [f"{label}: read {size / MIB:.2f} MiB" for label, size in bench.processed.items()]
        bench.forget_checkpoints()
        random_image(work / "a" / "replicated.qcow2", "qcow2")
        s6_replication.measure(section, conn, work, work / "a" / "replicated.qcow2", DATA_MIB, reps)
    finally:
        if bench:
            bench.forget_checkpoints()  # libvirt keeps a domain with checkpoints defined
        remove_domains(conn)
        for made in bench.pools if bench else []:
            made.destroy()
        conn.close()
        shutil.rmtree(work, ignore_errors=True)
    return section
