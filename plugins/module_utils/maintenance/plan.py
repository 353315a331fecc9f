"""Which VMs a drain moves where, and what a restore brings back (pure).

A drain takes every running VM off the host by its cluster policy: ``migrate`` to the host the placement
code chooses among those in service (capacity and anti-affinity, each choice counting for the next),
``shutdown`` stopped cleanly where it is, ``stay`` refused unless forced. Any VM that cannot go anywhere
refuses the whole drain, with each VM and why, before anything moves. A restore migrates back the VMs
the drain migrated, and starts the ones it shut down.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import ConflictError, SpecError
from ..domain.cluster_model import ClusterPolicy, Origin
from ..placement.model import Capacity, HostLoad
from ..placement.plan import choose_host


@dataclasses.dataclass(frozen=True)
class HostMove:
    """One VM's part in a drain or a restore."""

    domain: str
    action: str  # migrate, shutdown, stay (a drain); migrate, start, forget (a restore)
    source: str
    destination: t.Optional[str] = None

    def describe(self) -> str:
        if self.action == "migrate":
            return f"live-migrate {self.domain} from {self.source} to {self.destination}"
        if self.action == "shutdown":
            return f"shut down {self.domain} on {self.source}"
        if self.action == "start":
            return f"start {self.domain} on {self.source}"
        if self.action == "forget":
            return f"leave {self.domain} as it is on {self.source} and drop its drain record"
        return f"leave {self.domain} running on {self.source} (maintenance_policy stay, force)"

    def to_dict(self) -> t.Dict[str, t.Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class HostPlan:
    host: str
    mark: t.Optional[str] = None  # "set" or "clear" the host's maintenance mark; None: as it is
    moves: t.List[HostMove] = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.mark is not None or any(m.action != "stay" for m in self.moves)

    @property
    def actions(self) -> t.List[str]:
        marking = {"set": f"mark {self.host} in maintenance", "clear": f"put {self.host} back in service"}
        first = [marking[self.mark]] if self.mark == "set" else []
        last = [marking[self.mark]] if self.mark == "clear" else []
        return first + [m.describe() for m in self.moves if m.action != "stay"] + last


def plan_drain(
    host: HostLoad,
    others: t.Sequence[HostLoad],
    policies: t.Mapping[str, ClusterPolicy],
    capacity: Capacity,
    force: bool = False,
) -> HostPlan:
    """Mark ``host`` (unless it is marked) and take its running VMs off it, or refuse with every reason."""
    serving = [dataclasses.replace(h, guests=list(h.guests)) for h in others if not h.maintenance]
    if not serving:
        raise ConflictError(
            f"{host.name} is the last hypervisor in service (of {', '.join([host.name, *(h.name for h in others)])}); "
            "bring another one back first"
        )
    plan = HostPlan(host.name, mark=None if host.maintenance else "set")
    refusals = []
    running = [g for g in host.guests if g.active]
    # The ones that matter most move first, while the others still have the most room.
    running.sort(key=lambda g: (-(policies.get(g.name, ClusterPolicy()).priority or 0), g.name))
    for guest in running:
        policy = policies.get(guest.name, ClusterPolicy()).drain
        if not guest.movable:
            refusals.append(f"{guest.name} is transient (it has no definition to move or restart); stop it first")
        elif policy == "stay":
            if force:
                plan.moves.append(HostMove(guest.name, "stay", host.name))
            else:
                refusals.append(f"{guest.name} has maintenance_policy stay (set force to drain the others around it)")
        elif policy == "shutdown":
            plan.moves.append(HostMove(guest.name, "shutdown", host.name))
        else:
            try:
                destination = choose_host(guest, serving, capacity)
            except ConflictError as err:
                refusals.append(err.message)
                continue
            next(h for h in serving if h.name == destination).guests.append(guest)
            plan.moves.append(HostMove(guest.name, "migrate", host.name, destination))
    if refusals:
        raise ConflictError(f"cannot drain {host.name}, nothing was moved: {'; '.join(refusals)}")
    return plan


@dataclasses.dataclass(frozen=True)
class Drained:
    """A VM that a drain of some host moved or stopped, where it is now and whether it runs."""

    domain: str
    origin: Origin
    where: str
    active: bool


def plan_restore(host: HostLoad, drained: t.Sequence[Drained], restore: bool) -> HostPlan:
    """Clear the mark of ``host``; with ``restore``, bring back what the drain of ``host`` took off it."""
    plan = HostPlan(host.name, mark="clear" if host.maintenance else None)
    if not restore:
        return plan
    for vm in sorted(drained, key=lambda d: d.domain):
        if vm.origin.host != host.name:
            continue
        if vm.origin.action == "migrated" and vm.active and vm.where != host.name:
            plan.moves.append(HostMove(vm.domain, "migrate", vm.where, host.name))
        elif vm.origin.action == "shutdown" and not vm.active and vm.where == host.name:
            plan.moves.append(HostMove(vm.domain, "start", host.name))
        else:  # stopped since, or started elsewhere by hand: left where it is, its record dropped
            plan.moves.append(HostMove(vm.domain, "forget", vm.where))
    return plan


def check_hosts(host: str, hypervisors: t.Sequence[str]) -> None:
    if host not in hypervisors:
        raise SpecError("host", f"{host} is not one of hypervisors ({', '.join(hypervisors)}); add it or fix the URI")
