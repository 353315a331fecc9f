"""Which backup to take, and which restore points retention folds away (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import datetime
import typing as t

from .._core.errors import ConflictError, SpecError
from .._core.plan import Plan, Step
from .model import Point


@dataclasses.dataclass(frozen=True)
class BackupRequest:
    domain: str
    directory: str
    disks: t.Tuple[t.Tuple[str, str], ...]  # (target, format) of the disks to back up
    running: bool
    agent: bool  # the guest agent answers
    checkpoints: t.FrozenSet[str]  # the domain's libvirt checkpoints
    now: datetime.datetime
    mode: str = "auto"  # auto, full or incremental
    keep: int = 7
    max_age: int = 0  # seconds; a newer restore point makes the run a no-op
    quiesce: str = "auto"  # auto, always or never


def plan_backup(request: BackupRequest, points: t.Sequence[Point]) -> Plan:
    plan = Plan("backup", request.domain, before=_facts(points))
    latest = points[-1] if points else None
    if latest is not None and request.max_age and _age(latest, request.now) < request.max_age:
        plan.after = plan.before
        return plan
    if not request.disks:
        raise ConflictError(
            f"domain {request.domain} has no disk to back up (CD-ROMs, read-only and shareable disks are left out)"
        )
    kind, why = _kind(request, latest)
    quiesce = _quiesce(request)
    point_id = f"{request.now:%Y%m%dT%H%M%S}.{request.now.microsecond // 1000:03d}Z"
    if latest is not None and point_id <= latest.id:
        raise ConflictError(
            f"a restore point of {request.domain} named {latest.id} exists already; run again in a second"
        )
    targets = [target for target, _fmt in request.disks]
    since = f" since {latest.id}" if kind == "incremental" and latest else ""
    how = " (quiesced through the guest agent)" if quiesce else ""
    plan.add(
        f"back up {request.domain} ({kind}{since}{why}): {', '.join(targets)} into {request.directory}{how}",
        step=Step(
            "backup" if request.running else "copy_stopped",
            {
                "id": point_id,
                "kind": kind,
                "parent": latest.id if since and latest else "",
                "targets": targets,
                "quiesce": quiesce,
                "time": request.now.isoformat(),
            },
        ),  # fmt: skip
    )
    kept = list(points) + [Point(point_id, kind, request.now.isoformat(), (), latest.id if since and latest else "")]
    _retire(plan, kept, request.keep)
    stale = sorted(request.checkpoints & {p.id for p in points})  # ours only: the new point's is the one kept
    if stale and request.running:
        plan.add(
            f"delete the checkpoints of older restore points: {', '.join(stale)}",
            step=Step("uncheckpoint", {"names": stale}),
        )
    plan.after = _facts(kept)
    return plan


def _kind(request: BackupRequest, latest: t.Optional[Point]) -> t.Tuple[str, str]:
    """full or incremental, and why a wanted incremental backup cannot be one."""
    if request.mode == "full":
        return "full", ""
    reason = ""
    if not request.running:
        reason = "the domain is not running: a stopped domain gets a full copy"
    elif latest is None:
        reason = "no earlier restore point"
    elif not latest.checkpoint or latest.id not in request.checkpoints:
        reason = f"restore point {latest.id} has no checkpoint in libvirt to start from"
    elif any(fmt != "qcow2" for _target, fmt in request.disks):
        raw = ", ".join(target for target, fmt in request.disks if fmt != "qcow2")
        reason = f"{raw} not qcow2: the changed-block bitmaps live in qcow2 images, so raw disks get full backups"
    if not reason:
        return "incremental", ""
    if request.mode == "incremental":
        raise ConflictError(f"cannot back up {request.domain} incrementally: {reason}; use mode=auto or mode=full")
    return "full", f"; {reason}"


def _quiesce(request: BackupRequest) -> bool:
    if request.quiesce == "always" and not (request.running and request.agent):
        raise SpecError("quiesce", f"domain {request.domain}'s guest agent does not answer, so it cannot be frozen")
    return request.quiesce != "never" and request.running and request.agent


def _retire(plan: Plan, points: t.List[Point], keep: int) -> None:
    """Drop the oldest restore points beyond ``keep``; an incremental point after one is folded into it."""
    while len(points) > keep:
        oldest, following = points[0], points[1]
        if following.kind == "incremental":
            plan.add(
                f"drop the oldest restore point {oldest.id} (merged into {following.id}, which becomes a full one)",
                step=Step("fold", {"oldest": oldest.id, "next": following.id}),
            )
            points[1] = dataclasses.replace(following, kind="full", parent="")
        else:
            plan.add(f"delete the oldest restore point {oldest.id}", step=Step("drop", {"oldest": oldest.id}))
        points.pop(0)


def _age(point: Point, now: datetime.datetime) -> float:
    return (now - datetime.datetime.fromisoformat(point.time)).total_seconds()


def _facts(points: t.Sequence[Point]) -> t.Dict[str, t.Any]:
    return {"points": [{"id": p.id, "kind": p.kind, "parent": p.parent} for p in points]}
