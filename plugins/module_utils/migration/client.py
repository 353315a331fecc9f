"""libvirt I/O of the migration module: read where a domain is and what the destination offers, migrate."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import os
import threading
import time
import typing as t

from .._core.client import LibvirtClient, libvirt, libvirt_errors
from .._core.errors import CollectionError, WaitTimeout
from .._core.xmlutil import parse_xml
from ..recovery.record_client import sync_record
from .plan import (
    NETWORK_POOL_TYPES,
    Destination,
    MigrationPlan,
    MigrationRequest,
    Placement,
    cpu_model_xml,
    disks_of,
    plan_migration,
)

POLL_SECONDS = 0.5


@dataclasses.dataclass
class Tuning:
    """How the migration runs (the module's options)."""

    mode: str = "p2p"  # direct, p2p, tunnelled
    copy_storage: str = "none"
    bandwidth: t.Optional[int] = None  # MiB/s
    max_downtime: t.Optional[int] = None  # ms
    auto_converge: bool = False
    postcopy: bool = False
    tls: bool = False
    migrate_uri: t.Optional[str] = None
    timeout: int = 300


def _flag(name: str) -> int:
    return int(getattr(libvirt, f"VIR_MIGRATE_{name}"))


COPY_FLAGS = {"all": "NON_SHARED_DISK", "incremental": "NON_SHARED_INC"}


def migration_flags(plan: MigrationPlan, tuning: Tuning) -> int:
    """libvirt's VIR_MIGRATE_* flags for the plan: persistent on the destination, undefined on the source."""
    names = ["PERSIST_DEST", "UNDEFINE_SOURCE"]
    if tuning.mode in ("p2p", "tunnelled"):
        names.append("PEER2PEER")
    if tuning.mode == "tunnelled":
        names.append("TUNNELLED")
    if plan.action == "offline":
        names.append("OFFLINE")
    else:
        names.append("LIVE")
        wanted = {
            COPY_FLAGS.get(tuning.copy_storage, ""): True,
            "AUTO_CONVERGE": tuning.auto_converge,
            "POSTCOPY": tuning.postcopy,
            "TLS": tuning.tls,
            "UNSAFE": plan.unsafe,
        }
        names += [name for name, on in wanted.items() if on and name]
    flags = 0
    for name in names:
        flags |= _flag(name)
    return flags


def migration_params(plan: MigrationPlan, tuning: Tuning) -> t.Dict[str, t.Any]:
    params: t.Dict[str, t.Any] = {}
    if plan.action == "live" and tuning.bandwidth:
        params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = tuning.bandwidth
    if plan.action == "live" and tuning.migrate_uri:
        params[libvirt.VIR_MIGRATE_PARAM_URI] = tuning.migrate_uri
    return params


def failure_hint(err: t.Any) -> str:
    if "Postcopy is not supported" in str(err.get_error_message()):
        # QEMU runs unprivileged; before libvirt hands it /dev/userfaultfd, only this sysctl lets it fault
        # pages in from the source.
        return (
            "; post-copy needs userfaultfd for QEMU: set the sysctl vm.unprivileged_userfaultfd=1 on both "
            "hypervisors (sharedvirt.kvm.host_memory userfaultfd: true), or set postcopy: false"
        )
    return ""


class JobSteering:
    """What the poll loop does to a running job: the downtime limit, once the job accepts it, and the switch to
    post-copy once the first full pass of memory has been sent (virsh's --postcopy-after-precopy): the pages
    a busy guest keeps changing then follow on demand instead of being sent again and again."""

    def __init__(self, dom: t.Any, tuning: Tuning) -> None:
        self.dom = dom
        self.tuning = tuning
        self.progress: t.Dict[str, t.Any] = {}
        self.downtime_set = tuning.max_downtime is None
        self.postcopy_started = False

    def poll(self) -> None:
        try:
            stats = self.dom.jobStats(0)
        except libvirt.libvirtError:
            return  # the domain is gone from the source: the migration is finishing
        if not stats.get("type", 0):
            return
        self.progress = stats
        if not self.downtime_set:
            self.downtime_set = self._try(lambda: self.dom.migrateSetMaxDowntime(self.tuning.max_downtime, 0))
        # QEMU counts the first sync of the dirty bitmap as iteration 1; 2 means one full pass is done.
        if self.tuning.postcopy and not self.postcopy_started and stats.get("memory_iteration", 0) >= 2:
            self.postcopy_started = self._try(lambda: self.dom.migrateStartPostCopy(0))

    @staticmethod
    def _try(call: t.Callable[[], t.Any]) -> bool:
        try:
            call()
        except libvirt.libvirtError:
            return False  # the job is between phases (or already completing); the next poll tries again
        return True


class MigrationExecutor:
    """The destination connection and the connections to the hypervisors searched for the domain."""

    def __init__(self, dest: LibvirtClient, others: t.Sequence[LibvirtClient]) -> None:
        self.dest = dest
        self.others = list(others)

    def client(self, uri: str) -> LibvirtClient:
        return next(c for c in [self.dest, *self.others] if c.uri == uri)

    def placements(self, name: str) -> t.List[Placement]:
        out = []
        for client in [self.dest, *self.others]:
            dom = client.domain(name)
            with libvirt_errors(f"read domain {name!r} on {client.uri}"):
                out.append(Placement(client.uri, dom is not None, bool(dom is not None and dom.isActive())))
        return out

    def migratable_xml(self, uri: str, name: str) -> str:
        client = self.client(uri)
        dom = client.domain(name)
        # A read-only connection (check mode) may not ask for the migratable form; the plain one has what the
        # prechecks read (disks, networks, CPU).
        flags = 0 if client.readonly else libvirt.VIR_DOMAIN_XML_MIGRATABLE
        flags |= 0 if dom.isActive() else libvirt.VIR_DOMAIN_XML_INACTIVE
        with libvirt_errors(f"read domain {name!r} on {uri}"):
            return str(dom.XMLDesc(flags))

    def destination(self, xml: str) -> Destination:
        """What the destination has for this domain: networks, pools, the disk paths it sees, the CPU."""
        conn = self.dest.conn
        with libvirt_errors(f"read the networks and pools of {self.dest.uri}"):
            networks = frozenset(n.name() for n in conn.listAllNetworks())
            pools = conn.listAllStoragePools()
            dirs = {}
            for pool in pools:
                path = parse_xml(pool.XMLDesc(0), "pool XML").findtext("target/path")
                if path and pool.isActive():
                    dirs[path.rstrip("/")] = pool
            visible = set()
            for disk in disks_of(xml):
                if not disk.path:
                    continue
                pool = dirs.get(os.path.dirname(disk.path))
                if pool is not None:
                    pool.refresh(0)  # a file another host just created is listed only after a rescan
                try:
                    conn.storageVolLookupByPath(disk.path)
                    visible.add(disk.path)
                except libvirt.libvirtError:
                    pass
            volumes = self._network_volumes(xml, {p.name(): p for p in pools})
            compatible = None
            cpu = cpu_model_xml(xml)
            if cpu is not None and parse_xml(xml, "domain XML").get("type") == "kvm":
                compatible = conn.compareCPU(cpu, 0) != libvirt.VIR_CPU_COMPARE_INCOMPATIBLE
        return Destination(
            networks=networks,
            pools=frozenset(p.name() for p in pools),
            visible_paths=frozenset(visible),
            pool_dirs=frozenset(dirs),
            cpu_compatible=compatible,
            visible_volumes=volumes,
        )

    @staticmethod
    def _network_volumes(xml: str, pools: t.Dict[str, t.Any]) -> t.FrozenSet[str]:
        """pool/volume of the domain's volume disks that a destination pool on network storage holds."""
        found = set()
        for disk in disks_of(xml):
            pool = pools.get(disk.pool or "")
            if disk.volume is None or pool is None or not pool.isActive():
                continue
            if parse_xml(pool.XMLDesc(0), "pool XML").get("type") not in NETWORK_POOL_TYPES:
                continue  # a local pool of the same name is other storage
            pool.refresh(0)  # the target may have a LUN the last scan did not see
            try:
                pool.storageVolLookupByName(disk.volume)
                found.add(f"{disk.pool}/{disk.volume}")
            except libvirt.libvirtError:
                pass
        return frozenset(found)

    def migrate(self, name: str, plan: MigrationPlan, tuning: Tuning) -> t.Dict[str, t.Any]:
        """Carry the migration out; returns the job's figures (duration, downtime, data)."""
        dom = self.client(t.cast(str, plan.source)).domain(name)
        flags, params = migration_flags(plan, tuning), migration_params(plan, tuning)
        started = time.monotonic()
        progress = self._run(dom, flags, params, tuning, started)
        moved = self.dest.domain(name)
        with libvirt_errors(f"verify domain {name!r} on {self.dest.uri}"):
            if moved is None or not moved.isPersistent() or (plan.action == "live" and not moved.isActive()):
                raise CollectionError(f"domain {name!r} did not arrive on {self.dest.uri} as a persistent domain")
            try:
                done = moved.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
            except libvirt.libvirtError:
                done = {}
        recorded = sync_record(self.dest, name)  # the recovery record follows the VM to its new host
        return {
            "recorded": bool(recorded),
            "duration": round(time.monotonic() - started, 3),
            "job_ms": done.get("time_elapsed"),
            "downtime_ms": done.get("downtime"),
            "data_processed": done.get("data_processed", progress.get("data_processed")),
            "data_total": done.get("data_total", progress.get("data_total")),
            "memory_bps": done.get("memory_bps"),
            "postcopy": progress["postcopy"],
        }

    def _run(
        self, dom: t.Any, flags: int, params: t.Dict[str, t.Any], tuning: Tuning, started: float
    ) -> t.Dict[str, t.Any]:
        box: t.Dict[str, t.Any] = {}

        def worker() -> None:
            try:
                if tuning.mode == "direct":
                    dom.migrate3(self.dest.conn, params, flags)
                else:
                    dom.migrateToURI3(self.dest.uri, params, flags)
            except Exception as err:  # handed to the caller's thread
                box["error"] = err

        thread = threading.Thread(target=worker, name="libvirt-migrate", daemon=True)
        thread.start()
        steer = JobSteering(dom, tuning)
        while thread.is_alive():
            thread.join(POLL_SECONDS)
            steer.poll()
            # A job in post-copy cannot be aborted (neither side has the whole guest): it runs to its end.
            if time.monotonic() - started > tuning.timeout and not steer.postcopy_started:
                dom.abortJob()
                thread.join(30)
                raise WaitTimeout(
                    f"the migration of {dom.name()!r} did not finish within {tuning.timeout} s and was aborted; "
                    f"the domain stays on the source (processed {steer.progress.get('data_processed', 0)} of "
                    f"{steer.progress.get('data_total', '?')} bytes); raise timeout or bandwidth, or set "
                    "auto_converge or postcopy"
                )
        if "error" in box:
            err = box["error"]
            if isinstance(err, libvirt.libvirtError):
                message = f"{err.get_error_message()}{failure_hint(err)}"
                raise CollectionError(f"migration of {dom.name()!r} failed: {message}")
            raise err
        return dict(steer.progress, postcopy=steer.postcopy_started)

    def undefine(self, uri: str, name: str) -> None:
        dom = self.client(uri).domain(name)
        if dom is not None and not dom.isActive():
            with libvirt_errors(f"undefine the stopped copy of {name!r} on {uri}"):
                dom.undefineFlags(getattr(libvirt, "VIR_DOMAIN_UNDEFINE_NVRAM", 0))


def prepare_migration(
    clients: t.Mapping[str, LibvirtClient], domain: str, source: str, destination: str, params: t.Mapping[str, t.Any]
) -> t.Tuple[MigrationExecutor, MigrationPlan]:
    """The migration module's own prechecks for one move another module planned (raises their refusals), and
    who carries it out. ``params`` has the migration options ``allow_unsafe`` and ``mode``."""
    executor = MigrationExecutor(clients[destination], [clients[source]])
    request = MigrationRequest(domain, destination, allow_unsafe=params["allow_unsafe"], mode=params["mode"])
    xml = executor.migratable_xml(source, domain)
    return executor, plan_migration(request, executor.placements(domain), xml, executor.destination(xml))
