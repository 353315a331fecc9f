"""Read a running domain's jobs: the domain job's statistics and each disk's block job (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import LibvirtClient, libvirt
from .job_model import block_job, domain_job


def read_jobs(client: LibvirtClient, name: str, disks: t.Sequence[str]) -> t.Dict[str, t.Any]:
    """``job`` (None when none runs) and ``block_jobs`` of a running domain; a domain that stopped or went away
    meanwhile has none."""
    found: t.Dict[str, t.Any] = {"job": None, "block_jobs": []}
    try:
        dom = client.conn.lookupByName(name)
        if not dom.isActive():
            return found
        found["job"] = domain_job(_quiet(dom.jobStats, 0) or {})
        for disk in disks:
            job = block_job(disk, _quiet(dom.blockJobInfo, disk, 0) or {})
            if job is not None:
                found["block_jobs"].append(job)
    except libvirt.libvirtError:
        return {"job": None, "block_jobs": []}  # gone between the listing and this read
    return found


def _quiet(call: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
    """A job read that a driver does not offer (or a disk without a job) is simply no job."""
    try:
        return call(*args)
    except libvirt.libvirtError as err:
        if err.get_error_code() in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_OPERATION_INVALID):
            return None
        raise
