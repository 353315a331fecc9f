"""Ansible glue of the recover module: find failed hypervisors, require proof, restart their HA VMs."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.errors import CollectionError, ConflictError
from .._core.module import ClusterModule
from ..placement.client import read_host_load
from ..placement.model import Capacity
from .client import fence, held_locks, restart
from .plan import RecoveryPlan, plan_recovery
from .record_client import read_records


def run_recover(module: ClusterModule) -> t.Dict[str, t.Any]:
    params = module.params
    clients, failed = module.reachable()
    result: t.Dict[str, t.Any] = {"changed": False, "actions": [], "failed_hosts": failed}
    if not failed:
        return result
    if not clients:
        raise ConflictError(f"none of {', '.join(failed)} answers: there is no hypervisor to restart VMs on")
    survivor = next(iter(clients.values()))
    records = read_records(survivor, params["record_pool"])
    proofs = {host: _proof(module, host) for host in failed}
    held = held_locks([r for r in records if r.host in failed], params.get("lockspace_dir"))
    survivors = [read_host_load(client, params["anti_affinity_key"]) for client in clients.values()]
    plan = plan_recovery(proofs, survivors, records, held, Capacity.from_options(params.__getitem__))
    result.update(_report(plan, proofs))
    if module.check_mode:
        return result
    done: t.List[str] = []
    for (record, destination), action in zip(plan.restarts, plan.actions):
        try:
            restart(clients[destination], record)
        except CollectionError as err:
            err.completed = done
            raise
        done.append(action)
    return result


def _proof(module: ClusterModule, host: str) -> t.Optional[str]:
    """How ``host`` is known to have stopped writing: the operator's word, or the fencing command's success."""
    if module.params["fenced"]:
        return "fenced: true (the operator fenced it)"
    command = module.params.get("fence_command")
    if not command:
        return None
    if module.check_mode:
        return "fence_command (run by the real run)"
    return fence(command, host)


def _report(plan: RecoveryPlan, proofs: t.Mapping[str, t.Optional[str]]) -> t.Dict[str, t.Any]:
    return {
        "changed": plan.changed,
        "actions": plan.actions,
        "proofs": dict(proofs),
        "restarted": [{"domain": r.name, "host": dest, "from": r.host} for r, dest in plan.restarts],
        "left_down": plan.left_down,
        "not_restarted": plan.not_restarted,
        "elsewhere": plan.elsewhere,
    }
