"""Which hypervisor a new VM goes to (pure): the one placement algorithm.

VMs that exist keep their host, so a rerun never moves anything. ``choose_host`` decides from what the
hypervisors carry (``HostLoad``, read by the placement lookup): free and committed memory, committed vCPUs
and anti-affinity groups from domain metadata.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import ConflictError, SpecError
from .model import Capacity, GuestLoad, HostLoad


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
