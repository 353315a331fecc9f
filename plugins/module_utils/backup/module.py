"""The backup, backup_info and backup_restore modules (Ansible glue)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import datetime
import os
import typing as t

from .._core.errors import SpecError
from .._core.module import LibvirtModule
from ..host.model import uri_is_local
from .client import BackupExecutor, read_points
from .model import writable_disks
from .plan import BackupRequest, plan_backup
from .restore_client import RestoreExecutor
from .restore_plan import RestoreRequest, chosen_point, plan_restore


def _directory(module: LibvirtModule, readonly: bool = False) -> str:
    client = module.client(readonly=readonly)
    if not uri_is_local(client.uri):
        raise SpecError(
            "uri",
            f"backups are written and read on the hypervisor itself; run the task there (delegate_to the host, "
            f"with a local uri), not through {client.uri}",
        )
    return os.path.join(module.params["dest"], module.params["name"])


def run_backup(module: LibvirtModule) -> t.Dict[str, t.Any]:
    params = module.params
    # Read-write in check mode too: asking the guest agent whether it answers needs it (nothing is changed).
    executor = BackupExecutor(module.client(), params["name"], _directory(module), params["timeout"])
    xml = executor.dom.XMLDesc(0)
    disks = [d for d in writable_disks(xml) if not params.get("disks") or d[0] in params["disks"]]
    request = BackupRequest(
        domain=params["name"],
        directory=executor.directory,
        disks=tuple(disks),
        running=bool(executor.dom.isActive()),
        agent=params["quiesce"] != "never" and executor.agent_answers(),
        checkpoints=executor.checkpoints(),
        now=datetime.datetime.now(datetime.timezone.utc),
        mode=params["mode"],
        keep=params["keep"],
        max_age=params["max_age"],
        quiesce=params["quiesce"],
    )
    plan = plan_backup(request, executor.points())
    if not module.check_mode:
        executor.apply(plan)
        plan.after = {"points": [p.to_dict() for p in executor.points()]}
    return plan.result(diff=module.diff)


def run_backup_info(module: LibvirtModule) -> t.Dict[str, t.Any]:
    points = read_points(_directory(module, readonly=True))
    return {
        "changed": False,
        "points": [p.to_dict() for p in points],
        "size": sum(d.size for p in points for d in p.disks),
    }


def run_backup_restore(module: LibvirtModule) -> t.Dict[str, t.Any]:
    params = module.params
    directory = _directory(module)
    points = read_points(directory)  # the domain itself may be gone: that is what restores are for
    request = RestoreRequest(params["name"], params["point"], params["disk"], params["pool"], params["volume"],
                             params["format"], params["replace"])  # fmt: skip
    point = chosen_point(request, points)
    executor = RestoreExecutor(module.client(), directory, request.pool, request.volume)
    exists = executor.exists()
    identical = exists and executor.identical(point.file_of(request.target) or "", request.format)
    plan = plan_restore(request, point, exists, identical)
    if not module.check_mode:
        executor.apply(plan)
    return plan.result(diff=module.diff)
