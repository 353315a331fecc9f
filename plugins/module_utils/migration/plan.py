"""Where must a domain run, and may it get there? (pure: no libvirt)

The executor reads, for the domain and each hypervisor, only plain facts (``Placement``, ``DiskUse``,
``Destination``); this module decides: nothing to do, a live or offline migration, or a refusal
that names the object and the fix.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.errors import ConflictError, UnsafeOperation
from .._core.xmlutil import parse_xml
from ..domain.device_model import COHERENT_CACHE_MODES

COPY_MODES = ("none", "all", "incremental")


@dataclasses.dataclass(frozen=True)
class Placement:
    """The domain on one hypervisor: defined there, running there."""

    uri: str
    defined: bool
    active: bool


@dataclasses.dataclass(frozen=True)
class DiskUse:
    """One disk of the domain, as the migration sees it."""

    target: str
    path: t.Optional[str]  # file or block path; None for network disks
    network: bool  # rbd, iscsi, gluster, nfs, ...: reachable from any host
    protocol: t.Optional[str]
    pool: t.Optional[str]
    cache: t.Optional[str]
    readonly: bool
    shareable: bool
    volume: t.Optional[str] = None  # a pool volume's name (with ``pool``)

    @property
    def where(self) -> str:
        """Its path, or pool/volume."""
        return self.path or f"{self.pool}/{self.volume}"


# Pool types whose volumes live on network storage: a pool of the same name on another host is the same storage.
NETWORK_POOL_TYPES = frozenset({"iscsi", "iscsi-direct", "rbd", "gluster", "netfs", "sheepdog", "vstorage"})


@dataclasses.dataclass(frozen=True)
class Destination:
    """What the destination hypervisor offers the domain."""

    networks: t.FrozenSet[str]
    pools: t.FrozenSet[str]
    visible_paths: t.FrozenSet[str]  # disk paths the destination has as volumes (shared storage)
    pool_dirs: t.FrozenSet[str]  # target directories of its pools (where copied disks can land)
    cpu_compatible: t.Optional[bool] = None  # None: the domain names no CPU model to compare
    # pool/volume of the domain's volume disks that the destination has in a pool on network storage (iSCSI, RBD,
    # Gluster, NFS): the same storage under the same name.
    visible_volumes: t.FrozenSet[str] = frozenset()


@dataclasses.dataclass
class MigrationRequest:
    name: str
    destination: str
    copy_storage: str = "none"
    allow_unsafe: bool = False
    mode: str = "p2p"


@dataclasses.dataclass
class MigrationPlan:
    """``action`` is ``none``, ``live``, ``offline`` or ``undefine-stale``; ``source`` where it is now."""

    action: str
    source: t.Optional[str] = None
    unsafe: bool = False
    stale: t.List[str] = dataclasses.field(default_factory=list)  # sources still holding a stopped copy
    actions: t.List[str] = dataclasses.field(default_factory=list)


def disks_of(xml: str) -> t.List[DiskUse]:
    """The disks (not CD-ROMs without media) of a domain's XML."""
    root = parse_xml(xml, "domain XML")
    out = []
    for disk in root.findall("devices/disk"):
        source = disk.find("source")
        if source is None:
            continue  # an empty CD-ROM drive
        target = disk.find("target")
        driver = disk.find("driver")
        out.append(
            DiskUse(
                target=target.get("dev", "?") if target is not None else "?",
                path=source.get("file") or source.get("dev"),
                network=disk.get("type") == "network",
                protocol=source.get("protocol"),
                pool=source.get("pool"),
                cache=driver.get("cache") if driver is not None else None,
                readonly=disk.find("readonly") is not None,
                shareable=disk.find("shareable") is not None,
                volume=source.get("volume"),
            )
        )
    return out


def networks_of(xml: str) -> t.List[str]:
    root = parse_xml(xml, "domain XML")
    # A running domain's plain XML shows a network interface as type='bridge', its network kept in the source.
    names = [s.get("network", "") for s in root.findall("devices/interface/source[@network]")]
    return list(dict.fromkeys(n for n in names if n))


def cpu_model_xml(xml: str) -> t.Optional[str]:
    """The domain's <cpu> when it names a model the destination must offer (custom or host-model)."""
    cpu = parse_xml(xml, "domain XML").find("cpu")
    if cpu is None or cpu.find("model") is None:
        return None
    return ET.tostring(cpu, encoding="unicode")


def plan_migration(
    request: MigrationRequest,
    where: t.Sequence[Placement],
    xml: t.Optional[str],
    destination: t.Optional[Destination],
) -> MigrationPlan:
    """Decide; ``where[0]`` is the destination, the rest the other hypervisors searched."""
    name, dest = request.name, request.destination
    here, others = where[0], list(where[1:])
    running_elsewhere = [p for p in others if p.active]
    if len(running_elsewhere) > 1 or (here.active and running_elsewhere):
        uris = ", ".join(p.uri for p in ([here] if here.active else []) + running_elsewhere)
        raise ConflictError(f"domain {name!r} runs on more than one hypervisor ({uris}); stop the extra copies first")
    stale = [p.uri for p in others if p.defined and not p.active]
    if here.active or (here.defined and not running_elsewhere):
        plan = MigrationPlan("none" if not stale else "undefine-stale", stale=stale)
        plan.actions = [f"undefine the stopped copy of {name} on {uri}" for uri in stale]
        return plan
    if running_elsewhere:
        source = running_elsewhere[0].uri
        action = "live"
    elif stale:
        source, action = stale[0], "offline"
        stale = stale[1:]
    else:
        searched = ", ".join(p.uri for p in where)
        raise ConflictError(f"domain {name!r} is on none of {searched}; define it first or add its hypervisor")
    if xml is None or destination is None:
        raise ValueError("plan_migration needs the domain's XML and the destination's facts to move it")
    unsafe = _check(request, xml, destination, live=action == "live")
    plan = MigrationPlan(action, source=source, unsafe=unsafe, stale=stale)
    how = f"{request.mode}, copy_storage {request.copy_storage}" if action == "live" else "definition only"
    plan.actions = [f"{action}-migrate {name} from {source} to {dest} ({how})"]
    plan.actions += [f"undefine the stopped copy of {name} on {uri}" for uri in stale]
    return plan


def _check(request: MigrationRequest, xml: str, dest: Destination, live: bool) -> bool:
    """Refuse what cannot work (or is unsafe); True when libvirt's UNSAFE flag is needed and allowed."""
    name, uri = request.name, request.destination
    missing = [n for n in networks_of(xml) if n not in dest.networks]
    if missing:
        raise ConflictError(
            f"domain {name!r} uses network {missing[0]!r}, which {uri} does not have; "
            "define it there under the same name first"
        )
    if dest.cpu_compatible is False:
        raise ConflictError(f"the CPU model of domain {name!r} is not available on {uri}; use a model both hosts offer")
    unsafe = False
    for disk in disks_of(xml):
        what = f"disk {disk.target} of domain {name!r}"
        if disk.pool and disk.pool not in dest.pools:
            raise ConflictError(f"{what} is in pool {disk.pool!r}, which {uri} does not have; define it there first")
        shared = (
            disk.network
            or (disk.path is not None and disk.path in dest.visible_paths)
            or (disk.volume is not None and f"{disk.pool}/{disk.volume}" in dest.visible_volumes)
        )
        if disk.shareable and not shared:
            raise ConflictError(
                f"{what} is a shared disk ({disk.where}) that {uri} does not see; shared disks are never copied - "
                "put the destination on the same shared storage"
            )
        if not shared and live and not disk.readonly:
            if request.copy_storage == "none":
                raise ConflictError(
                    f"{what} ({disk.where}) is not on storage {uri} sees; set copy_storage: all (or incremental "
                    "for a backing chain present there), or move the disk to shared storage"
                )
            directory = (disk.path or "").rsplit("/", 1)[0]
            if directory not in dest.pool_dirs:
                raise ConflictError(
                    f"{what} would be copied to {disk.path}, but no pool on {uri} has the directory {directory}; "
                    "define one there so libvirt can create the copy"
                )
        if shared and live and not disk.network and not disk.readonly and request.allow_unsafe:
            # libvirt knows shared file systems by type (NFS, GlusterFS, CephFS, GPFS, ...); one it does not know
            # passes only on the operator's word.
            unsafe = True
        # Ceph keeps RBD caches coherent itself (libvirt agrees); any other shared disk must bypass the page cache.
        coherent = disk.protocol == "rbd" or (disk.cache or "default") in COHERENT_CACHE_MODES
        if shared and live and not disk.readonly and not coherent:
            if not request.allow_unsafe:
                raise UnsafeOperation(
                    f"{what} on shared storage uses cache mode {disk.cache or 'default'}; a live migration could "
                    "lose writes still in the source's page cache. Use cache none or directsync, or set "
                    "allow_unsafe: true",
                    "allow_unsafe",
                )
            unsafe = True
    return unsafe
