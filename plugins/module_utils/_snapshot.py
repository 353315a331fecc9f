# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.
"""Domain snapshots: which disks go in, the snapshot XML, and facts (pure), then libvirt I/O.

Shared disks (``<shareable/>``) never go into a snapshot: reverting one would roll back data other
guests rely on. They are excluded automatically; asking for one explicitly is refused with the reason.
"""

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from ._client import LibvirtClient, libvirt, libvirt_errors
from ._errors import ConflictError, SpecError
from ._model.names import validate_name
from ._model.xmlutil import parse_xml, sub


@dataclasses.dataclass
class SnapshotRequest:
    domain: str
    name: str
    state: str = "present"  # present, absent, current
    kind: str = "auto"  # auto, internal, external
    memory: bool = False
    disks: t.Optional[t.List[str]] = None  # targets to include; None: every disk that is not shared
    quiesce: t.Optional[bool] = None  # None: when the guest agent is connected
    description: t.Optional[str] = None


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


class SnapshotExecutor:
    def __init__(self, client: LibvirtClient) -> None:
        self.client = client

    def domain(self, name: str) -> t.Any:
        dom = self.client.domain(name)
        if dom is None:
            raise ConflictError(f"no domain {name!r} on {self.client.uri}")
        return dom

    def current(self, dom: t.Any) -> t.Optional[str]:
        with libvirt_errors(f"read the current snapshot of {dom.name()!r}"):
            if not dom.hasCurrentSnapshot(0):
                return None
            return str(dom.snapshotCurrent(0).getName())

    def find(self, dom: t.Any, name: str) -> t.Any:
        return self.client.snapshot(dom, name)

    def facts(self, dom: t.Any) -> t.List[t.Dict[str, t.Any]]:
        current = self.current(dom)
        with libvirt_errors(f"list the snapshots of {dom.name()!r}"):
            snaps = dom.listAllSnapshots(0)
            return sorted((snapshot_facts(s, current) for s in snaps), key=lambda f: (f["created"], f["name"]))

    def create(self, dom: t.Any, xml: str, request: SnapshotRequest) -> None:
        flags = 0
        if request.kind == "external" and not request.memory:
            flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
        if request.quiesce:
            flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE
        if request.kind == "external" and request.memory and dom.isActive():
            flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE
        with libvirt_errors(f"create snapshot {request.name!r} of {request.domain!r}"):
            dom.snapshotCreateXML(xml, flags)

    def agent_connected(self, dom: t.Any) -> bool:
        if not dom.isActive():
            return False
        channels = parse_xml(dom.XMLDesc(0), "domain XML").findall("devices/channel/target")
        return any(c.get("name") == "org.qemu.guest_agent.0" and c.get("state") == "connected" for c in channels)

    def revert(self, dom: t.Any, snap: t.Any, force: bool) -> None:
        flags = libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE if force else 0
        with libvirt_errors(f"revert {dom.name()!r} to snapshot {snap.getName()!r}"):
            dom.revertToSnapshot(snap, flags)

    def delete(self, snap: t.Any) -> None:
        with libvirt_errors(f"delete snapshot {snap.getName()!r}"):
            snap.delete(0)
