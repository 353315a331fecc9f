"""Scenario 6, replication lag: a running guest's disk replicated to a namespace hypervisor - a full sync against
an incremental one after the guest wrote 4 MiB. A replica synced every T seconds holds a write at most T plus one
incremental sync after it was made; the incremental sync's time is that lag's floor."""

from __future__ import annotations

import hashlib
import shutil
import typing as t
from pathlib import Path

from env import PREFIX, URI, remove_domains
from harness import Goal, Section
from testbed.agent import agent, guest_sh
from testbed.guest import Disk, guest_domain_xml, guest_image, local_domain_type
from testbed.hosts import HostBed, remove_domains_everywhere
from testbed.modules import run_module
from testbed.wait import wait_for

from ansible_collections.sharedvirt.kvm.plugins.modules import pool, replication

MIB = 2**20
WRITE_MIB, WRITE_AT_MIB = 4, 16


def labels(data_mib: int) -> t.Tuple[str, str]:
    full = f"ours, full sync of a {data_mib} MiB qcow2 disk to a namespace hypervisor (replication, mode full)"
    return full, f"ours, incremental sync after the guest wrote {WRITE_MIB} MiB (replication): the replica's lag"


class Replicated:
    """A guest on this machine's libvirtd whose one qcow2 disk is replicated to a namespace hypervisor."""

    def __init__(self, conn: t.Any, bed: HostBed, work: Path, disk: Path) -> None:
        self.name = f"{PREFIX}rep"
        self.replica_dir, self.target = work / "replica", bed.hosts[0].uri
        made = run_module(pool, {"uri": self.target, "name": f"{PREFIX}rep", "type": "dir",
                                 "target": {"path": str(self.replica_dir)}})  # fmt: skip
        if made.get("failed"):
            raise RuntimeError(f"replica pool: {made['msg']}")
        disks = [Disk(str(disk), "vda", format="qcow2")]
        xml = guest_domain_xml(self.name, guest_image(), local_domain_type(conn), disks=disks, serial=work / "r.log")
        self.dom = conn.defineXML(xml)
        self.dom.create()
        wait_for("the guest agent", lambda: agent(self.dom, {"execute": "guest-ping"}) is not None, 180)
        self.task = {"uri": URI, "name": self.name, "target": self.target, "pool": f"{PREFIX}rep",
                     "staging": str(work / "staging"), "quiesce": "never"}  # fmt: skip

    def sync(self, mode: str) -> None:
        result = run_module(replication, dict(self.task, mode=mode))
        if result.get("failed"):
            raise RuntimeError(f"replication ({mode}): {result['msg']}")
        kind = "(full)" if mode == "full" else "(incremental since "
        if not result["actions"][0].startswith(f"back up {self.name} {kind}"):
            raise RuntimeError(f"replication ({mode}) did not sync as asked: {result['actions']}")

    def write(self) -> str:
        """New random data where the guest writes; returns its checksum as the guest reads it back, checked to
        differ from what the replica holds there (else a lost write would pass for a shipped one)."""
        region = f"bs=1M count={WRITE_MIB} seek={WRITE_AT_MIB}"
        code, _out = guest_sh(self.dom, f"dd if=/dev/urandom of=/dev/vda {region} oflag=direct 2>/dev/null")
        read = f"dd if=/dev/vda bs=1M count={WRITE_MIB} skip={WRITE_AT_MIB} iflag=direct 2>/dev/null | md5sum"
        written = guest_sh(self.dom, read)[1].split()[0]
        if code != 0 or written == self.replica_checksum():
            raise RuntimeError(f"the guest's write of {WRITE_MIB} MiB did not land (dd exit {code})")
        return written

    def replica_checksum(self) -> str:
        with (self.replica_dir / f"{self.name}-vda.replica.raw").open("rb") as replica:
            replica.seek(WRITE_AT_MIB * MIB)
            return hashlib.md5(replica.read(WRITE_MIB * MIB)).hexdigest()


def measure(section: Section, conn: t.Any, work: Path, disk: Path, data_mib: int, reps: int) -> None:
    """Each repetition: a full sync, the guest's write, an incremental sync, and the replica checked to hold the
    write (by checksum). Adds the two series and their goal to ``section``."""
    full, incremental = labels(data_mib)
    with HostBed("svb-rep", 1) as bed:
        target = bed.hosts[0].open()
        try:
            replicated = Replicated(conn, bed, work, disk)
            for _rep in range(reps):
                section.measure(full, lambda: replicated.sync("full"))
                written = replicated.write()
                section.measure(incremental, lambda: replicated.sync("auto"))
                if replicated.replica_checksum() != written:
                    raise RuntimeError("the replica does not hold the data the guest wrote before the sync")
            for checkpoint in replicated.dom.listAllCheckpoints():
                checkpoint.delete(0)  # libvirt keeps a domain with checkpoints defined
        finally:
            remove_domains(conn, f"{PREFIX}rep")  # not the scenario's other guest
            remove_domains_everywhere([target], PREFIX)
            shutil.rmtree(work / "staging", ignore_errors=True)
    held = f"replication: after each incremental sync the replica held the {WRITE_MIB} MiB the guest wrote before it"
    section.notes.append(f"{held} (checksum of the region as the guest reads it and in the replica's raw volume)")
    lag = "replication lag: incremental sync against a full one"
    section.goals = [*section.goals, Goal(lag, incremental, full, 0, reported=True)]
