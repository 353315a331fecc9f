"""What moving one disk of a domain to another pool takes, step by step (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import ConflictError, SpecError
from .._core.plan import Change, Plan, Step
from .model import DiskAt, MoveRecord


@dataclasses.dataclass(frozen=True)
class Destination:
    """The pool the disk goes to, as it is now."""

    pool: str
    available: int
    volume: str
    format: str
    exists: bool = False  # a volume of that name is in the pool already


@dataclasses.dataclass(frozen=True)
class MoveRequest:
    domain: str
    running: bool
    remove_source: bool = False
    bandwidth: int = 0  # MiB/s, 0: as fast as it goes
    timeout: int = 600


def plan_move(
    request: MoveRequest, disk: DiskAt, dest: Destination, record: t.Optional[MoveRecord], users: t.Sequence[str] = ()
) -> Plan:
    """The move of ``disk`` into ``dest``; ``record`` is a move an earlier run left, ``users`` the other domains
    (on any hypervisor) that use the source volume."""
    name = f"{request.domain}/{disk.target}"
    plan = Plan("disk_move", name, before=_facts(disk.where, disk.format))
    plan.after = _facts(f"{dest.pool}/{dest.volume}", dest.format)
    there = (disk.pool, disk.volume) == (dest.pool, dest.volume)
    if record is not None and not there:
        plan.add(
            f"clean up the unfinished move of {name} to {record.pool}/{record.volume} an earlier run left "
            "(stop its copy, delete the volume it made)",
            step=Step("clean_up", dataclasses.asdict(record)),
        )
    if there:
        if dest.format != disk.format:
            raise ConflictError(
                f"disk {name} is in {dest.pool}/{dest.volume} already, as {disk.format}; a format change needs "
                "another destination volume name"
            )
        _finish_recorded(plan, request, record, users)
        return plan
    _refuse(name, disk, dest, record)
    source = MoveRecord(disk.target, dest.pool, dest.volume, disk.pool or "", disk.volume or "")
    change = Change("", plan.before, plan.after)
    plan.add(f"record the move of {name} in the domain", step=Step("record", dataclasses.asdict(source)))
    if request.running:
        how = f"at most {request.bandwidth} MiB/s, " if request.bandwidth else ""
        plan.add(
            f"create volume {dest.pool}/{dest.volume} ({dest.format}, {disk.capacity} bytes)", step=_create(dest, disk)
        )
        plan.add(
            f"copy {name} live into {dest.pool}/{dest.volume} ({how}within {request.timeout} s) and switch the "
            "running guest over once the copy is in step",
            change,
            step=Step("copy_live", {"bandwidth": request.bandwidth, "timeout": request.timeout, "format": dest.format}),
        )
    else:
        plan.add(
            f"copy {disk.where} into new volume {dest.pool}/{dest.volume} ({dest.format})",
            change,
            step=Step("copy_stopped", {"format": dest.format, "capacity": disk.capacity}),
        )
    plan.add(f"point {name} at {dest.pool}/{dest.volume} in the domain definition", step=Step("point"))
    _finish_recorded(plan, request, source, users)
    return plan


def _refuse(name: str, disk: DiskAt, dest: Destination, record: t.Optional[MoveRecord]) -> None:
    if disk.shareable:
        raise ConflictError(
            f"disk {name} is shareable: other domains write it too, and a copy would leave them on the old one; "
            "move a shared disk with shared_disk (detach, copy, attach) while the cluster is stopped"
        )
    if disk.device != "disk":
        raise ConflictError(f"{name} is a {disk.device}, not a disk; change its source with the domain module")
    made_by_us = record is not None and (record.pool, record.volume) == (dest.pool, dest.volume)
    if dest.exists and not made_by_us:
        raise ConflictError(
            f"volume {dest.pool}/{dest.volume} exists already and is not this disk; the move never overwrites a "
            "volume - give another volume name or remove that one"
        )
    if disk.allocation > dest.available:
        raise ConflictError(
            f"pool {dest.pool} has {dest.available} bytes free, and {name} holds {disk.allocation} bytes of data; "
            "free space there or choose another pool"
        )
    if dest.format not in ("raw", "qcow2"):
        raise SpecError("format", f"{dest.format!r}: a moved disk becomes raw or qcow2")


def _finish_recorded(plan: Plan, request: MoveRequest, record: t.Optional[MoveRecord], users: t.Sequence[str]) -> None:
    """Remove the source (when asked) and then the move's record."""
    if record is None:
        return
    if request.remove_source and record.source_volume:
        if users:
            raise ConflictError(
                f"volume {record.source_pool}/{record.source_volume} is still used by {', '.join(users)}; the "
                f"disk moved, its old volume stays - run again without remove_source, or when they let go of it"
            )
        plan.add(
            f"delete the old volume {record.source_pool}/{record.source_volume} (remove_source)",
            step=Step("remove_source", dataclasses.asdict(record)),
        )
    plan.add(f"forget the move of {request.domain}/{record.target}", step=Step("forget", {"target": record.target}))


def _create(dest: Destination, disk: DiskAt) -> Step:
    return Step("create", {"format": dest.format, "capacity": disk.capacity})


def _facts(where: str, fmt: str) -> t.Dict[str, t.Any]:
    return {"location": where, "format": fmt}
