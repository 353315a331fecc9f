"""What hypervisors carry and how full they may get: the one capacity model (pure).

``HostLoad`` is read once per hypervisor (``placement/client.py``) and used by the domain module's
overcommit guard, the placement lookup, the rebalance module and host_info's report. ``Capacity`` holds
the limits; a limit left ``None`` is not checked.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.units import to_bytes


@dataclasses.dataclass(frozen=True)
class GuestLoad:
    """One domain as placement sees it: what it holds while running, and its anti-affinity group."""

    name: str
    memory: int  # bytes
    vcpus: int
    group: t.Optional[str] = None
    active: bool = True
    movable: bool = True  # persistent (a transient domain is somebody's experiment: left alone)
    stays: bool = False  # its cluster policy keeps it on its host (maintenance_policy stay: a storage appliance)


@dataclasses.dataclass
class HostLoad:
    """One hypervisor: its size, its free memory now, and its domains."""

    name: str  # the URI modules and lookups use
    memory: int  # bytes of RAM
    cpus: int
    free_memory: int
    guests: t.List[GuestLoad] = dataclasses.field(default_factory=list)
    maintenance: t.Optional[str] = None  # why the host takes no domains ("in maintenance since ..."); None: in service

    @property
    def committed_memory(self) -> int:
        return sum(g.memory for g in self.guests if g.active)

    @property
    def committed_vcpus(self) -> int:
        return sum(g.vcpus for g in self.guests if g.active)

    def members(self, group: t.Optional[str]) -> int:
        """Domains of an anti-affinity group here (defined ones count: they will start here)."""
        return 0 if group is None else sum(1 for g in self.guests if g.group == group)

    def without(self, name: str) -> HostLoad:
        """This host as if domain ``name`` were not on it (a domain never competes with itself)."""
        if all(g.name != name for g in self.guests):
            return self
        return dataclasses.replace(self, guests=[g for g in self.guests if g.name != name])

    def figures(self) -> t.Dict[str, t.Any]:
        return {
            "memory": self.memory,
            "cpus": self.cpus,
            "committed_memory": self.committed_memory,
            "committed_vcpus": self.committed_vcpus,
            "running": sorted(g.name for g in self.guests if g.active),
            "maintenance": self.maintenance,
        }


@dataclasses.dataclass(frozen=True)
class Capacity:
    """How full a hypervisor may get (``None``: that limit is not checked)."""

    reserve_memory: int = 2**30  # kept for the host itself
    memory_overcommit: t.Optional[float] = 1.0  # committed guest memory per byte of RAM
    cpu_overcommit: t.Optional[float] = 4.0  # committed vCPUs per host CPU
    anti_affinity: str = "hard"  # hard: never two of a group on one host; soft: as few as possible
    check_free_memory: bool = True  # the host's free memory now must hold the guest

    @classmethod
    def from_options(cls, get: t.Callable[[str], t.Any]) -> Capacity:
        """From the options of the capacity doc fragment (a module's params or a plugin's get_option)."""
        return cls(
            reserve_memory=to_bytes(get("reserve_memory"), "reserve_memory"),
            memory_overcommit=float(get("memory_overcommit")),
            cpu_overcommit=float(get("cpu_overcommit")),
            anti_affinity=str(get("anti_affinity_mode")),
        )

    @classmethod
    def ratios(cls, vcpu_ratio: t.Optional[float], memory_ratio: t.Optional[float]) -> Capacity:
        """Only commitment ratios: the domain module's ``overcommit`` option."""
        return cls(
            reserve_memory=0,
            memory_overcommit=memory_ratio,
            cpu_overcommit=vcpu_ratio,
            anti_affinity="soft",
            check_free_memory=False,
        )

    def memory_limit(self, host: HostLoad) -> float:
        ratio = self.memory_overcommit
        return float("inf") if ratio is None else int(host.memory * ratio) - self.reserve_memory

    def vcpu_limit(self, host: HostLoad) -> float:
        return float("inf") if self.cpu_overcommit is None else host.cpus * self.cpu_overcommit

    def overcommit(self, host: HostLoad, guest: GuestLoad) -> t.List[str]:
        """What ``guest`` starting on ``host`` would commit beyond the ratios, in words (empty: nothing)."""
        problems = []
        memory = host.committed_memory + guest.memory
        if memory > self.memory_limit(host):
            reserve = f", {self.reserve_memory >> 20} MiB kept for the host" if self.reserve_memory else ""
            problems.append(
                f"{memory >> 20} MiB of guest memory on {host.memory >> 20} MiB of RAM is "
                f"{memory / max(host.memory, 1):.2f}:1, above the {self.memory_overcommit:g}:1 allowed{reserve}"
            )
        vcpus = host.committed_vcpus + guest.vcpus
        if vcpus > self.vcpu_limit(host):
            problems.append(
                f"{vcpus} vCPUs on {host.cpus} host CPUs is {vcpus / max(host.cpus, 1):.2f}:1, "
                f"above the {self.cpu_overcommit:g}:1 allowed"
            )
        return problems

    def refusal(self, host: HostLoad, guest: GuestLoad) -> t.Optional[str]:
        """Why ``guest`` cannot run on ``host`` (None: it can)."""
        if host.maintenance:
            return f"is {host.maintenance}"
        if host.members(guest.group) and self.anti_affinity == "hard":
            return f"already runs a domain of anti-affinity group {guest.group!r}"
        problems = self.overcommit(host, guest)
        if problems:
            return "would commit " + "; ".join(problems)
        if self.check_free_memory and guest.memory > host.free_memory - self.reserve_memory:
            return f"has {host.free_memory >> 20} MiB free, {self.reserve_memory >> 20} MiB of it reserved for the host"
        return None

    def load(self, host: HostLoad, extra: t.Optional[GuestLoad] = None) -> float:
        """The fuller of memory and vCPUs, as a fraction of what this host may commit (or of its size)."""
        memory = host.committed_memory + (extra.memory if extra else 0)
        vcpus = host.committed_vcpus + (extra.vcpus if extra else 0)
        memory_limit = self.memory_limit(host)
        vcpu_limit = self.vcpu_limit(host)
        memory_limit = host.memory if memory_limit == float("inf") else memory_limit
        vcpu_limit = host.cpus if vcpu_limit == float("inf") else vcpu_limit
        return max(memory / max(memory_limit, 1), vcpus / max(vcpu_limit, 1e-9))
