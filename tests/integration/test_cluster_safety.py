"""One VM, one writer, on two namespace hypervisors that share a Ceph RBD image (a network disk, which
neither QEMU's image locks nor libvirt's disk locks cover): the collection's peer check and the lock
manager's lease refuse the second start, a negative control shows the second start succeeds without
them, and after host A dies host B starts the guest on the data A wrote."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import typing as t
from pathlib import Path

import libvirt
import pytest
from testbed import slots
from testbed.ceph import Ceph
from testbed.guest import guest_image
from testbed.hosts import HostBed, NsHost, remove_domains_everywhere
from testbed.modules import run_module
from testbed.paths import RUN_DIR
from testbed.wait import wait_for

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, secret, volume
from ansible_collections.sharedvirt.kvm.plugins.modules import pool as pool_module

SECTOR = 512
# Its own Ceph cluster runs beside the shared one: on the worker of the other machine-wide daemons.
pytestmark = pytest.mark.xdist_group("shared-daemons")


@pytest.fixture(scope="module")
def bed() -> t.Iterator[HostBed]:
    with HostBed("svt-safe", 2) as hosts:
        yield hosts


@pytest.fixture(scope="module")
def bed_ceph(bed: HostBed) -> t.Iterator[Ceph]:
    """Ceph on the bed's bridge, where both namespace hypervisors reach it."""
    cluster = Ceph(address=bed.controller_address, root=RUN_DIR / "ceph-safe")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def ticks(serial: Path, mark: str) -> list[int]:
    return [int(n) for n in re.findall(rf"SVKVM-TICK {mark} (\d+)", serial.read_text(errors="replace"))]


def first_sector(ceph: Ceph, image: str) -> bytes:
    """What the RBD image holds now, read by Ceph itself (not by either guest)."""
    done = subprocess.run(
        ["rbd", "-c", str(ceph.conf), "export", f"{ceph.pool}/{image}", "-"], capture_output=True, check=True
    )
    return done.stdout[:SECTOR]


def kill_host(host: NsHost) -> None:
    """Host A dies: every process of its namespace (QEMU, libvirtd, virtlockd) is killed at once."""
    pids = subprocess.run(["ip", "netns", "pids", host.name], capture_output=True, text=True, check=True).stdout
    for pid in pids.split():
        os.kill(int(pid), signal.SIGKILL)
    wait_for(f"{host.name}'s processes to die", lambda: not any(Path(f"/proc/{p}").exists() for p in pids.split()), 10)


@pytest.mark.guests(1)
def test_a_volume_a_guest_on_another_host_uses_is_not_deleted(bed: HostBed, prefix: str) -> None:
    """One directory, one pool on each host (a shared file system's view): A must not delete B's disk."""
    a, b = bed.hosts
    shared = RUN_DIR / f"{prefix}-shared"
    pool_name, image = f"{prefix}-sp", f"{prefix}.raw"
    conns = [a.open(), b.open()]
    try:
        for host in (a, b):
            made = run_module(
                pool_module, {"uri": host.uri, "name": pool_name, "type": "dir", "target": {"path": str(shared)}}
            )
            assert not made.get("failed"), made.get("msg")
        task = {"uri": a.uri, "pool": pool_name, "name": image}
        assert run_module(volume, dict(task, format="raw", capacity="16MiB"))["changed"]
        conns[1].storagePoolLookupByName(pool_name).refresh(0)
        guest = guest_image()
        on_b = {
            "uri": b.uri,
            "name": f"{prefix}-user",
            "memory": "128MiB",
            "kernel": guest.kernel,
            "initrd": guest.initrd,
            "allowed_paths": [str(Path(guest.kernel).parent)],
            "disks": [{"target": "vda", "format": "raw", "source": {"pool": pool_name, "volume": image}}],
            "state": "running",
        }
        assert run_module(domain, on_b)["changed"]
        checksum = hashlib.sha256((shared / image).read_bytes()).hexdigest()
        for check in (True, False):
            refused = run_module(volume, dict(task, state="absent", peers=[a.uri, b.uri]), check_mode=check)
            assert refused["failed"] and refused["msg"].startswith(
                f"volume {pool_name}/{image} is in use - domain {prefix}-user (vda, running) on {b.uri}; detach it"
            )
        assert hashlib.sha256((shared / image).read_bytes()).hexdigest() == checksum
        # Negative control: asked without its peers, host A sees no user and would delete B's disk.
        assert run_module(volume, dict(task, state="absent"), check_mode=True)["changed"] is True
    finally:
        remove_domains_everywhere(conns, prefix, close=False)
        for conn in conns:
            with contextlib.suppress(libvirt.libvirtError):
                pool = conn.storagePoolLookupByName(pool_name)
                pool.destroy()
                pool.undefine()
            conn.close()
        shutil.rmtree(shared, ignore_errors=True)


@pytest.mark.guests(1)
def test_one_vm_one_writer_on_a_network_disk(bed: HostBed, bed_ceph: Ceph, prefix: str) -> None:
    a, b = bed.hosts
    name, image, usage = f"{prefix}-vm", f"{prefix}-disk", f"client.libvirt {prefix}"
    leases = a.lockspace  # the hypervisors' shared lock directory (their virtlockd lockspace)
    serial_a, serial_copy, serial_b = (RUN_DIR / f"{prefix}-{x}.serial" for x in ("a", "copy", "b"))
    bed_ceph.run("rbd", "-c", str(bed_ceph.conf), "create", "--size", "16", f"{bed_ceph.pool}/{image}")
    key = bed_ceph.libvirt_key()
    for host in (a, b):
        made = run_module(
            secret,
            {"uri": host.uri, "usage_type": "ceph", "usage_id": usage, "value": key, "value_encoding": "base64"},
        )
        assert not made.get("failed"), made.get("msg")
    # The lease file lives on storage both hosts see; the URIs are remote, so it is made beforehand.
    (leases / "sharedvirt" / name).touch()
    guest = guest_image()
    params: dict[str, t.Any] = {
        "uri": a.uri,
        "peers": [a.uri, b.uri],
        "name": name,
        "memory": "192MiB",
        "vcpus": 1,
        "kernel": guest.kernel,
        "initrd": guest.initrd,
        "cmdline": f"{guest.cmdline} sv_disk=/dev/vda sv_write=A sv_tick=1",
        "serial": {"type": "file", "path": str(serial_a)},
        "allowed_paths": [str(Path(guest.kernel).parent), str(serial_a.parent), str(serial_b.parent)],
        "lease": str(leases),
        "disks": [
            {
                "target": "vda",
                "bus": "virtio",
                "format": "raw",
                "cache": "none",
                "source": {
                    "protocol": "rbd",
                    "name": f"{bed_ceph.pool}/{image}",
                    "hosts": [{"name": bed.controller_address, "port": 6789}],
                    "auth": {"username": "libvirt", "secret": {"type": "ceph", "usage": usage}},
                },
            }
        ],
        "state": "running",
    }
    conn_a, conn_b = a.open(), b.open()
    try:
        assert run_module(domain, params)["changed"] is True
        wait_for("A's guest to write its marks", lambda: len(ticks(serial_a, "A")) >= 3, 120)

        # 1. The collection refuses the second start on B, in check mode and for real, naming host A.
        on_b = dict(params, uri=b.uri)
        for check in (True, False):
            refused = run_module(domain, on_b, check_mode=check)
            assert refused["failed"] and refused["msg"].startswith(f"domain {name} runs on {a.uri}; starting it here")
        assert name not in [d.name() for d in conn_b.listAllDomains()]

        # 2. The lock manager refuses it too, to a client that skips the collection (plain libvirt on B).
        xml = conn_a.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        copy = conn_b.defineXML(xml.replace(str(serial_a), str(serial_copy)))
        with pytest.raises(libvirt.libvirtError, match="(?i)lock|resource busy"):
            copy.create()
        assert not copy.isActive()

        # 3. Negative control: the same VM without its lease, started without the collection, runs twice.
        copy.undefine()
        unleased = re.sub(r"<lease>.*?</lease>", "", xml, flags=re.S).replace(str(serial_a), str(serial_copy))
        assert "<lease>" not in unleased
        copy = conn_b.defineXML(unleased)
        slots.take()
        copy.create()
        try:
            assert copy.isActive() and conn_a.lookupByName(name).isActive()  # two copies, one disk
        finally:
            copy.destroy()
            copy.undefine()

        # A's guest never stopped writing.
        before = max(ticks(serial_a, "A"))
        wait_for("A's guest to keep writing", lambda: max(ticks(serial_a, "A")) >= before + 3, 60)

        # 4. Host A dies. Its last mark is on the disk; B (A taken out of peers: it is fenced) starts the guest.
        kill_host(a)
        last = max(ticks(serial_a, "A"))
        sector = first_sector(bed_ceph, image)
        written = int(re.match(rb"SVKVM-MARK A (\d+)", sector).group(1))  # type: ignore[union-attr]
        assert written in (last, last + 1)  # the guest prints a tick after its write reached the disk
        digest = hashlib.sha256(sector).hexdigest()
        reader = dict(on_b, peers=[b.uri], serial={"type": "file", "path": str(serial_b)})
        reader["cmdline"] = f"{guest.cmdline} sv_disk=/dev/vda sv_read=0"
        started = run_module(domain, reader)
        assert started["changed"] and not started.get("failed"), started.get("msg")
        wait_for("B's guest to read A's last mark", lambda: f"s0=<SVKVM-MARK A {written}>" in serial_b.read_text(), 120)
        assert hashlib.sha256(first_sector(bed_ceph, image)).hexdigest() == digest
    finally:
        # What is left on A goes with the bed (A may be dead); B is cleaned here.
        for dom in conn_b.listAllDomains():
            if dom.name().startswith(prefix):
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
        conn_b.close()
        with contextlib.suppress(libvirt.libvirtError):
            conn_a.close()
        (leases / "sharedvirt" / name).unlink(missing_ok=True)
        for path in (serial_a, serial_copy, serial_b):
            path.unlink(missing_ok=True)
