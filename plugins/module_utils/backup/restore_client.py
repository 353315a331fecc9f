"""Restores a disk of a restore point into a pool volume, through a checked upload (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile

from .._core.client import LibvirtClient
from .._core.errors import ConflictError, NotFoundError
from .._core.executor import Executor
from .._core.plan import Plan, Step
from .._core.xmlutil import to_string
from ..storage.client import file_sha256
from ..storage.transfer import upload_verified
from ..storage.volume_model import VolumeSpec


class RestoreExecutor(Executor):
    def __init__(self, client: LibvirtClient, directory: str, pool: str, volume: str) -> None:
        self.client = client
        self.directory = directory
        self.pool_name = pool
        self.volume_name = volume
        self.pool = client.pool(pool)
        if self.pool is None or not self.pool.isActive():
            raise NotFoundError(f"look up pool {pool!r}", f"no active storage pool {pool!r} on {client.uri}")

    def exists(self) -> bool:
        return self.client.volume(self.pool, self.volume_name) is not None

    def identical(self, file: str, fmt: str) -> bool:
        """The volume's guest-visible data equals the restore point's (qemu-img compare)."""
        vol = self.client.volume(self.pool, self.volume_name)
        path = os.path.join(self.directory, file)
        if vol is None or not os.path.exists(vol.path()):
            return False
        cmd = ["qemu-img", "compare", "-q", "-U", "-f", fmt, "-F", "qcow2", vol.path(), path]
        return subprocess.run(cmd, capture_output=True, check=False).returncode == 0

    def _step_restore(self, plan: Plan, step: Step) -> None:
        source = os.path.join(self.directory, step.args["file"])
        fmt = step.args["format"]
        handle, scratch = tempfile.mkstemp(prefix=".sharedvirt-restore-", suffix=f".{fmt}", dir="/var/tmp")
        os.close(handle)
        try:
            done = subprocess.run(["qemu-img", "convert", "-q", "-O", fmt, source, scratch],
                                  capture_output=True, text=True, check=False)  # fmt: skip
            if done.returncode != 0:
                raise ConflictError(f"reading restore point file {source} failed: {done.stderr.strip()}")
            info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", scratch],
                                             capture_output=True, text=True, check=True).stdout)  # fmt: skip
            args = {"src": scratch, "sha256": file_sha256(scratch), "replace": step.args["replace"],
                    "xml": _volume_xml(self.volume_name, fmt, int(info["virtual-size"]))}  # fmt: skip
            upload_verified(self.client, self.pool, self.volume_name, args)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(scratch)


def _volume_xml(name: str, fmt: str, capacity: int) -> str:
    return to_string(VolumeSpec(name=name, format=fmt, capacity=capacity, allocation=0).to_element())
