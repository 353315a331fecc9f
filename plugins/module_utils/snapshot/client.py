"""libvirt I/O of domain snapshots: read, create, revert, delete."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import json
import os
import subprocess
import typing as t
import xml.etree.ElementTree as ET

from .._core.client import LibvirtClient, libvirt, libvirt_errors
from .._core.errors import ConflictError
from .._core.executor import Executor
from .._core.plan import Plan, Step
from .._core.xmlutil import parse_xml, to_string
from ..host.model import uri_is_local
from .external_model import chain_depths, read_external
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
            snaps = dom.listAllSnapshots(0)
            taken = {s.getName(): snapshot_facts(s, None)["state"] for s in snaps}
            files = {s.getName(): read_external(s.getXMLDesc(0)) for s in snaps}
        return SnapshotActual(xml, active, self.agent_connected(dom), taken, self.current(dom), files)

    def chain_depths(self, dom: t.Any) -> t.Dict[str, t.Optional[int]]:
        """Images below each disk's top one: from the running domain's XML, else qemu-img on this hypervisor
        (None for a stopped domain reached remotely, or a disk that is not a local file)."""
        if dom.isActive():
            return dict(chain_depths(dom.XMLDesc(0)))
        out: t.Dict[str, t.Optional[int]] = {}
        for disk in parse_xml(dom.XMLDesc(0), "domain XML").iterfind("devices/disk"):
            target, source = disk.find("target"), disk.find("source")
            path = source.get("file") if source is not None else None
            if target is None:
                continue
            out[target.get("dev", "")] = _image_depth(path) if path and uri_is_local(self.client.uri) else None
        return out

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

    def _step_revert_external(self, plan: Plan, step: Step) -> None:
        """Fresh overlays on the snapshot's bases, the definition on them, and the snapshot current again."""
        dom = self.domain(plan.locator["domain"])
        action = f"revert {dom.name()!r} to snapshot {plan.name!r}"
        if not uri_is_local(self.client.uri):
            raise ConflictError(
                f"{action}: libvirt 9.0 cannot revert external snapshots, and the collection makes the new overlays "
                f"with qemu-img on the hypervisor; run the task on it (a local uri), not through {self.client.uri}"
            )
        if dom.isActive():
            self.client.call(f"{action}: power it off (force)", dom.destroy)
        layers = step.args["layers"]
        for layer in layers:
            _fresh_overlay(action, layer["overlay"], layer["base"], layer["base_format"])
        with libvirt_errors(action):
            root = parse_xml(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE))
            for layer in layers:
                _point_disk_at(root, layer["target"], layer["overlay"])
            self.client.conn.defineXML(to_string(root))
            snap = dom.snapshotLookupByName(plan.name, 0)
            redefine = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
            dom.snapshotCreateXML(snap.getXMLDesc(libvirt.VIR_DOMAIN_SNAPSHOT_XML_SECURE), redefine)


def _fresh_overlay(action: str, overlay: str, base: str, base_format: str) -> None:
    """Replace ``overlay`` by an empty one on ``base`` in one rename: a killed run leaves the old or the new."""
    fresh = overlay + ".revert"
    command = ["qemu-img", "create", "-q", "-f", "qcow2", "-F", base_format, "-b", base, fresh]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ConflictError(f"{action}: qemu-img create {fresh} failed: {done.stderr.strip()}")
    os.replace(fresh, overlay)


def _point_disk_at(root: ET.Element, target: str, overlay: str) -> None:
    for disk in root.findall("devices/disk"):
        found = disk.find("target")
        if found is None or found.get("dev") != target:
            continue
        disk.set("type", "file")
        for old in disk.findall("source") + disk.findall("backingStore"):
            disk.remove(old)
        driver = disk.find("driver")
        if driver is not None:
            driver.set("type", "qcow2")
        disk.insert(1, ET.Element("source", {"file": overlay}))


def _image_depth(path: str) -> t.Optional[int]:
    done = subprocess.run(["qemu-img", "info", "-U", "--backing-chain", "--output=json", path],
                          capture_output=True, text=True, check=False)  # fmt: skip
    return len(json.loads(done.stdout)) - 1 if done.returncode == 0 else None
