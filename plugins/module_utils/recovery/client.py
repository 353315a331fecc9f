"""Find the failed hypervisors, fence them, check their VMs' locks, restart the VMs elsewhere (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import subprocess
import typing as t

from .._core.client import LibvirtClient, libvirt_errors
from .._core.errors import CollectionError
from ..domain.single_devices_model import LEASE_LOCKSPACE
from .record_client import sync_record
from .record_model import VmRecord


def fence(command: t.Sequence[str], host: str) -> t.Optional[str]:
    """Run the user's fencing command for ``host`` (``{host}`` in it is the URI); the proof, or None."""
    argv = [part.replace("{host}", host) for part in command]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CollectionError(
            f"fence_command for {host} failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[:500]}"
        )
    return f"fenced by {argv[0]}"


def held_locks(records: t.Sequence[VmRecord], lockspace_dir: t.Optional[str]) -> t.Dict[str, str]:
    """VM -> the lock file still held for it: its domain lease, or a disk lock in ``lockspace_dir``."""
    held = {}
    for record in records:
        files = [os.path.join(record.lease, LEASE_LOCKSPACE, record.name)] if record.lease else []
        if lockspace_dir:
            files += [os.path.join(lockspace_dir, hashlib.sha256(p.encode()).hexdigest()) for p in record.disks]
        for path in files:
            if _locked(path):
                held[record.name] = f"lock {path}"
                break
    return held


def _locked(path: str) -> bool:
    """Whether another process (virtlockd on some host) holds a lock on the file."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0)  # virtlockd locks the first byte
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, 0)
        return False
    except OSError as err:
        if err.errno in (errno.EACCES, errno.EAGAIN):
            return True
        raise
    finally:
        os.close(fd)


def restart(client: LibvirtClient, record: VmRecord) -> None:
    """Define the VM from its record on ``client``'s hypervisor, start it, and move its record there."""
    with libvirt_errors(f"restart {record.name} on {client.uri}"):
        dom = client.conn.defineXML(record.xml)
        dom.create()
    sync_record(client, record.name)
