"""Pure rules of a disk shared by several domains: what makes it safe, and each domain's plan."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import ConflictError, SpecError
from .._core.plan import Change, Plan, Step
from .._core.xmlutil import parse_xml, to_string
from ..domain.device_model import DiskSource, DiskSpec, check_shareable
from ..domain.model import DomainSpec
from ..domain.plan import DomainActual, DomainRequest, plan_domain, runtime
from ..storage.plan import VolumeActual, VolumeRequest, plan_volume
from ..storage.usage_model import DiskUse, storage_ref
from ..storage.volume_model import VolumeSpec


@dataclasses.dataclass
class Attachment:
    """A domain whose definition (or running config) carries the disk."""

    domain: str
    target: str
    shareable: bool
    persistent: bool
    live: bool
    host: str = ""  # set for a domain on a peer hypervisor


def shared_disk_spec(params: t.Mapping[str, t.Any], source: DiskSource) -> DiskSpec:
    """The disk every domain gets: raw, shareable, uncached, never snapshotted."""
    fmt = params.get("format") or "raw"
    cache = params.get("cache") or "none"
    check_shareable(fmt, cache, "")
    io = "native" if source.protocol is None else None
    device = params.get("device") or "disk"
    if params.get("reservations") == "managed":
        if device != "lun" or source.dev is None:
            raise SpecError(
                "reservations",
                "managed reservations (qemu-pr-helper) work for device=lun on a host block device; an iSCSI "
                "network LUN passes reservations to its target by itself - leave reservations unset there",
            )
        source = source.replace(reservations="managed")
    disk = DiskSpec(
        target=params["target"],
        bus=params.get("bus") or ("scsi" if device == "lun" else "virtio"),
        device=device,
        source=source,
        format="raw",
        cache=cache,
        io=io,
        serial=params.get("serial"),
        wwn=params.get("wwn"),
        readonly=bool(params.get("readonly")),
        shareable=True,
        snapshot="no",
    )
    disk.validate("")
    return disk


def same_source(a: t.Optional[DiskSource], b: t.Optional[DiskSource], path: t.Optional[str]) -> bool:
    """True when two disk sources are the same storage (by pool/volume, path or network name)."""
    if a is None or b is None:
        return False
    if a.pool and a.volume and (a.pool, a.volume) == (b.pool, b.volume):
        return True
    if path and path in (b.file, b.dev):
        return True
    return bool(a.protocol and (a.protocol, a.name) == (b.protocol, b.name))


def check_asymmetric(attachments: t.Sequence[Attachment], name: str) -> None:
    """Refuse when a domain carries the same storage without <shareable/>."""
    for att in attachments:
        if not att.shareable:
            where = f" on {att.host}" if att.host else ""
            raise ConflictError(
                f"shared disk {name}: domain {att.domain}{where} already uses it as {att.target} without <shareable/>; "
                "sharing it asymmetrically would let libvirt relabel the file and cut that domain off - "
                f"list {att.domain} in domains (it then gets the shared settings) or detach it there first"
            )


def domain_plan(
    domain: str,
    actual: DomainActual,
    disk: DiskSpec,
    carry: bool,
    path: t.Optional[str],
    live: t.Sequence[DiskSpec] = (),
) -> Plan:
    """The plan that makes ``domain`` carry ``disk`` (carry) or not; its other disks stay as they are.

    A running domain is compared live as well: a disk its definition has but the running guest lacks (a
    hot-plug that failed before) is plugged now, and one it still has live after leaving the definition
    is unplugged.
    """
    if actual.spec is None:
        raise SpecError("domains", f"no domain {domain!r}; define it first (sharedvirt.kvm.domain)")
    keep = []
    for have in actual.spec.disks or []:
        if same_source(disk.source, have.source, path):
            continue
        if carry and have.target == disk.target:
            raise ConflictError(
                f"domain {domain}: target {disk.target} is taken by another disk; choose another target for the "
                "shared disk"
            )
        keep.append(have)
    disks = keep + ([disk] if carry else [])
    marked = set(actual.spec.shared_disks or []) - {disk.target or ""} | ({disk.target or ""} if carry else set())
    desired = DomainSpec(name=domain, disks=disks, shared_disks=sorted(marked))
    plan = plan_domain(desired, DomainRequest(state="present"), actual)
    if not plan.steps and sorted(marked) != sorted(actual.spec.shared_disks or []):
        # Attached before the marker existed (or by hand): mark it, so the domain module leaves it alone.
        xml = to_string(desired.render(parse_xml(actual.xml or "", "current domain XML")))
        plan.add(
            f"mark disk {disk.target} of domain {domain} as attached by shared_disk",
            Change("shared_disks", actual.spec.shared_disks or [], sorted(marked)),
            step=Step("define", {"xml": xml}),
        )
    if runtime(actual.state) in ("running", "paused") and not any(s.op in ("attach", "detach") for s in plan.steps):
        _plan_live_repair(plan, disk, carry, path, live)
    return plan


def _plan_live_repair(
    plan: Plan, disk: DiskSpec, carry: bool, path: t.Optional[str], live: t.Sequence[DiskSpec]
) -> None:
    plugged = [d for d in live if same_source(disk.source, d.source, path)]
    if carry and not plugged:
        plan.add(
            f"attach disk disks[target={disk.target}] to running {plan.name} (its definition has it, the guest not)",
            Change("disks", None, disk.to_dict(), item=f"target={disk.target}"),
            step=Step("attach", {"xml": to_string(disk.to_element())}),
        )
    elif not carry:
        for gone in plugged:
            plan.add(
                f"detach disk disks[target={gone.target}] from running {plan.name} (left in the guest)",
                Change("disks", gone.to_dict(), None, item=f"target={gone.target}"),
                step=Step("detach", {"xml": to_string(gone.to_element())}),
            )


@dataclasses.dataclass
class SharedDiskRequest:
    """The module's options, with the disk every domain gets already built and checked."""

    name: str  # pool/volume, or protocol:name
    disk: DiskSpec
    domains: t.List[str]
    state: str = "present"
    detach_others: bool = False
    delete_volume: bool = False
    volume: t.Optional[t.Tuple[str, str]] = None  # (pool, name) of a volume disk
    capacity: t.Optional[int] = None  # to create a missing volume
    # Check mode: a missing domain or volume may come from an earlier task of the same run; predict, warn -
    # unless an earlier step of the same task declares it (``expected``: ("domain", name), ("volume", pool/name)).
    check_mode: bool = False
    expected: t.FrozenSet[t.Tuple[str, str]] = frozenset()
    pool_ahead: bool = False  # check mode: the volume's pool is not there yet, so neither is the volume


@dataclasses.dataclass
class Carrier:
    """One domain of the host as the shared disk sees it: its definition, state and live disks."""

    actual: DomainActual
    live: t.List[DiskSpec] = dataclasses.field(default_factory=list)

    @property
    def running(self) -> bool:
        return runtime(self.actual.state) in ("running", "paused")


@dataclasses.dataclass
class SharedDiskActual:
    """One snapshot of the host: the volume (for a volume disk) and every domain."""

    uri: str
    domains: t.Dict[str, Carrier]
    volume: t.Optional[VolumeActual] = None
    # The disks of the peers' domains (peers: the other hypervisors that see the same storage).
    peer_disks: t.List[DiskUse] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class SharedDiskPlan:
    """The volume's plan and each domain's plan, in the order they run, and the predicted facts."""

    plans: t.List[Plan]
    facts: t.Dict[str, t.Any]
    warnings: t.List[str] = dataclasses.field(default_factory=list)

    def result(self, diff: bool) -> t.Dict[str, t.Any]:
        actions = [a for p in self.plans for a in p.actions]
        out: t.Dict[str, t.Any] = {
            "changed": bool(actions),
            "actions": actions,
            "reboot_required": any(p.reboot_required for p in self.plans),
            "shared_disk": self.facts,
        }
        if diff:
            out["diff"] = [p.diff() for p in self.plans if p.changed]
        return out


def reservations_support(disk: DiskSpec) -> str:
    """How SCSI persistent reservations (cluster fencing) reach the storage for this disk."""
    if disk.device != "lun":
        return "none: a device=disk has no SCSI reservations; use device=lun"
    if disk.source is not None and disk.source.reservations == "managed":
        return "managed: qemu-pr-helper issues them on the host block device"
    if disk.source is not None and disk.source.protocol == "iscsi":
        return "passthrough: QEMU's iSCSI initiator sends them to the target"
    return "none: set reservations=managed for a host block device LUN"


def plan_shared_disk(request: SharedDiskRequest, actual: SharedDiskActual) -> SharedDiskPlan:
    """Every step that brings the volume and the domains to the request, checked before any runs."""
    warnings: t.List[str] = []
    path, capacity = _volume_figures(request, actual)
    disk = request.disk
    plans = _volume_creation(request, actual, warnings)
    attachments = _attachments(disk, actual, path)
    attached = {name: (att.persistent, att.live) for name, att in attachments.items()}
    present = request.state == "present"
    elsewhere = _peer_carriers(disk, actual, path)
    if present:
        check_asymmetric([att for name, att in attachments.items() if name not in request.domains], request.name)
        check_asymmetric([att for att in elsewhere if not att.shareable], request.name)
    for i, name in enumerate(request.domains):
        carrier = actual.domains.get(name)
        if carrier is None or carrier.actual.spec is None:
            missing = SpecError(
                f"domains[{i}]", f"no domain {name!r} on {actual.uri}; define it first (sharedvirt.kvm.domain)"
            )
            if not request.check_mode:
                raise missing
            if ("domain", name) not in request.expected:
                warnings.append(f"{missing} (check mode goes on: an earlier task of this run may define it)")
            plans.append(_predicted_attachment(name, disk, present))
            attached[name] = (present, False)
            continue
        plans.append(domain_plan(name, carrier.actual, disk, present, path, carrier.live))
        attached[name] = (present, present and carrier.running)
    if present and request.detach_others:
        for name in sorted(set(attached) - set(request.domains)):
            carrier = actual.domains[name]
            plans.append(domain_plan(name, carrier.actual, disk, False, path, carrier.live))
            attached[name] = (False, False)
    plans += _volume_removal(request, actual, attached, elsewhere)
    carried = [{"name": n, "persistent": p, "live": lv} for n, (p, lv) in sorted(attached.items()) if p or lv]
    facts = {
        "name": request.name,
        "path": path,
        "source": disk.source.to_dict() if disk.source is not None else None,
        "format": "raw",
        "capacity": capacity,
        "target": disk.target,
        "device": disk.device,
        "reservations": reservations_support(disk),
        "serial": disk.serial,
        "wwn": disk.wwn,
        "domains": carried,
    }
    return SharedDiskPlan(plans, facts, warnings)


def _predicted_attachment(name: str, disk: DiskSpec, present: bool) -> Plan:
    """Check mode's view of a domain an earlier task defines: it gets the disk (nothing to detach)."""
    plan = Plan("domain", name)
    if present:
        plan.add(
            f"attach shared disk {disk.target} to domain {name} once it is defined",
            Change("disks", None, disk.to_dict(), item=f"target={disk.target}"),
        )
    return plan


def _volume_figures(request: SharedDiskRequest, actual: SharedDiskActual) -> t.Tuple[t.Optional[str], t.Optional[int]]:
    spec = actual.volume.spec if actual.volume is not None else None
    if spec is None:
        return None, request.capacity if request.state == "present" else None
    if spec.format not in (None, "raw"):
        raise SpecError(
            "format",
            f"volume {request.name} is {spec.format}; a {spec.format} disk cannot be shared by several domains for "
            "writing: QEMU takes an exclusive write lock on it and libvirt refuses <shareable/> for it; use a raw "
            "volume (convert the image, or create a new raw volume)",
        )
    return spec.path, spec.capacity


def _attachments(disk: DiskSpec, actual: SharedDiskActual, path: t.Optional[str]) -> t.Dict[str, Attachment]:
    """Each domain that carries the same storage (in its definition or live), with how it carries it."""
    found = {}
    for name, carrier in actual.domains.items():
        persistent = carrier.actual.spec.disks or [] if carrier.actual.spec is not None else []
        here = [d for d in persistent if same_source(disk.source, d.source, path)]
        now = [d for d in carrier.live if same_source(disk.source, d.source, path)]
        if here or now:
            first = (here or now)[0]
            found[name] = Attachment(name, first.target or "", bool(first.shareable), bool(here), bool(now))
    return found


def _volume_creation(request: SharedDiskRequest, actual: SharedDiskActual, warnings: t.List[str]) -> t.List[Plan]:
    if request.volume is None or actual.volume is None or actual.volume.spec is not None or request.state != "present":
        return []
    pool, name = request.volume
    if request.capacity is None:
        missing = SpecError(
            "capacity", f"volume {request.name} does not exist; give capacity to create it (raw, preallocated)"
        )
        if not request.check_mode:
            raise missing
        if ("volume", f"{pool}/{name}") not in request.expected:
            warnings.append(f"{missing} (check mode goes on: an earlier task of this run may create it)")
        return []
    wanted = VolumeSpec(name=name, format="raw", capacity=request.capacity)
    return [plan_volume(wanted, VolumeRequest(pool=pool, allocation="full"), actual.volume)]


def _volume_removal(
    request: SharedDiskRequest,
    actual: SharedDiskActual,
    attached: t.Mapping[str, t.Tuple[bool, bool]],
    elsewhere: t.Sequence[Attachment],
) -> t.List[Plan]:
    if request.state != "absent" or not request.delete_volume or request.volume is None or actual.volume is None:
        return []
    still = [name for name, (persistent, live) in sorted(attached.items()) if persistent or live]
    still += sorted({f"{att.domain} on {att.host}" for att in elsewhere})
    if still:
        raise ConflictError(
            f"shared disk {request.name}: domains {', '.join(still)} still reference it; detach it there (list them "
            "in domains) before delete_volume"
        )
    pool, name = request.volume
    # The listed domains of this hypervisor are detached earlier in this run; any other user refuses.
    users = [u for u in actual.volume.users if not (u.host == actual.uri and u.domain in request.domains)]
    volume = VolumeActual(actual.volume.spec, users)
    return [plan_volume(VolumeSpec(name=name), VolumeRequest(pool=pool, state="absent", host=actual.uri), volume)]


def _peer_carriers(disk: DiskSpec, actual: SharedDiskActual, path: t.Optional[str]) -> t.List[Attachment]:
    """Domains on the peers whose disk is the same storage (one entry per domain and target)."""
    if disk.source is None:
        return []
    mine = storage_ref(disk.source)
    found: t.Dict[t.Tuple[str, str, str], Attachment] = {}
    for use in actual.peer_disks:
        if use.layers and mine.same(use.layers[0], path):
            key = (use.host, use.domain, use.target)
            found.setdefault(key, Attachment(use.domain, use.target, use.shareable, True, use.active, use.host))
    return list(found.values())
