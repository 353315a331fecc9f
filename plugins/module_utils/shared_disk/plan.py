"""Pure rules of a disk shared by several domains: what makes it safe, and each domain's plan."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import ConflictError, SpecError
from .._core.plan import Plan
from ..domain.device_model import DiskSource, DiskSpec
from ..domain.model import DomainSpec
from ..domain.plan import DomainActual, DomainRequest, plan_domain

SAFE_CACHE = ("none", "directsync")


@dataclasses.dataclass
class Attachment:
    """A domain whose definition (or running config) carries the disk."""

    domain: str
    target: str
    shareable: bool
    persistent: bool
    live: bool


def shared_disk_spec(params: t.Mapping[str, t.Any], source: DiskSource) -> DiskSpec:
    """The disk every domain gets: raw, shareable, uncached, never snapshotted."""
    fmt = params.get("format") or "raw"
    if fmt != "raw":
        raise SpecError(
            "format",
            f"a {fmt} disk cannot be shared by several domains for writing: QEMU takes an exclusive write lock "
            "on it and libvirt refuses <shareable/> for it; use format=raw (convert the image, or create a new "
            "raw volume)",
        )
    cache = params.get("cache") or "none"
    if cache not in SAFE_CACHE:
        raise SpecError(
            "cache",
            f"cache={cache} lets each domain keep writes the others cannot see; a shared disk needs cache=none "
            "or directsync",
        )
    io = "native" if cache in SAFE_CACHE and source.protocol is None else None
    device = params.get("device") or "disk"
    if params.get("reservations") == "managed":
        if device != "lun" or source.dev is None:
            raise SpecError(
                "reservations",
                "managed reservations (qemu-pr-helper) work for device=lun on a host block device; an iSCSI "
                "network LUN passes reservations to its target by itself - leave reservations unset there",
            )
        source = source.replace(reservations="managed")
    disk = DiskSpec(
        target=params["target"],
        bus=params.get("bus") or ("scsi" if device == "lun" else "virtio"),
        device=device,
        source=source,
        format="raw",
        cache=cache,
        io=io,
        serial=params.get("serial"),
        wwn=params.get("wwn"),
        readonly=bool(params.get("readonly")),
        shareable=True,
        snapshot="no",
    )
    disk.validate("")
    return disk


def same_source(a: t.Optional[DiskSource], b: t.Optional[DiskSource], path: t.Optional[str]) -> bool:
    """True when two disk sources are the same storage (by pool/volume, path or network name)."""
    if a is None or b is None:
        return False
    if a.pool and a.volume and (a.pool, a.volume) == (b.pool, b.volume):
        return True
    if path and path in (b.file, b.dev):
        return True
    return bool(a.protocol and (a.protocol, a.name) == (b.protocol, b.name))


def check_asymmetric(attachments: t.Sequence[Attachment], name: str) -> None:
    """Refuse when a domain carries the same storage without <shareable/>."""
    for att in attachments:
        if not att.shareable:
            raise ConflictError(
                f"shared disk {name}: domain {att.domain} already uses it as {att.target} without <shareable/>; "
                "sharing it asymmetrically would let libvirt relabel the file and cut that domain off - "
                f"list {att.domain} in domains (it then gets the shared settings) or detach it there first"
            )


def domain_plan(domain: str, actual: DomainActual, disk: DiskSpec, carry: bool, path: t.Optional[str]) -> Plan:
    """The plan that makes ``domain`` carry ``disk`` (carry) or not; its other disks stay as they are."""
    if actual.spec is None:
        raise SpecError("domains", f"no domain {domain!r}; define it first (sharedvirt.kvm.domain)")
    keep = []
    for have in actual.spec.disks or []:
        if same_source(disk.source, have.source, path):
            continue
        if carry and have.target == disk.target:
            raise ConflictError(
                f"domain {domain}: target {disk.target} is taken by another disk; choose another target for the "
                "shared disk"
            )
        keep.append(have)
    disks = keep + ([disk] if carry else [])
    desired = DomainSpec(name=domain, disks=disks)
    return plan_domain(desired, DomainRequest(state="present"), actual)


def reservations_support(disk: DiskSpec) -> str:
    """How SCSI persistent reservations (cluster fencing) reach the storage for this disk."""
    if disk.device != "lun":
        return "none: a device=disk has no SCSI reservations; use device=lun"
    if disk.source is not None and disk.source.reservations == "managed":
        return "managed: qemu-pr-helper issues them on the host block device"
    if disk.source is not None and disk.source.protocol == "iscsi":
        return "passthrough: QEMU's iSCSI initiator sends them to the target"
    return "none: set reservations=managed for a host block device LUN"
