"""libvirt I/O of domain snapshots: read, create, revert, delete."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import LibvirtClient, libvirt, libvirt_errors
from .._core.errors import ConflictError
from .._core.xmlutil import parse_xml
from .plan import SnapshotRequest, snapshot_facts


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
