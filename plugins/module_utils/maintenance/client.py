"""Carry out a drain or a restore across the hypervisors: marks, origin records, migrations, shutdowns (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import concurrent.futures
import datetime
import typing as t

from .._core.client import LibvirtClient, libvirt, libvirt_errors, still_there
from .._core.errors import CollectionError
from .._core.plan import Plan, Step
from .._core.xmlutil import local_xml, parse_xml
from ..domain.client import DomainExecutor
from ..domain.cluster_model import (
    ORIGIN_NS,
    ORIGIN_PREFIX,
    ClusterPolicy,
    Origin,
    origin_element,
    read_cluster_policy,
    read_origin,
)
from ..migration.client import Tuning, prepare_migration
from ..placement.client import read_host_load
from ..placement.model import HostLoad
from ..recovery.record_client import sync_record
from .plan import Drained, HostMove, HostPlan
from .record_client import mark, unmark
from .record_model import Record


class MaintenanceExecutor:
    """One connection per hypervisor of the cluster; ``host`` is the one drained or restored."""

    def __init__(self, clients: t.Mapping[str, LibvirtClient], host: str, params: t.Mapping[str, t.Any]) -> None:
        self.clients = clients
        self.host = host
        self.params = params
        self.done: t.List[str] = []  # what this run did, in order (a failure reports it)

    def loads(self) -> t.Dict[str, HostLoad]:
        return {uri: read_host_load(client, self.params["anti_affinity_key"]) for uri, client in self.clients.items()}

    def policies(self) -> t.Dict[str, ClusterPolicy]:
        """The cluster policy of every domain on the drained host."""
        client = self.clients[self.host]
        with libvirt_errors(f"read the domains of {self.host}"):
            definitions = still_there(client.conn.listAllDomains(0), lambda d: (d.name(), d.XMLDesc(0)))
        return {name: read_cluster_policy(parse_xml(xml)) for name, xml in definitions}

    def drained(self) -> t.List[Drained]:
        """Every domain of the cluster that carries a drain's origin record, where it is now."""
        found = []
        for uri, client in self.clients.items():
            with libvirt_errors(f"read the domains of {uri}"):
                for name, xml, active in still_there(client.conn.listAllDomains(0), _name_xml_active):
                    origin = read_origin(parse_xml(xml))
                    if origin is not None:
                        found.append(Drained(name, origin, uri, active))
        return found

    def drain(self, plan: HostPlan) -> None:
        """Mark first (placement stops choosing the host at once), then shut down and migrate."""
        if plan.mark == "set":
            since = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            mark(self.clients[self.host], Record(since, self.params.get("reason") or ""))
            self.done.append(f"mark {self.host} in maintenance")
        for move in [m for m in plan.moves if m.action == "shutdown"]:
            self._record(move, Origin(self.host, "shutdown"))
            self._shut_down(move)
        migrations = [m for m in plan.moves if m.action == "migrate"]
        for move in migrations:
            self._record(move, Origin(self.host, "migrated"))
        self._migrate_all(migrations)

    def restore(self, plan: HostPlan) -> None:
        """Put the host back in service, bring back what its drain moved, and forget the origin records."""
        if plan.mark == "clear":
            unmark(self.clients[self.host])
            self.done.append(f"put {self.host} back in service")
        for move in [m for m in plan.moves if m.action == "start"]:
            dom = self._dom(self.host, move.domain)
            self.clients[self.host].call(f"start {move.domain} on {self.host}", dom.create)
            self.done.append(move.describe())
            sync_record(self.clients[self.host], move.domain)
        self._migrate_all([m for m in plan.moves if m.action == "migrate"])
        for move in plan.moves:  # every VM the restore dealt with: its drain record goes
            self._forget(move.destination or move.source, move.domain)
            if move.action == "forget":
                self.done.append(move.describe())

    def _dom(self, uri: str, name: str) -> t.Any:
        return self.clients[uri].call(f"look up domain {name!r} on {uri}", self.clients[uri].conn.lookupByName, name)

    def _record(self, move: HostMove, origin: Origin) -> None:
        """Where the VM came from, in its definition and in the running guest (the migration carries both)."""
        dom = self._dom(move.source, move.domain)
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if dom.isActive() else 0)
        payload = local_xml(origin_element(origin))
        element = libvirt.VIR_DOMAIN_METADATA_ELEMENT
        action = f"record in {move.domain} that it came from {origin.host}"
        self.clients[move.source].call(action, dom.setMetadata, element, payload, ORIGIN_PREFIX, ORIGIN_NS, flags)

    def _forget(self, uri: str, name: str) -> None:
        dom = self._dom(uri, name)
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if dom.isActive() else 0)
        element = libvirt.VIR_DOMAIN_METADATA_ELEMENT
        self.clients[uri].call(f"forget where {name} came from", dom.setMetadata, element, None, None, ORIGIN_NS, flags)

    def _shut_down(self, move: HostMove) -> None:
        executor = DomainExecutor(self.clients[move.source])
        stop = Plan("domain", move.domain)
        stop.add(move.describe(), step=Step("shutdown", {"timeout": self.params["timeout"], "force": False}))
        executor.apply(stop)
        self.done.append(move.describe())
        sync_record(self.clients[move.source], move.domain)  # shut down on purpose: recovery leaves it down

    def _migrate_all(self, moves: t.Sequence[HostMove]) -> None:
        """Live migrations, at most ``parallel`` at once; each passes the migration module's prechecks."""
        if not moves:
            return
        tuning = Tuning(mode=self.params["mode"], timeout=self.params["timeout"])
        failures = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.params["parallel"]) as pool:
            running = {pool.submit(self._migrate, move, tuning): move for move in moves}
            for future in concurrent.futures.as_completed(running):
                move = running[future]
                try:
                    future.result()
                    self.done.append(move.describe())
                except CollectionError as err:
                    failures.append(f"{move.domain}: {err.message}")
        if failures:
            raise CollectionError(f"{len(failures)} of {len(moves)} migrations failed - {'; '.join(failures)}")

    def _migrate(self, move: HostMove, tuning: Tuning) -> None:
        destination = t.cast(str, move.destination)
        executor, migration = prepare_migration(self.clients, move.domain, move.source, destination, self.params)
        executor.migrate(move.domain, migration, tuning)


def _name_xml_active(dom: t.Any) -> t.Tuple[str, str, bool]:
    return dom.name(), dom.XMLDesc(0), bool(dom.isActive())
