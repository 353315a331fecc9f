"""A test's private corner of the real libvirtd: everything it creates is removed in cleanup()."""

from __future__ import annotations

import dataclasses
import ipaddress
import shutil
import subprocess
import time
import typing as t
from pathlib import Path

import libvirt

from .guest import Disk, free_subnet, guest_domain_xml, guest_image, isolated_network_xml, local_domain_type, macs_of
from .guest import serial_path as new_serial_path
from .slots import take as take_guest_slot
from .wait import wait_for_marker

BOOT_TIMEOUT = 90
GONE = (libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_NO_STORAGE_POOL, libvirt.VIR_ERR_NO_NETWORK)


@dataclasses.dataclass
class Network:
    name: str
    subnet: ipaddress.IPv4Network
    net: t.Any


@dataclasses.dataclass
class Guest:
    name: str
    dom: t.Any
    serial: Path
    macs: list[str]
    started: float  # time.monotonic() when libvirt started it

    def wait_for(self, pattern: str, timeout: float = BOOT_TIMEOUT) -> str:
        """Wait for a serial-console line matching ``pattern``; returns the matched text."""
        return wait_for_marker(self.serial, pattern, timeout).group(0)


class Lab:
    """Creates transient networks and guests named ``<prefix>-...`` and removes them again."""

    def __init__(self, conn: t.Any, prefix: str) -> None:
        self.conn = conn
        self.prefix = prefix
        self.domains: list[str] = []
        self.networks: list[str] = []
        self.files: list[Path] = []
        self.loops: list[str] = []
        self.pools: list[str] = []
        self.domain_type = local_domain_type(conn)

    def network(
        self,
        suffix: str = "n",
        subnet: ipaddress.IPv4Network | None = None,
        reservations: t.Mapping[str, str] | None = None,
    ) -> Network:
        """An isolated network with DHCP in ``subnet`` (a free one by default); ``reservations``: MAC -> IP."""
        name = f"{self.prefix}-{suffix}"
        subnet = subnet or free_subnet()
        net = self.conn.networkCreateXML(isolated_network_xml(name, subnet, reservations))
        self.networks.append(name)
        return Network(name, subnet, net)

    def guest(
        self,
        suffix: str = "g",
        networks: t.Sequence[Network] = (),
        cmdline: str = "",
        disks: t.Sequence[Disk] = (),
        agent: bool = True,
        wait_ready: bool = True,
        bridges: t.Sequence[str] = (),
        macs: t.Sequence[str] = (),
        start: bool = True,
        memory_mib: int = 160,
        boots: bool = True,
    ) -> Guest:
        """A guest; ``start=False`` only defines it (persistent): start it with ``guest.dom.create()``.
        ``boots=False``: the test never starts it, so it takes no guest slot (and waits for none)."""
        name = f"{self.prefix}-{suffix}"
        serial = new_serial_path(name)
        self.files.append(serial)
        xml = guest_domain_xml(
            name,
            guest_image(),
            self.domain_type,
            networks=[n.name for n in networks],
            serial=serial,
            cmdline=cmdline,
            agent=agent,
            disks=disks,
            bridges=bridges,
            macs=macs,
            memory_mib=memory_mib,
        )
        if start or boots:
            take_guest_slot()  # a defined guest is started later in the test: it needs its slot then
        started = time.monotonic()
        dom = self.conn.createXML(xml, 0) if start else self.conn.defineXML(xml)
        self.domains.append(name)
        guest = Guest(name, dom, serial, macs_of(dom), started)
        if wait_ready and start:
            guest.wait_for(r"SVKVM-READY")
        return guest

    def loop(self, size_mib: int, mkfs: str | None = None, suffix: str = "disk") -> str:
        """A loop device over a sparse file (``losetup -f``: others may hold loops too)."""
        backing = Path("/var/tmp/sharedvirt-kvm") / f"{self.prefix}-{suffix}.img"
        backing.parent.mkdir(parents=True, exist_ok=True)
        with backing.open("wb") as handle:
            handle.truncate(size_mib * 2**20)
        self.files.append(backing)
        dev = subprocess.run(
            ["losetup", "-f", "-P", "--show", str(backing)], capture_output=True, text=True, check=True
        )
        device = dev.stdout.strip()
        self.loops.append(device)
        if mkfs:
            subprocess.run([f"mkfs.{mkfs}", "-q", device], check=True, capture_output=True)
        return device

    def cleanup(self) -> None:
        """Remove what the test made; what could not be removed fails the test's teardown with libvirt's reason."""
        domain_flags = (
            libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
            | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
            | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
            | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
        )
        failed = _remove(self.conn.lookupByName, self.domains, lambda dom: dom.undefineFlags(domain_flags))
        failed += _remove(self.conn.storagePoolLookupByName, self.pools, lambda pool: pool.undefine())
        failed += _remove(self.conn.networkLookupByName, self.networks, lambda net: net.undefine())
        for device in self.loops:
            subprocess.run(["losetup", "-d", device], check=False, capture_output=True)
        failed += [f"{path.name}: {HALTED}" for path in self.files if _halted(path)]
        for path in self.files:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if failed:
            raise RuntimeError(f"cleanup: {'; '.join(failed)}")


# A guest that halts when asked to power off runs without ACPI: it ignores the power button as well, and every
# graceful stop of it waits the whole timeout before the forced one. Tests pass that way, only slowly.
HALTED = "the guest halted instead of powering off: it runs without ACPI (see testbed.params._needs_bzimage)"


def _halted(path: Path) -> bool:
    """Whether a guest's serial log shows the kernel's halt, the sign of a power-off without ACPI."""
    if path.suffix != ".serial" or not path.is_file():
        return False
    with path.open("rb") as log:
        return b"reboot: System halted" in log.read()


def _remove(lookup: t.Callable[[str], t.Any], names: list[str], undefine: t.Callable[[t.Any], t.Any]) -> list[str]:
    """Stop and undefine the named libvirt objects, newest first; ones already gone are skipped.

    A step that fails is tried twice more: under load libvirt can fail to kill a QEMU busy flushing its disks
    ("Device or resource busy"), and a second try seconds later succeeds. Returns what stayed, with the reason."""
    failed = []
    for name in reversed(names):
        try:
            obj = lookup(name)
        except libvirt.libvirtError:
            continue
        for attempt in range(3):
            try:
                if obj.isActive():
                    obj.destroy()
                if obj.isPersistent():
                    undefine(obj)
                break
            except libvirt.libvirtError as err:
                if err.get_error_code() in GONE:  # a transient object ends with its destroy
                    break
                if attempt == 2:
                    failed.append(f"{name}: {err}")
                else:
                    time.sleep(2)
    return failed


def leftovers(conn: t.Any, prefix: str = "svt-") -> list[str]:
    """Objects whose names start with ``prefix``: what a test run must not leave behind."""
    found = [f"domain {d.name()}" for d in conn.listAllDomains() if d.name().startswith(prefix)]
    found += [f"network {n.name()}" for n in conn.listAllNetworks() if n.name().startswith(prefix)]
    found += [f"pool {p.name()}" for p in conn.listAllStoragePools() if p.name().startswith(prefix)]
    found += [f"secret {s.usageID()}" for s in conn.listAllSecrets() if (s.usageID() or "").startswith(prefix)]
    return found
