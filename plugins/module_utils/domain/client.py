"""libvirt I/O for domains: read the actual domain, carry out a plan's steps, wait for states."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import os
import time
import typing as t
import xml.etree.ElementTree as ET

from .._core.client import LibvirtClient, libvirt, libvirt_errors, still_there, translate
from .._core.cpuset import parse_cpuset
from .._core.errors import NotFoundError, WaitTimeout
from .._core.executor import Executor
from .._core.plan import Plan, Step
from .._core.state_model import state_name
from .._core.xmlutil import local_xml, parse_xml
from ..host.model import uri_is_local
from .cluster_model import CLUSTER_NS, CLUSTER_PREFIX, ClusterPolicy, cluster_policy_element
from .config_store import with_stored_passwords
from .limits_client import LimitSteps
from .metadata_model import METADATA_NS, METADATA_PREFIX, metadata_element
from .model import DomainSpec
from .plan import DomainActual, runtime
from .single_devices_model import LEASE_LOCKSPACE

POLL = 0.25


def _flag(name: str) -> int:
    """A libvirt flag by name, 0 where this libvirt does not know it."""
    return int(getattr(libvirt, name, 0))


class DomainExecutor(LimitSteps, Executor):
    """Reads domains and applies domain plans over one connection."""

    def __init__(self, client: LibvirtClient) -> None:
        self.client = client
        self.conn = client.conn
        self.warnings: t.List[str] = []
        self.removed_storage: t.List[str] = []
        # Storage paths the peers' domains use (-> "domain X on host"): never "owned" by this domain.
        self.used_on_peers: t.Dict[str, str] = {}
        # Seconds a live device change may take before the task gives up on the guest's QEMU.
        self.device_timeout: float = 120
        # Snapshot documents (and whether current) kept across a recreation, oldest first.
        self._carried_snapshots: t.List[t.Tuple[str, bool]] = []

    def read(self, name: str) -> DomainActual:
        """The domain's persistent definition (secrets included when allowed), state and autostart."""
        dom = self.client.domain(name)
        if dom is None:
            return DomainActual()
        try:
            return self._read_found(dom, name)
        except NotFoundError:
            # Undefined by someone else between the lookup and the reads (another play, a migration away).
            return DomainActual()

    def _read_found(self, dom: t.Any, name: str) -> DomainActual:
        with libvirt_errors(f"read domain {name!r}"):
            flags = libvirt.VIR_DOMAIN_XML_INACTIVE
            if not self.client.readonly:
                flags |= libvirt.VIR_DOMAIN_XML_SECURE  # graphics passwords compare, never shown
            xml = dom.XMLDesc(flags)
            if self.client.readonly:
                xml = with_stored_passwords(self.client.uri, name, xml) or xml
            state = state_name(dom.state()[0])
            persistent = bool(dom.isPersistent())
            autostart = bool(dom.autostart()) if persistent else False
            keeps = _what_it_keeps(dom, parse_xml(xml, "current domain XML"))
            active = dom.isActive()
            if active:
                self._settled(dom, name)
            live_xml = dom.XMLDesc(0) if active else None
        spec = DomainSpec.from_xml(xml, "current domain XML")
        live = DomainSpec.from_xml(live_xml, "live domain XML") if live_xml else None
        return DomainActual(spec, xml, state, persistent, autostart, keeps=keeps, live=live)

    def _settled(self, dom: t.Any, name: str) -> None:
        """Wait while the guest's monitor is busy with an earlier call (an attach an earlier run gave up on, whose
        QEMU answers only now): the live definition read after it is the one the next change meets."""
        occupied = _flag("VIR_DOMAIN_CONTROL_OCCUPIED")
        deadline = time.monotonic() + self.device_timeout
        while dom.controlInfo(0)[0] == occupied:
            if time.monotonic() > deadline:
                raise WaitTimeout(
                    f"read domain {name!r}: its QEMU has been busy with an earlier call for over "
                    f"{self.device_timeout:g} s (is it stopped or hung?); run again once it answers"
                )
            time.sleep(0.2)

    def names(self) -> t.List[str]:
        """The names of every domain on this hypervisor."""
        with libvirt_errors("list domains"):
            return [dom.name() for dom in self.conn.listAllDomains(0)]

    def pool_dirs(self) -> t.List[str]:
        """The target directory of every storage pool defined here (where host files of guests belong)."""
        with libvirt_errors(f"list the storage pools of {self.client.uri}"):
            documents = still_there(self.conn.listAllStoragePools(0), lambda p: p.XMLDesc(0))
            targets = [parse_xml(xml).findtext("target/path") for xml in documents]
        return [path for path in targets if path]

    def host_cpus(self) -> int:
        """Number of host CPUs (for pinning checks and CPU maps)."""
        with libvirt_errors("read host CPUs"):
            return int(self.conn.getInfo()[2])

    def _dom(self, name: str) -> t.Any:
        return self.client.call(f"look up domain {name!r}", self.conn.lookupByName, name)

    def _step_define(self, plan: Plan, step: Step) -> None:
        name = plan.name
        dom = self.client.call(f"define domain {name!r}", self.conn.defineXML, step.args["xml"])
        if step.args.get("restore_snapshots"):
            for xml, current in self._carried_snapshots:
                flags = _flag("VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE")
                if current:
                    flags |= _flag("VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT")
                self.client.call(f"restore the snapshots of domain {name!r}", dom.snapshotCreateXML, xml, flags)
            self._carried_snapshots = []

    def _step_autostart(self, plan: Plan, step: Step) -> None:
        name = plan.name
        dom = self._dom(name)
        self.client.call(f"set autostart of domain {name!r}", dom.setAutostart, int(step.args["enabled"]))

    def _step_start(self, plan: Plan, step: Step) -> None:
        name = plan.name
        dom = self._dom(name)
        self._lease_file(dom)
        try:
            dom.create()
        except libvirt.libvirtError as err:
            # Another run started it between our read and our start: the state we want is there.
            if not dom.isActive():
                raise translate(err, f"start domain {name!r}") from None
        self._wait(name, lambda s: s == "running", 60, "to run")

    def _lease_file(self, dom: t.Any) -> None:
        """virtlockd locks a lease file that must exist: make it when the hypervisor is this machine."""
        spec = DomainSpec.from_xml(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        if not spec.lease or not uri_is_local(self.client.uri):
            return
        space = os.path.join(spec.lease, LEASE_LOCKSPACE)
        os.makedirs(space, exist_ok=True)
        with open(os.path.join(space, spec.name or ""), "a", encoding="ascii"):
            pass  # an empty file: the lock, not the content, is what counts

    def _step_suspend(self, plan: Plan, step: Step) -> None:
        name = plan.name
        self.client.call(f"pause domain {name!r}", self._dom(name).suspend)

    def _step_resume(self, plan: Plan, step: Step) -> None:
        name = plan.name
        self.client.call(f"resume domain {name!r}", self._dom(name).resume)

    def _step_destroy(self, plan: Plan, step: Step) -> None:
        name = plan.name
        self.client.call(f"destroy domain {name!r}", self._dom(name).destroy)

    def _step_shutdown(self, plan: Plan, step: Step) -> None:
        name = plan.name
        timeout = float(step.args["timeout"])
        dom = self._dom(name)
        has_agent = DomainSpec.from_xml(dom.XMLDesc(0)).guest_agent
        deadline = time.monotonic() + timeout
        tried = ["the ACPI power button"]
        try:
            dom.shutdownFlags(_flag("VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN"))
        except libvirt.libvirtError as err:
            if err.get_error_code() not in (libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_SUPPORT):
                raise translate(err, f"shut down domain {name!r}") from None
            # Drivers without a choice of method (the test driver) shut down their own way.
            tried = ["the hypervisor's default shutdown"]
            self.client.call(f"shut down domain {name!r}", dom.shutdown)
        first = timeout / 2 if has_agent else timeout
        if self._off_within(name, first):
            return
        if has_agent:
            tried.append("the guest agent")
            try:
                dom.shutdownFlags(_flag("VIR_DOMAIN_SHUTDOWN_GUEST_AGENT"))
            except libvirt.libvirtError as err:
                tried[-1] += f" (not answering: {err.get_error_message()})"
            if self._off_within(name, max(0.0, deadline - time.monotonic())):
                return
        if step.args.get("force"):
            self.warnings.append(f"domain {name} ignored {' and '.join(tried)} for {timeout:g} s; destroyed it (force)")
            self.client.call(f"destroy domain {name!r}", dom.destroy)
            return
        raise WaitTimeout(
            f"domain {name} did not shut down within {timeout:g} s after {' and '.join(tried)}; "
            "set force=true to power it off after the timeout, or raise timeout"
        )

    def _step_undefine(self, plan: Plan, step: Step) -> None:
        name = plan.name
        dom = self.client.domain(name)
        if dom is None:
            return  # a transient domain is gone once destroyed
        discard = set(step.args.get("discard") or [])
        with libvirt_errors(f"undefine domain {name!r}"):
            root = parse_xml(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            if step.args.get("carry_snapshots"):
                self._carried_snapshots = _snapshot_documents(dom)
            flags = self._undefine_flags(dom, root, discard)
            owned = self._owned_storage(name, root) if step.args.get("remove_storage") == "owned" else []
            if dom.isPersistent():
                dom.undefineFlags(flags)
            for vol, path in owned:
                vol.delete(0)
                self.removed_storage.append(path)

    def _undefine_flags(self, dom: t.Any, root: ET.Element, discard: t.AbstractSet[str]) -> int:
        """The planner asked for consent to what goes; NVRAM and TPM state stay unless discarded."""
        flags = 0
        if dom.hasManagedSaveImage(0):
            flags |= _flag("VIR_DOMAIN_UNDEFINE_MANAGED_SAVE")
        if dom.snapshotNum(0) > 0:
            flags |= _flag("VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA")  # kept as documents when carried
        if hasattr(dom, "listAllCheckpoints") and dom.listAllCheckpoints(0):
            flags |= _flag("VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA")
        if uses_nvram(root):
            flags |= _flag("VIR_DOMAIN_UNDEFINE_NVRAM" if "nvram" in discard else "VIR_DOMAIN_UNDEFINE_KEEP_NVRAM")
        if root.find("devices/tpm/backend[@type='emulator']") is not None:
            flags |= _flag("VIR_DOMAIN_UNDEFINE_TPM" if "tpm" in discard else "VIR_DOMAIN_UNDEFINE_KEEP_TPM")
        return flags

    def _owned_storage(self, name: str, root: ET.Element) -> t.List[t.Tuple[t.Any, str]]:
        """Volumes only this domain uses: never shareable, read-only or CD-ROM disks, never one
        that another domain references."""
        others = set()
        definitions = still_there(
            self.conn.listAllDomains(0), lambda d: (d.name(), d.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        )
        for other, xml in definitions:
            if other == name:
                continue
            for disk in parse_xml(xml).findall("devices/disk"):
                vol = self._volume_of(disk)
                source = disk.find("source")
                others.add(
                    vol.path()
                    if vol is not None
                    else (source.get("file") or source.get("dev") if source is not None else None)
                )
        owned = []
        for disk in root.findall("devices/disk"):
            if (
                disk.get("device", "disk") != "disk"
                or disk.find("shareable") is not None
                or disk.find("readonly") is not None
            ):
                continue
            vol = self._volume_of(disk)
            if vol is None:
                continue
            path = vol.path()
            if path in others:
                self.warnings.append(f"kept {path}: another domain uses it")
                continue
            if path in self.used_on_peers:
                self.warnings.append(f"kept {path}: {self.used_on_peers[path]} uses it")
                continue
            owned.append((vol, path))
        return owned

    def _volume_of(self, disk: ET.Element) -> t.Any:
        source = disk.find("source")
        if source is None:
            return None
        try:
            if source.get("pool") and source.get("volume"):
                return self.conn.storagePoolLookupByName(source.get("pool")).storageVolLookupByName(
                    source.get("volume")
                )
            path = source.get("file") or source.get("dev")
            return self.conn.storageVolLookupByPath(path) if path else None
        except libvirt.libvirtError:
            return None

    def _step_set_memory(self, plan: Plan, step: Step) -> None:
        name = plan.name
        kib = int(step.args["bytes"]) // 1024
        dom = self._dom(name)
        self.client.call(f"set memory of domain {name!r}", dom.setMemoryFlags, kib, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def _step_set_vcpus(self, plan: Plan, step: Step) -> None:
        name = plan.name
        dom = self._dom(name)
        self.client.call(
            f"set vCPUs of domain {name!r}", dom.setVcpusFlags, int(step.args["count"]), libvirt.VIR_DOMAIN_AFFECT_LIVE
        )

    def _cpumap(self, cpuset: t.Optional[str]) -> t.Tuple[bool, ...]:
        count = self.host_cpus()
        chosen = set(range(count)) if cpuset is None else set(parse_cpuset(cpuset))
        return tuple(cpu in chosen for cpu in range(count))

    def _step_pin_vcpu(self, plan: Plan, step: Step) -> None:
        name = plan.name
        dom = self._dom(name)
        cpumap = self._cpumap(step.args["cpuset"])
        self.client.call(
            f"pin vCPU {step.args['vcpu']} of domain {name!r}",
            dom.pinVcpuFlags,
            int(step.args["vcpu"]),
            cpumap,
            libvirt.VIR_DOMAIN_AFFECT_LIVE,
        )

    def _step_pin_iothread(self, plan: Plan, step: Step) -> None:
        dom = self._dom(plan.name)
        cpumap = self._cpumap(step.args["cpuset"])
        action = f"pin IOThread {step.args['iothread']} of domain {plan.name!r}"
        self.client.call(action, dom.pinIOThread, int(step.args["iothread"]), cpumap, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def _step_pin_emulator(self, plan: Plan, step: Step) -> None:
        name = plan.name
        dom = self._dom(name)
        cpumap = self._cpumap(step.args["cpuset"])
        self.client.call(f"pin emulator of domain {name!r}", dom.pinEmulator, cpumap, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def _step_set_metadata(self, plan: Plan, step: Step) -> None:
        dom = self._dom(plan.name)
        kind, value = step.args["kind"], step.args["value"]
        if kind in ("title", "description"):
            which = libvirt.VIR_DOMAIN_METADATA_TITLE if kind == "title" else libvirt.VIR_DOMAIN_METADATA_DESCRIPTION
            args: t.Tuple[t.Any, ...] = (which, value, None, None)
        elif kind == "cluster":
            element = cluster_policy_element(ClusterPolicy.from_params(value))
            args = (libvirt.VIR_DOMAIN_METADATA_ELEMENT, local_xml(element), CLUSTER_PREFIX, CLUSTER_NS)
        else:
            payload = local_xml(metadata_element(value)) if value else None  # None removes the element
            args = (libvirt.VIR_DOMAIN_METADATA_ELEMENT, payload, METADATA_PREFIX, METADATA_NS)
        action = f"set live {kind} of domain {plan.name!r}"
        self.client.call(action, dom.setMetadata, *args, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def _step_attach(self, plan: Plan, step: Step) -> None:
        name = plan.name
        dom = self._dom(name)
        live = libvirt.VIR_DOMAIN_AFFECT_LIVE
        action = f"attach a device to domain {name!r}"
        self.client.bounded(action, self.device_timeout, dom.attachDeviceFlags, step.args["xml"], live)

    def _step_detach(self, plan: Plan, step: Step) -> None:
        name = plan.name
        dom = self._dom(name)
        live = libvirt.VIR_DOMAIN_AFFECT_LIVE
        action = f"detach a device from domain {name!r}"
        self.client.bounded(action, self.device_timeout, dom.detachDeviceFlags, step.args["xml"], live)

    def _step_update_device(self, plan: Plan, step: Step) -> None:
        name = plan.name
        dom = self._dom(name)
        live = libvirt.VIR_DOMAIN_AFFECT_LIVE
        action = f"update a device of domain {name!r}"
        self.client.bounded(action, self.device_timeout, dom.updateDeviceFlags, step.args["xml"], live)

    def _state(self, name: str) -> t.Optional[str]:
        dom = self.client.domain(name)
        if dom is None:
            return None
        try:
            return state_name(dom.state()[0])
        except libvirt.libvirtError:
            return None

    def _off_within(self, name: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            if runtime(self._state(name)) in ("off", "absent"):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)

    def _wait(self, name: str, done: t.Callable[[t.Optional[str]], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not done(self._state(name)):
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"domain {name} did not come {what} within {seconds:g} s (state: {self._state(name)})"
                )
            time.sleep(POLL)


def running_on(peers: t.Sequence[LibvirtClient], name: str, uuid: t.Optional[str]) -> t.List[str]:
    """The peers where the domain (by name, or by UUID under another name) runs now."""
    hosts = []
    for peer in peers:
        dom = peer.domain(name) or (peer.domain_by_uuid(uuid) if uuid else None)
        if dom is not None and peer.call(f"read the state of domain {name!r} on {peer.uri}", dom.isActive):
            hosts.append(peer.uri)
    return hosts


def _what_it_keeps(dom: t.Any, root: ET.Element) -> t.FrozenSet[str]:
    """Which of the data beside its disks the domain has (see plan.DISCARDABLE)."""
    keeps = set()
    if uses_nvram(root):
        keeps.add("nvram")
    if root.find("devices/tpm/backend[@type='emulator']") is not None:
        keeps.add("tpm")
    if dom.hasManagedSaveImage(0):
        keeps.add("managed_save")
    if dom.snapshotNum(0) > 0:
        keeps.add("snapshots")
    if hasattr(dom, "listAllCheckpoints") and dom.listAllCheckpoints(0):
        keeps.add("checkpoints")
    return frozenset(keeps)


def uses_nvram(root: ET.Element) -> bool:
    """A UEFI domain: it has a variable store (NVRAM) file."""
    os_el = root.find("os")
    return os_el is not None and (
        os_el.get("firmware") == "efi"
        or os_el.find("nvram") is not None
        or os_el.find("loader[@type='pflash']") is not None
    )


def _snapshot_documents(dom: t.Any) -> t.List[t.Tuple[str, bool]]:
    """Every snapshot's XML (with the security-relevant parts libvirt needs to redefine it), oldest first."""
    flags = _flag("VIR_DOMAIN_SNAPSHOT_XML_SECURE")
    snaps = dom.listAllSnapshots(0)
    current = dom.snapshotCurrent(0).getName() if dom.hasCurrentSnapshot(0) else None
    found = []
    for snap in snaps:
        xml = snap.getXMLDesc(flags)
        created = int(parse_xml(xml, "snapshot XML").findtext("creationTime") or 0)
        found.append((created, xml, snap.getName() == current))
    return [(xml, is_current) for _created, xml, is_current in sorted(found, key=lambda f: f[0])]
