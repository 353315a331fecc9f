"""Which restore point goes into which volume, and whether that is done already (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import SpecError, UnsafeOperation
from .._core.plan import Change, Plan, Step
from .model import Point


@dataclasses.dataclass(frozen=True)
class RestoreRequest:
    domain: str
    point: str  # a restore point id, or "latest"
    target: str
    pool: str
    volume: str
    format: str = "qcow2"
    replace: bool = False


def chosen_point(request: RestoreRequest, points: t.Sequence[Point]) -> Point:
    if not points:
        raise SpecError("name", f"domain {request.domain} has no restore points in this backup directory")
    wanted = points[-1].id if request.point == "latest" else request.point
    for point in points:
        if point.id == wanted:
            if point.file_of(request.target) is None:
                have = ", ".join(d.target for d in point.disks)
                raise SpecError(
                    "disk", f"restore point {point.id} of {request.domain} has no disk {request.target} ({have})"
                )
            return point
    raise SpecError(
        "point", f"no restore point {wanted} of {request.domain}; there are {', '.join(p.id for p in points)}"
    )


def plan_restore(request: RestoreRequest, point: Point, exists: bool, identical: bool) -> Plan:
    """``identical``: the volume holds exactly the point's data already."""
    where = f"{request.pool}/{request.volume}"
    plan = Plan("restore", where, before={"volume": where, "exists": exists})
    plan.after = {"volume": where, "exists": True, "point": point.id}
    if exists and identical:
        return plan
    if exists and not request.replace:
        raise UnsafeOperation(
            f"volume {where} exists with other data; set replace=true to overwrite it with {request.target} of "
            f"{request.domain} as of {point.id}",
            consent="replace",
        )
    into = "existing volume" if exists else "new volume"
    plan.add(
        f"restore {request.target} of {request.domain} as of {point.id} ({point.kind}) into {into} {where} "
        f"({request.format})",
        Change("", plan.before, plan.after),
        step=Step("restore", {"file": point.file_of(request.target), "format": request.format, "replace": exists}),
    )
    return plan
