"""Ansible glue of the maintenance module: read the cluster, plan the drain or restore, carry it out."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import CollectionError, SpecError
from .._core.module import ClusterModule
from ..placement.model import Capacity, HostLoad
from .client import MaintenanceExecutor
from .plan import HostPlan, check_hosts, plan_drain, plan_restore


def run_maintenance(module: ClusterModule) -> t.Dict[str, t.Any]:
    params = module.params
    host = params["host"]
    check_hosts(host, params["hypervisors"])
    if not 1 <= params["parallel"] <= 8:
        raise SpecError("parallel", f"{params['parallel']} is out of range; give 1 to 8")
    executor = MaintenanceExecutor(module.clients(), host, params)
    loads = executor.loads()
    drained = executor.drained()
    if params["state"] == "present":
        others = [load for uri, load in loads.items() if uri != host]
        capacity = Capacity.from_options(params.__getitem__)
        plan = plan_drain(loads[host], others, executor.policies(), capacity, params["force"])
    else:
        plan = plan_restore(loads[host], drained, params["restore"])
    result = {"changed": plan.changed, "actions": plan.actions, "moves": [m.to_dict() for m in plan.moves]}
    result["before"] = _table(loads.values())
    if module.check_mode:
        result["after"] = _table(_predicted(loads, plan))
        return result
    try:
        if params["state"] == "present":
            executor.drain(plan)
        else:
            executor.restore(plan)
    except CollectionError as err:
        err.completed = executor.done
        raise
    result["after"] = _table(executor.loads().values())
    return result


def _predicted(loads: t.Mapping[str, HostLoad], plan: HostPlan) -> t.List[HostLoad]:
    """The hosts after the plan, as check mode shows them."""
    hosts = {uri: dataclasses.replace(load, guests=list(load.guests)) for uri, load in loads.items()}
    if plan.mark == "set":
        hosts[plan.host].maintenance = "in maintenance"
    elif plan.mark == "clear":
        hosts[plan.host].maintenance = None
    for move in plan.moves:
        source = hosts[move.source]
        guest = next(g for g in source.guests if g.name == move.domain)
        if move.action == "migrate" and move.destination:
            source.guests.remove(guest)
            hosts[move.destination].guests.append(guest)
        elif move.action in ("shutdown", "start"):
            source.guests[source.guests.index(guest)] = dataclasses.replace(guest, active=move.action == "start")
    return list(hosts.values())


def _table(hosts: t.Iterable[HostLoad]) -> t.Dict[str, t.Dict[str, t.Any]]:
    """Per hypervisor: in service or why not, and the domains it runs."""
    return {
        h.name: {"maintenance": h.maintenance, "running": sorted(g.name for g in h.guests if g.active)} for h in hosts
    }
