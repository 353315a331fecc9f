"""Ansible glue of the snapshot and snapshot_info modules."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.module import LibvirtModule
from .._core.names import validate_name
from .client import SnapshotExecutor
from .plan import SnapshotRequest, plan_snapshot


def run_snapshot(module: LibvirtModule) -> t.Dict[str, t.Any]:
    params = module.params
    request = SnapshotRequest(
        domain=params["domain"],
        name=params["name"],
        state=params["state"],
        kind=params["kind"],
        memory=params["memory"],
        disks=params.get("disks"),
        quiesce=params.get("quiesce"),
        description=params.get("description"),
        force=params["force"],
    )
    validate_name(request.name, "name", "snapshot")  # before libvirt sees it
    executor = SnapshotExecutor(module.client(readonly=module.check_mode))
    dom = executor.domain(request.domain)
    plan = plan_snapshot(request, executor.read(dom))
    if not module.check_mode:
        executor.apply(plan)
    snapshots = executor.facts(dom)
    this = next((s for s in snapshots if s["name"] == request.name), None)
    return {"changed": plan.changed, "actions": plan.actions, "snapshot": this, "snapshots": snapshots}


def run_snapshot_info(module: LibvirtModule) -> t.Dict[str, t.Any]:
    executor = SnapshotExecutor(module.client(readonly=True))
    dom = executor.domain(module.params["domain"])
    return {
        "changed": False,
        "snapshots": executor.facts(dom),
        "current": executor.current(dom),
        "chain_depth": executor.chain_depths(dom),
    }
