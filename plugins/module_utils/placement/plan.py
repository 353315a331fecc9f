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
from .model import Capacity, GuestLoad, HostLoad

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
