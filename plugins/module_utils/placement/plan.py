"""Which hypervisor a new VM goes to (pure).

VMs that exist keep their host, so a rerun never moves anything. New VMs are spread: each goes to
the host with the fewest VMs of the group (anti-affinity: one per host before doubling up), ties
broken by the most free memory left; with ``strategy="memory"`` the host with the most free memory
left wins and the count only breaks ties (the ``place`` filter: figures the play gathered).

``choose_host`` decides from what the hypervisors carry (``HostLoad``, read by the placement lookup):
free and committed memory, committed vCPUs and anti-affinity groups from domain metadata.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import ConflictError, SpecError
from .._core.units import to_bytes

STRATEGIES = ("spread", "memory")


def place(
    vms: t.Sequence[str],
    hosts: t.Sequence[t.Mapping[str, t.Any]],
    existing: t.Optional[t.Mapping[str, str]] = None,
    strategy: str = "spread",
    vm_memory: int = 0,
) -> t.Dict[str, str]:
    """VM name -> host name. ``hosts``: dicts with ``name`` and ``free_memory`` (bytes)."""
    if strategy not in STRATEGIES:
        raise SpecError("strategy", f"{strategy!r} is not one of {', '.join(STRATEGIES)}")
    if not hosts:
        raise SpecError("hosts", "no hypervisor to place VMs on")
    names = [str(h["name"]) for h in hosts]
    order = {name: i for i, name in enumerate(names)}
    free = {str(h["name"]): int(h.get("free_memory") or 0) for h in hosts}
    placed: t.Dict[str, str] = {}
    count = {name: 0 for name in names}
    for vm, host in (existing or {}).items():
        if vm in vms:
            placed[vm] = host
            if host in count:
                count[host] += 1
    for vm in vms:
        if vm in placed:
            continue
        if strategy == "spread":
            host = min(names, key=lambda h: (count[h], -free[h], order[h]))
        else:
            host = min(names, key=lambda h: (-free[h], count[h], order[h]))
        placed[vm] = host
        count[host] += 1
        free[host] -= vm_memory
    return {vm: placed[vm] for vm in vms}


# --- Placement from what the hypervisors carry (the placement lookup and the rebalance module) ---


@dataclasses.dataclass(frozen=True)
class GuestLoad:
    """One domain as placement sees it: what it holds while running, and its anti-affinity group."""

    name: str
    memory: int  # bytes
    vcpus: int
    group: t.Optional[str] = None
    active: bool = True
    movable: bool = True  # persistent (a transient domain is somebody's experiment: left alone)


@dataclasses.dataclass
class HostLoad:
    """One hypervisor: its size, its free memory now, and its domains."""

    name: str  # the URI modules and lookups use
    memory: int  # bytes of RAM
    cpus: int
    free_memory: int
    guests: t.List[GuestLoad] = dataclasses.field(default_factory=list)

    @property
    def committed_memory(self) -> int:
        return sum(g.memory for g in self.guests if g.active)

    @property
    def committed_vcpus(self) -> int:
        return sum(g.vcpus for g in self.guests if g.active)

    def members(self, group: t.Optional[str]) -> int:
        """Domains of an anti-affinity group here (defined ones count: they will start here)."""
        return 0 if group is None else sum(1 for g in self.guests if g.group == group)

    def figures(self) -> t.Dict[str, t.Any]:
        return {
            "memory": self.memory,
            "cpus": self.cpus,
            "committed_memory": self.committed_memory,
            "committed_vcpus": self.committed_vcpus,
            "running": sorted(g.name for g in self.guests if g.active),
        }


@dataclasses.dataclass(frozen=True)
class Capacity:
    """How full a hypervisor may get."""

    reserve_memory: int = 2**30  # kept for the host itself
    memory_overcommit: float = 1.0  # committed guest memory per byte of RAM
    cpu_overcommit: float = 4.0  # committed vCPUs per host CPU
    anti_affinity: str = "hard"  # hard: never two of a group on one host; soft: as few as possible

    @classmethod
    def from_options(cls, get: t.Callable[[str], t.Any]) -> Capacity:
        """From the options of the capacity doc fragment (a module's params or a plugin's get_option)."""
        return cls(
            reserve_memory=to_bytes(get("reserve_memory"), "reserve_memory"),
            memory_overcommit=float(get("memory_overcommit")),
            cpu_overcommit=float(get("cpu_overcommit")),
            anti_affinity=str(get("anti_affinity_mode")),
        )

    def memory_limit(self, host: HostLoad) -> int:
        return int(host.memory * self.memory_overcommit) - self.reserve_memory

    def vcpu_limit(self, host: HostLoad) -> float:
        return host.cpus * self.cpu_overcommit

    def refusal(self, host: HostLoad, guest: GuestLoad) -> t.Optional[str]:
        """Why ``guest`` cannot run on ``host`` (None: it can)."""
        if host.members(guest.group) and self.anti_affinity == "hard":
            return f"already runs a domain of anti-affinity group {guest.group!r}"
        committed = host.committed_memory + guest.memory
        if committed > self.memory_limit(host):
            return (
                f"would commit {committed >> 20} MiB of its {self.memory_limit(host) >> 20} MiB "
                "(RAM x memory_overcommit - reserve_memory)"
            )
        if guest.memory > host.free_memory - self.reserve_memory:
            return f"has {host.free_memory >> 20} MiB free, {self.reserve_memory >> 20} MiB of it reserved for the host"
        vcpus = host.committed_vcpus + guest.vcpus
        if vcpus > self.vcpu_limit(host):
            return f"would commit {vcpus} vCPUs on {host.cpus} CPUs (more than cpu_overcommit {self.cpu_overcommit:g})"
        return None

    def load(self, host: HostLoad, extra: t.Optional[GuestLoad] = None) -> float:
        """The fuller of memory and vCPUs, as a fraction of what this host may commit."""
        memory = host.committed_memory + (extra.memory if extra else 0)
        vcpus = host.committed_vcpus + (extra.vcpus if extra else 0)
        return max(memory / max(self.memory_limit(host), 1), vcpus / max(self.vcpu_limit(host), 1e-9))


def choose_host(guest: GuestLoad, hosts: t.Sequence[HostLoad], capacity: Capacity) -> str:
    """The hypervisor for ``guest``: where it is already, else the least loaded host that takes it.

    Anti-affinity first (hard: hosts with a group member are out; soft: fewest members), then the
    lowest load after placing it, then the most free memory, then the order of ``hosts``.
    """
    for host in hosts:
        if any(g.name == guest.name for g in host.guests):
            return host.name
    if not hosts:
        raise SpecError("uri", "no hypervisor to place domains on")
    refusals = {h.name: capacity.refusal(h, guest) for h in hosts}
    fitting = [h for h in hosts if refusals[h.name] is None]
    if not fitting:
        why = "; ".join(f"{uri} {reason}" for uri, reason in refusals.items())
        raise ConflictError(f"no hypervisor can take domain {guest.name!r}: {why}")
    # min() keeps the first of equals, so the order of hosts breaks the last ties.
    best = min(fitting, key=lambda h: (h.members(guest.group), capacity.load(h, guest), -h.free_memory))
    return best.name


def place_guests(guests: t.Sequence[GuestLoad], hosts: t.Sequence[HostLoad], capacity: Capacity) -> t.List[str]:
    """Place several new domains in order; each choice counts for the next."""
    hosts = [dataclasses.replace(h, guests=list(h.guests)) for h in hosts]
    chosen = []
    for guest in guests:
        name = choose_host(guest, hosts, capacity)
        host = next(h for h in hosts if h.name == name)
        if all(g.name != guest.name for g in host.guests):
            host.guests.append(guest)
            host.free_memory -= guest.memory
        chosen.append(name)
    return chosen
