"""Ansible glue of the migration module."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import LibvirtClient
from .._core.errors import SpecError
from .._core.module import LibvirtModule
from .client import MigrationExecutor, Tuning
from .plan import MigrationRequest, plan_migration


class MigrationModule(LibvirtModule):
    """A module with connections to the destination (``uri``) and to every source."""

    def __init__(self, argument_spec: t.Dict[str, t.Any], **kwargs: t.Any) -> None:
        super().__init__(argument_spec, **kwargs)
        self._sources: t.List[LibvirtClient] = []

    def sources(self) -> t.List[LibvirtClient]:
        if not self._sources:
            for uri in dict.fromkeys(self.params["sources"]):
                self._sources.append(
                    LibvirtClient.connect(uri, readonly=self.check_mode, timeout=self.params["connect_timeout"])
                )
        return self._sources

    def close(self) -> None:
        for client in self._sources:
            client.close()
        self._sources = []
        super().close()


def run_migration(module: MigrationModule) -> t.Dict[str, t.Any]:
    params = module.params
    dest = module.client(readonly=module.check_mode)
    tuning = _tuning(params)  # checked before anything is read: bad figures never reach libvirt
    executor = MigrationExecutor(dest, [c for c in module.sources() if c.uri != dest.uri])
    request = MigrationRequest(
        name=params["name"],
        destination=dest.uri,
        copy_storage=params["copy_storage"],
        allow_unsafe=params["allow_unsafe"],
        mode=params["mode"],
    )
    where = executor.placements(request.name)
    moving = [p for p in where[1:] if p.defined] and not where[0].active
    source = next((p.uri for p in where[1:] if p.active), None) or next((p.uri for p in where[1:] if p.defined), None)
    xml = executor.migratable_xml(source, request.name) if moving and source else None
    plan = plan_migration(request, where, xml, executor.destination(xml) if xml else None)
    result: t.Dict[str, t.Any] = {"changed": bool(plan.actions), "actions": plan.actions, "migration": None}
    if not module.check_mode and plan.actions:
        if plan.action in ("live", "offline"):
            result["migration"] = {"from": plan.source, "to": dest.uri, "kind": plan.action}
            result["migration"].update(executor.migrate(request.name, plan, tuning))
        for uri in plan.stale:
            executor.undefine(uri, request.name)
    result["hypervisor"] = dest.uri
    return result


def _tuning(params: t.Mapping[str, t.Any]) -> Tuning:
    for option, low in (("bandwidth", 0), ("max_downtime", 0), ("timeout", 1)):
        value = params.get(option)
        if value is not None and value < low:
            raise SpecError(option, f"{value} is out of range; give {low} or more")
    return Tuning(
        mode=params["mode"],
        copy_storage=params["copy_storage"],
        bandwidth=params.get("bandwidth"),
        max_downtime=params.get("max_downtime"),
        auto_converge=params["auto_converge"],
        postcopy=params["postcopy"],
        tls=params["tls"],
        migrate_uri=params.get("migrate_uri"),
        timeout=params["timeout"],
    )
