"""Ansible glue of the rebalance module: read every hypervisor, plan, precheck, migrate one by one."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import LibvirtClient
from .._core.errors import CollectionError, ConflictError, UnsafeOperation
from .._core.module import CollectionModule
from ..migration.client import MigrationExecutor, Tuning
from ..migration.plan import MigrationPlan, MigrationRequest, plan_migration
from .client import read_host_load
from .model import Capacity
from .rebalance_plan import Move, RebalancePlan, Spread, plan_rebalance


class RebalanceModule(CollectionModule):
    """A module with one connection per hypervisor."""

    def __init__(self, argument_spec: t.Dict[str, t.Any], **kwargs: t.Any) -> None:
        super().__init__(argument_spec, **kwargs)
        self._clients: t.Dict[str, LibvirtClient] = {}

    def clients(self) -> t.Dict[str, LibvirtClient]:
        if not self._clients:
            for uri in dict.fromkeys(self.params["hypervisors"]):
                self._clients[uri] = LibvirtClient.connect(
                    uri, readonly=self.check_mode, timeout=self.params["connect_timeout"]
                )
        return self._clients

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients = {}


def _spreads(params: t.Mapping[str, t.Any]) -> t.List[Spread]:
    wanted = (("memory", "memory_spread"), ("vcpus", "cpu_spread"))
    return [Spread.parse(resource, params[key], key) for resource, key in wanted if params.get(key) not in (None, "")]


def _prepare(
    clients: t.Mapping[str, LibvirtClient], move: Move, params: t.Mapping[str, t.Any]
) -> t.Tuple[MigrationExecutor, MigrationPlan]:
    """The migration module's own prechecks for one planned move (raises its refusals), and who carries it out."""
    executor = MigrationExecutor(clients[move.destination], [clients[move.source]])
    request = MigrationRequest(move.domain, move.destination, allow_unsafe=params["allow_unsafe"], mode=params["mode"])
    xml = executor.migratable_xml(move.source, move.domain)
    return executor, plan_migration(request, executor.placements(move.domain), xml, executor.destination(xml))


def _checked_plan(module: RebalanceModule) -> t.Tuple[RebalancePlan, t.Dict[str, str]]:
    """Plan; a domain whose move the prechecks refuse is pinned with the reason and the plan made again."""
    params, clients = module.params, module.clients()
    hosts = [read_host_load(client, params["anti_affinity_key"]) for client in clients.values()]
    pinned = {name: "excluded by the exclude option" for name in params["exclude"]}
    capacity = Capacity.from_options(params.__getitem__)
    while True:
        plan = plan_rebalance(hosts, _spreads(params), capacity, params["max_migrations"], pinned)
        for move in plan.moves:
            try:
                _prepare(clients, move, params)
            except (ConflictError, UnsafeOperation) as err:
                pinned[move.domain] = err.message
                break
        else:
            return plan, {name: why for name, why in pinned.items() if name not in params["exclude"]}


def run_rebalance(module: RebalanceModule) -> t.Dict[str, t.Any]:
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
            executor, migration = _prepare(clients, move, params)
            result["migrations"][done].update(executor.migrate(move.domain, migration, tuning))
        except CollectionError as err:
            finished = ", ".join(f"{m.domain} to {m.destination}" for m in plan.moves[:done]) or "none"
            raise CollectionError(
                f"rebalance: migrating {move.domain!r} from {move.source} to {move.destination} failed "
                f"({err.message}); migrations done before it: {finished}. Run again to plan from the new state"
            ) from err
    return result
