"""The replication and replication_info modules (Ansible glue)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import datetime
import os
import typing as t

from .._core.client import LibvirtClient
from .._core.errors import CollectionError
from .._core.module import LibvirtModule
from ..backup.client import BackupExecutor
from ..backup.model import writable_disks
from ..backup.plan import BackupRequest
from ..recovery.client import fence
from .client import ReplicationExecutor
from .plan import SyncRequest, age_seconds, plan_failover, plan_sync


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _target(module: LibvirtModule) -> LibvirtClient:
    return LibvirtClient.connect(module.params["target"], timeout=module.params["connect_timeout"])


def run_replication(module: LibvirtModule) -> t.Dict[str, t.Any]:
    params = module.params
    target = _target(module)
    try:
        if params["state"] == "failed_over":
            return _failover(module, target)
        source = BackupExecutor(module.client(), params["name"], os.path.join(params["staging"], params["name"]),
                                params["timeout"])  # fmt: skip
        executor = ReplicationExecutor(target, params["name"], params["pool"], source)
        backup = BackupRequest(
            domain=params["name"],
            directory=source.directory,
            disks=tuple(writable_disks(source.dom.XMLDesc(0))),
            running=bool(source.dom.isActive()),
            agent=params["quiesce"] != "never" and source.agent_answers(),
            checkpoints=source.checkpoints(),
            now=_now(),
            mode=params["mode"],
            max_age=params["max_age"],
            quiesce=params["quiesce"],
        )
        request = SyncRequest(backup, source.client.uri, target.uri, params["pool"])
        plan = plan_sync(request, source.points(), executor.record())
        if not module.check_mode:
            executor.apply(plan)
        return plan.result()
    finally:
        target.close()


def _failover(module: LibvirtModule, target: LibvirtClient) -> t.Dict[str, t.Any]:
    params = module.params
    executor = ReplicationExecutor(target, params["name"], params["pool"], None)
    replica = executor.replica()
    if replica is None or executor.record() is None:
        raise CollectionError(f"no replica of {params['name']} on {target.uri} to fail over to")
    try:
        LibvirtClient.connect(params["uri"], readonly=True, timeout=params["connect_timeout"]).close()
        answers = True
    except CollectionError:
        answers = False
    proof = "fenced: true" if params["fenced"] else ""
    if not answers and not proof and params.get("fence_command"):
        proof = (
            "fence_command (not run in check mode)"
            if module.check_mode
            else fence(params["fence_command"], params["uri"]) or ""
        )
    plan = plan_failover(params["name"], target.uri, answers, proof, bool(replica.isActive()))
    if not module.check_mode:
        executor.apply(plan)
    return plan.result()


def _proof(module: LibvirtModule) -> str:
    """That the dead source can no longer write: the operator's word, or the fencing command's success."""
    params = module.params
    if params["fenced"]:
        return "fenced: true"
    if not params.get("fence_command"):
        return ""
    if module.check_mode:
        return "fence_command, not run in check mode"
    return fence(params["fence_command"], params["uri"]) or ""


def run_replication_info(module: LibvirtModule) -> t.Dict[str, t.Any]:
    target = _target(module)
    try:
        executor = ReplicationExecutor(target, module.params["name"], "", None)
        record, replica = executor.record(), executor.replica()
    finally:
        target.close()
    if record is None:
        return {"changed": False, "replica": {}}
    return {
        "changed": False,
        "replica": {
            "source": record.source,
            "point": record.point,
            "time": record.time,
            "age": round(age_seconds(record, _now()), 1),
            "volumes": dict(record.volumes),
            "running": bool(replica.isActive()),
        },
    }
