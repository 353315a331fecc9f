"""Which live migrations bring the hypervisors within a memory/vCPU spread (pure).

The spread of a resource is the difference between the most and the least committed host, in
bytes/vCPUs or, given as a percentage, in percentage points of each host's RAM/CPUs. Greedy: each
step takes the one migration that improves most - first fewer anti-affinity violations, then the
worst spread relative to its limit, then the sum of both - and stops when all are within their
limits, when no migration improves, or after ``max_migrations``. Domains the plan cannot move
(stopped, transient, excluded, or refused by the migration prechecks) stay where they are.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import re
import typing as t

from .._core.errors import SpecError
from .._core.units import to_bytes
from .model import Capacity, GuestLoad, HostLoad

_PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


@dataclasses.dataclass(frozen=True)
class Spread:
    """The largest difference allowed for one resource between hosts."""

    resource: str  # memory or vcpus
    value: float  # bytes / vCPUs, or percentage points
    relative: bool

    @classmethod
    def parse(cls, resource: str, value: t.Any, path: str) -> Spread:
        text = str(value)
        match = _PERCENT_RE.match(text)
        if match:
            number, relative = float(match.group(1)), True
        elif resource == "memory":
            number, relative = float(to_bytes(value, path)), False
        elif re.fullmatch(r"\s*\d+(\.\d+)?\s*", text):
            number, relative = float(text), False
        else:
            raise SpecError(path, f"{value!r} is neither a number of vCPUs nor a percentage such as 50%")
        if number <= 0:
            raise SpecError(path, f"{value!r} must be more than zero")
        return cls(resource, number, relative)

    def level(self, host: HostLoad) -> float:
        """The host's committed amount in this spread's unit."""
        amount = host.committed_memory if self.resource == "memory" else host.committed_vcpus
        if not self.relative:
            return float(amount)
        size = host.memory if self.resource == "memory" else host.cpus
        return 100.0 * amount / max(size, 1)

    def measure(self, hosts: t.Sequence[HostLoad]) -> float:
        levels = [self.level(h) for h in hosts]
        return max(levels) - min(levels)

    def describe(self, amount: float) -> str:
        if self.relative:
            return f"{amount:.1f}%"
        return f"{int(amount) >> 20} MiB" if self.resource == "memory" else f"{amount:g} vCPUs"


@dataclasses.dataclass(frozen=True)
class Move:
    domain: str
    source: str
    destination: str
    memory: int
    vcpus: int

    def to_dict(self) -> t.Dict[str, t.Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class RebalancePlan:
    moves: t.List[Move]
    before: t.Dict[str, t.Any]
    after: t.Dict[str, t.Any]
    balanced: bool
    reason: str  # why the plan stops where it does


def violations(hosts: t.Sequence[HostLoad]) -> int:
    """Domains that share a host with another member of their anti-affinity group."""
    total = 0
    for host in hosts:
        groups = [g.group for g in host.guests if g.group is not None]
        total += len(groups) - len(set(groups))
    return total


def _score(hosts: t.Sequence[HostLoad], spreads: t.Sequence[Spread]) -> t.Tuple[int, float, float]:
    ratios = [s.measure(hosts) / s.value for s in spreads] or [0.0]
    return violations(hosts), round(max(ratios), 9), round(sum(ratios), 9)


def _within(score: t.Tuple[int, float, float]) -> bool:
    return score[0] == 0 and score[1] <= 1.0


def summary(hosts: t.Sequence[HostLoad], spreads: t.Sequence[Spread]) -> t.Dict[str, t.Any]:
    return {
        "hosts": {h.name: h.figures() for h in hosts},
        "spread": {s.resource: s.describe(s.measure(hosts)) for s in spreads},
        "anti_affinity_violations": violations(hosts),
    }


def _moved(hosts: t.Sequence[HostLoad], guest: GuestLoad, source: str, dest: str) -> t.List[HostLoad]:
    out = []
    for host in hosts:
        guests = [g for g in host.guests if g.name != guest.name or host.name not in (source, dest)]
        free = host.free_memory + (guest.memory if host.name == source else 0)
        if host.name == dest:
            guests.append(guest)
            free -= guest.memory
        out.append(dataclasses.replace(host, guests=guests, free_memory=free))
    return out


def plan_rebalance(
    hosts: t.Sequence[HostLoad],
    spreads: t.Sequence[Spread],
    capacity: Capacity,
    max_migrations: int,
    pinned: t.Collection[str] = (),
) -> RebalancePlan:
    """The migrations, in order; ``pinned`` domains (excluded or refused) never move."""
    if len({h.name for h in hosts}) < 2:
        raise SpecError("hypervisors", "rebalancing needs at least two hypervisors")
    state = [dataclasses.replace(h, guests=list(h.guests)) for h in hosts]
    moves: t.List[Move] = []
    score = _score(state, spreads)
    reason = "within the spread"
    while not _within(score):
        if len(moves) >= max_migrations:
            reason = f"stopped after max_migrations ({max_migrations})"
            break
        best = None
        for source in state:
            for guest in sorted(source.guests, key=lambda g: g.name):
                if not (guest.active and guest.movable) or guest.name in pinned:
                    continue
                for dest in state:
                    if dest is source or capacity.refusal(dest.without(guest.name), guest) is not None:
                        continue
                    trial = _moved(state, guest, source.name, dest.name)
                    candidate = (_score(trial, spreads), guest.name, dest.name)
                    if best is None or candidate < best[0]:
                        best = (candidate, trial, Move(guest.name, source.name, dest.name, guest.memory, guest.vcpus))
        if best is None or best[0][0] >= score:
            reason = "no migration of a movable domain narrows the spread further"
            break
        score, state = best[0][0], best[1]
        moves.append(best[2])
    return RebalancePlan(moves, summary(hosts, spreads), summary(state, spreads), _within(score), reason)
