"""A sync of the replica - a backup on the source, its blocks shipped, the replica redefined - or a failover (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import datetime
import typing as t

from .._core.errors import ConflictError
from .._core.plan import Plan, Step
from ..backup.model import Point
from ..backup.plan import BackupRequest, plan_backup
from .model import ReplicaRecord


@dataclasses.dataclass(frozen=True)
class SyncRequest:
    backup: BackupRequest  # the source side: domain, staging directory, disks, checkpoints, now
    source: str
    target: str
    pool: str


def replica_volume(domain: str, target: str) -> str:
    return f"{domain}-{target}.replica.raw"


def plan_sync(request: SyncRequest, points: t.Sequence[Point], record: t.Optional[ReplicaRecord]) -> Plan:
    """Incremental when the replica holds the newest restore point of the staging chain, else full."""
    in_step = record is not None and bool(points) and record.point == points[-1].id
    mode = request.backup.mode if in_step else "full"
    backup = dataclasses.replace(request.backup, mode=mode, keep=2)
    plan = plan_backup(backup, points)
    if not plan.actions:  # max_age: the replica is recent enough
        return plan
    if not in_step and record is not None:
        plan.actions[0] += f" - the replica on {request.target} is not at the newest point, so it is rebuilt whole"
    disks = [target for target, _fmt in backup.disks]
    where = ", ".join(f"{request.pool}/{replica_volume(backup.domain, d)}" for d in disks)
    plan.add(
        f"ship the {'changed' if mode != 'full' else 'allocated'} blocks to {where} on {request.target}",
        step=Step("ship", {"disks": disks, "whole": mode == "full"}),
    )
    plan.add(f"define the replica {backup.domain} on {request.target} (not started)", step=Step("define"))
    plan.after = {"source": request.source, "target": request.target, "volumes": disks}
    return plan


def plan_failover(domain: str, target: str, source_answers: bool, proof: str, replica_running: bool) -> Plan:
    """Start the replica - only when the source is gone and proven unable to write (the recovery rule)."""
    plan = Plan("replication", domain)
    if replica_running:
        return plan
    if source_answers:
        raise ConflictError(
            f"the source of {domain} answers; starting the replica would run {domain} twice - stop it there, or move "
            "it with sharedvirt.kvm.migration"
        )
    if not proof:
        raise ConflictError(
            f"the source of {domain} does not answer, which does not prove it stopped writing; fence it (fenced=true "
            "once you have, or fence_command) before the replica starts"
        )
    plan.add(f"start the replica {domain} on {target} ({proof})", step=Step("start"))
    return plan


def age_seconds(record: ReplicaRecord, now: datetime.datetime) -> float:
    return (now - datetime.datetime.fromisoformat(record.time)).total_seconds()
