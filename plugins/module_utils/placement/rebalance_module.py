"""Ansible glue of the rebalance module: read every hypervisor, plan, precheck, migrate one by one."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.errors import CollectionError, ConflictError, UnsafeOperation
from .._core.module import ClusterModule
from ..migration.client import Tuning, prepare_migration
from .client import read_host_load
from .model import Capacity
from .rebalance_plan import RebalancePlan, Spread, plan_rebalance


def _spreads(params: t.Mapping[str, t.Any]) -> t.List[Spread]:
    wanted = (("memory", "memory_spread"), ("vcpus", "cpu_spread"))
    return [Spread.parse(resource, params[key], key) for resource, key in wanted if params.get(key) not in (None, "")]


def _checked_plan(module: ClusterModule) -> t.Tuple[RebalancePlan, t.Dict[str, str]]:
    """Plan; a domain whose move the prechecks refuse is pinned with the reason and the plan made again."""
    params, clients = module.params, module.clients()
    # A host in maintenance is out of the balance: nothing moves to it, and its emptiness is no imbalance.
    hosts = [read_host_load(client, params["anti_affinity_key"]) for client in clients.values()]
    hosts = [host for host in hosts if not host.maintenance]
    pinned = {name: "excluded by the exclude option" for name in params["exclude"]}
    for guest in (g for host in hosts for g in host.guests if g.stays and g.active):
        pinned.setdefault(guest.name, "its cluster policy keeps it on its host (maintenance_policy stay)")
    capacity = Capacity.from_options(params.__getitem__)
    while True:
        plan = plan_rebalance(hosts, _spreads(params), capacity, params["max_migrations"], pinned)
        for move in plan.moves:
            try:
                prepare_migration(clients, move.domain, move.source, move.destination, params)
            except (ConflictError, UnsafeOperation) as err:
                pinned[move.domain] = err.message
                break
        else:
            return plan, {name: why for name, why in pinned.items() if name not in params["exclude"]}


def run_rebalance(module: ClusterModule) -> t.Dict[str, t.Any]:
    params = module.params
    plan, refused = _checked_plan(module)
    result: t.Dict[str, t.Any] = {
        "changed": bool(plan.moves),
        "migrations": [move.to_dict() for move in plan.moves],
        "before": plan.before,
        "after": plan.after,
        "balanced": plan.balanced,
        "reason": plan.reason,
        "unmovable": refused,
    }
    if module.check_mode:
        return result
    tuning = Tuning(
        mode=params["mode"],
        bandwidth=params.get("bandwidth"),
        max_downtime=params.get("max_downtime"),
        auto_converge=params["auto_converge"],
        timeout=params["timeout"],
    )
    clients = module.clients()
    for done, move in enumerate(plan.moves):
        try:
            # Checked again right before it runs: an earlier migration of this run may have changed things.
            executor, migration = prepare_migration(clients, move.domain, move.source, move.destination, params)
            result["migrations"][done].update(executor.migrate(move.domain, migration, tuning))
        except CollectionError as err:
            finished = ", ".join(f"{m.domain} to {m.destination}" for m in plan.moves[:done]) or "none"
            raise CollectionError(
                f"rebalance: migrating {move.domain!r} from {move.source} to {move.destination} failed "
                f"({err.message}); migrations done before it: {finished}. Run again to plan from the new state"
            ) from err
    return result
