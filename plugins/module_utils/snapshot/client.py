"""libvirt I/O of domain snapshots: read, create, revert, delete."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import LibvirtClient, libvirt, libvirt_errors
from .._core.errors import ConflictError
from .._core.executor import Executor
from .._core.plan import Plan, Step
from .._core.xmlutil import parse_xml
from .plan import SnapshotActual, snapshot_facts


class SnapshotExecutor(Executor):
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

    def agent_connected(self, dom: t.Any) -> bool:
        if not dom.isActive():
            return False
        channels = parse_xml(dom.XMLDesc(0), "domain XML").findall("devices/channel/target")
        return any(c.get("name") == "org.qemu.guest_agent.0" and c.get("state") == "connected" for c in channels)

    def read(self, dom: t.Any) -> SnapshotActual:
        active = bool(dom.isActive())
        xml = dom.XMLDesc(0 if active else libvirt.VIR_DOMAIN_XML_INACTIVE)
        with libvirt_errors(f"list the snapshots of {dom.name()!r}"):
            taken = {s.getName(): snapshot_facts(s, None)["state"] for s in dom.listAllSnapshots(0)}
        return SnapshotActual(xml, active, self.agent_connected(dom), taken, self.current(dom))

    def _step_create(self, plan: Plan, step: Step) -> None:
        dom = self.domain(plan.locator["domain"])
        flags = 0
        if step.args["disk_only"]:
            flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
        if step.args["quiesce"]:
            flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE
        if step.args["live"]:
            flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE
        with libvirt_errors(f"create snapshot {plan.name!r} of {dom.name()!r}"):
            dom.snapshotCreateXML(step.args["xml"], flags)

    def _step_revert(self, plan: Plan, step: Step) -> None:
        dom = self.domain(plan.locator["domain"])
        flags = libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE if step.args["force"] else 0
        snap = self.find(dom, plan.name)
        with libvirt_errors(f"revert {dom.name()!r} to snapshot {plan.name!r}"):
            dom.revertToSnapshot(snap, flags)

    def _step_delete(self, plan: Plan, step: Step) -> None:
        snap = self.find(self.domain(plan.locator["domain"]), plan.name)
        if snap is not None:
            with libvirt_errors(f"delete snapshot {plan.name!r}"):
                snap.delete(0)
