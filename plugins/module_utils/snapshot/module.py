"""Ansible glue of the snapshot and snapshot_info modules."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import libvirt
from .._core.errors import ConflictError, UnsafeOperation
from .._core.module import LibvirtModule
from .._core.names import validate_name
from .client import SnapshotExecutor
from .plan import SnapshotRequest, disk_choice, snapshot_facts, snapshot_xml


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
    )
    validate_name(request.name, "name", "snapshot")  # before libvirt sees it
    executor = SnapshotExecutor(module.client(readonly=module.check_mode))
    dom = executor.domain(request.domain)
    snap = executor.find(dom, request.name)
    actions: t.List[str] = []
    if request.state == "present" and snap is None:
        flags = 0 if dom.isActive() else libvirt.VIR_DOMAIN_XML_INACTIVE
        included, excluded, request.kind = disk_choice(dom.XMLDesc(flags), request)
        if request.quiesce is None:
            request.quiesce = request.kind == "external" and executor.agent_connected(dom)
        detail = f"disks {', '.join(included)}" + (f"; left out {', '.join(excluded)}" if excluded else "")
        detail += "; with memory" if request.memory else ""
        detail += "; quiesced by the guest agent" if request.quiesce else ""
        actions.append(f"create {request.kind} snapshot {request.name} of {request.domain} ({detail})")
        if not module.check_mode:
            executor.create(dom, snapshot_xml(request, included, excluded), request)
    elif request.state == "current":
        if snap is None:
            raise ConflictError(f"domain {request.domain!r} has no snapshot {request.name!r}; create it first")
        if executor.current(dom) != request.name:
            taken = snapshot_facts(snap, None)["state"]
            if dom.isActive() and taken in ("shutoff", "disk-snapshot") and not params["force"]:
                raise UnsafeOperation(
                    f"reverting running domain {request.domain!r} to snapshot {request.name!r} (taken while it was "
                    f"{taken}) stops it and loses its current memory; set force: true, or shut it down first",
                    "force",
                )
            actions.append(f"revert {request.domain} to snapshot {request.name}")
            if not module.check_mode:
                executor.revert(dom, snap, params["force"])
    elif request.state == "absent" and snap is not None:
        actions.append(f"delete snapshot {request.name} of {request.domain}")
        if not module.check_mode:
            executor.delete(snap)
    snapshots = executor.facts(dom)
    this = next((s for s in snapshots if s["name"] == request.name), None)
    return {"changed": bool(actions), "actions": actions, "snapshot": this, "snapshots": snapshots}


def run_snapshot_info(module: LibvirtModule) -> t.Dict[str, t.Any]:
    executor = SnapshotExecutor(module.client(readonly=True))
    dom = executor.domain(module.params["domain"])
    return {"changed": False, "snapshots": executor.facts(dom), "current": executor.current(dom)}
