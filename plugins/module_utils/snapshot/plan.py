"""Domain snapshots: which disks go in, the snapshot XML, and facts (pure).

Shared disks (``<shareable/>``) never go into a snapshot: reverting one would roll back data other
guests rely on. They are excluded automatically; asking for one explicitly is refused with the reason.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.errors import ConflictError, SpecError, UnsafeOperation
from .._core.names import validate_name
from .._core.plan import Plan, Step
from .._core.xmlutil import parse_xml, sub
from .external_model import ExternalSnapshot, built_on


@dataclasses.dataclass
class SnapshotRequest:
    domain: str
    name: str
    state: str = "present"  # present, absent, current, reverted
    kind: str = "auto"  # auto, internal, external
    memory: bool = False
    disks: t.Optional[t.List[str]] = None  # targets to include; None: every disk that is not shared
    quiesce: t.Optional[bool] = None  # None: when the guest agent is connected
    description: t.Optional[str] = None
    force: bool = False  # a revert that stops a running domain


def disk_choice(domain_xml: str, request: SnapshotRequest) -> t.Tuple[t.List[str], t.List[str], str]:
    """(included, excluded, kind): shared disks and CD-ROMs/read-only disks are excluded; ``auto`` resolved."""
    root = parse_xml(domain_xml, "domain XML")
    included: t.List[str] = []
    excluded: t.List[str] = []
    shared: t.List[str] = []
    for disk in root.findall("devices/disk"):
        target = disk.find("target")
        name = target.get("dev", "") if target is not None else ""
        skip = disk.get("device") in ("cdrom", "floppy") or disk.find("readonly") is not None
        if disk.find("shareable") is not None:
            shared.append(name)
            skip = True
        (excluded if skip else included).append(name)
    if request.disks is not None:
        asked_shared = [d for d in request.disks if d in shared]
        if asked_shared:
            raise ConflictError(
                f"disk {asked_shared[0]} of domain {request.domain!r} is shared with other domains; a snapshot of it "
                "would roll back their data on revert - leave it out (shared disks are excluded by default)"
            )
        unknown = [d for d in request.disks if d not in included]
        if unknown:
            raise SpecError("disks", f"domain {request.domain!r} has no snapshottable disk {unknown[0]}")
        excluded += [d for d in included if d not in request.disks]
        included = [d for d in included if d in request.disks]
    # libvirt takes internal snapshots of all disks or none: a shared disk left out means external.
    kind = ("external" if shared else "internal") if request.kind == "auto" else request.kind
    if kind == "internal" and shared:
        raise ConflictError(
            f"domain {request.domain!r} has shared disk {shared[0]}, which must stay out of the snapshot; libvirt "
            "takes internal snapshots of every disk or none - use kind: external (or auto)"
        )
    if not included:
        raise ConflictError(
            f"domain {request.domain!r} has no disk to snapshot (shared and read-only disks are left out)"
        )
    return included, excluded, kind


def snapshot_xml(request: SnapshotRequest, included: t.Sequence[str], excluded: t.Sequence[str]) -> str:
    root = ET.Element("domainsnapshot")
    sub(root, "name", validate_name(request.name, "name", "snapshot"))
    if request.description:
        sub(root, "description", request.description)
    if request.kind == "external" and request.memory:
        sub(
            root,
            "memory",
            snapshot="external",
            file=f"/var/lib/libvirt/qemu/snapshot/{request.domain}-{request.name}.mem",
        )
    elif not request.memory:
        sub(root, "memory", snapshot="no")
    disks = sub(root, "disks")
    for target in included:
        sub(disks, "disk", name=target, snapshot=request.kind)
    for target in excluded:
        sub(disks, "disk", name=target, snapshot="no")
    return ET.tostring(root, encoding="unicode")


def snapshot_facts(snap: t.Any, current: t.Optional[str]) -> t.Dict[str, t.Any]:
    root = parse_xml(snap.getXMLDesc(0), "snapshot XML")
    disks = root.findall("disks/disk")
    memory = root.find("memory")
    parent = root.findtext("parent/name")
    kinds = {d.get("snapshot") for d in disks} - {"no", None}
    return {
        "name": snap.getName(),
        "created": int(root.findtext("creationTime") or 0),
        "state": root.findtext("state"),
        "description": root.findtext("description"),
        "parent": parent,
        "current": snap.getName() == current,
        "kind": "external" if "external" in kinds else "internal",
        "memory": memory is not None and memory.get("snapshot") not in ("no", None),
        "disks": [d.get("name") for d in disks if d.get("snapshot") not in ("no",)],
        "excluded_disks": [d.get("name") for d in disks if d.get("snapshot") == "no"],
    }


@dataclasses.dataclass
class SnapshotActual:
    """The domain as the snapshot needs it: its XML, whether it runs, its snapshots and the current one."""

    domain_xml: str
    active: bool
    agent_connected: bool = False
    snapshots: t.Dict[str, str] = dataclasses.field(default_factory=dict)  # name -> state it was taken in
    current: t.Optional[str] = None
    files: t.Dict[str, ExternalSnapshot] = dataclasses.field(default_factory=dict)  # name -> its overlays, bases


def plan_snapshot(request: SnapshotRequest, actual: SnapshotActual) -> Plan:
    """Create, revert to or delete one snapshot (steps ``create``, ``revert``, ``delete``)."""
    plan = Plan("snapshot", request.name)
    plan.locator = {"domain": request.domain}
    exists = request.name in actual.snapshots
    if request.state == "present" and not exists:
        _plan_creation(plan, request, actual)
    elif request.state in ("current", "reverted"):
        if not exists:
            raise ConflictError(f"domain {request.domain!r} has no snapshot {request.name!r}; create it first")
        # current: a declared state, so a snapshot that is current already is left as it is; reverted: the
        # rollback, done on every run - the guest may have changed since the snapshot became current.
        if request.state == "reverted" or actual.current != request.name:
            _plan_revert(plan, request, actual)
    elif request.state == "absent" and exists:
        plan.add(f"delete snapshot {request.name} of {request.domain}", step=Step("delete"))
    return plan


def _plan_creation(plan: Plan, request: SnapshotRequest, actual: SnapshotActual) -> None:
    included, excluded, kind = disk_choice(actual.domain_xml, request)
    chosen = dataclasses.replace(request, kind=kind)
    if chosen.quiesce is None:
        chosen.quiesce = kind == "external" and actual.agent_connected
    detail = f"disks {', '.join(included)}" + (f"; left out {', '.join(excluded)}" if excluded else "")
    detail += "; with memory" if chosen.memory else ""
    detail += "; quiesced by the guest agent" if chosen.quiesce else ""
    plan.add(
        f"create {kind} snapshot {request.name} of {request.domain} ({detail})",
        step=Step(
            "create",
            {
                "xml": snapshot_xml(chosen, included, excluded),
                "disk_only": kind == "external" and not chosen.memory,
                "quiesce": bool(chosen.quiesce),
                "live": kind == "external" and chosen.memory and actual.active,
            },
        ),
    )


def _plan_revert(plan: Plan, request: SnapshotRequest, actual: SnapshotActual) -> None:
    taken = actual.snapshots[request.name]
    if actual.active and taken in ("shutoff", "disk-snapshot") and not request.force:
        raise UnsafeOperation(
            f"reverting running domain {request.domain!r} to snapshot {request.name!r} (taken while it was "
            f"{taken}) stops it and loses its current memory; set force: true, or shut it down first",
            "force",
        )
    external = actual.files.get(request.name)
    if external is not None and external.layers:
        _plan_external_revert(plan, request, actual, external)
        return
    plan.add(f"revert {request.domain} to snapshot {request.name}", step=Step("revert", {"force": request.force}))


def _plan_external_revert(
    plan: Plan, request: SnapshotRequest, actual: SnapshotActual, external: ExternalSnapshot
) -> None:
    """libvirt 9.0 refuses this revert: each disk gets a new, empty overlay on the snapshot's base instead."""
    name, domain = request.name, request.domain
    if external.memory:
        raise ConflictError(
            f"snapshot {name!r} of {domain!r} saved the guest's memory in a file, which libvirt 9.0 cannot restore; "
            "reverting only the disks would not give back that snapshot - revert to a disk-only snapshot"
        )
    later = built_on(name, actual.files)
    if later:
        raise ConflictError(
            f"snapshot {later[0]!r} of {domain!r} was taken on top of snapshot {name!r}; reverting to {name!r} "
            f"would throw away the overlay {later[0]!r} is built on - revert to {later[0]!r} or delete it first"
        )
    overlays = ", ".join(f"{layer.target} on {layer.base}" for layer in external.layers)
    plan.add(
        f"revert {domain} to snapshot {name} (external: new empty overlays for {overlays})",
        step=Step("revert_external", {"layers": [dataclasses.asdict(layer) for layer in external.layers]}),
    )
