# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.
"""Which hypervisor a new VM goes to (pure).

VMs that exist keep their host, so a rerun never moves anything. New VMs are spread: each goes to
the host with the fewest VMs of the group (anti-affinity: one per host before doubling up), ties
broken by the most free memory left; with ``strategy="memory"`` the host with the most free memory
left wins and the count only breaks ties.
"""

from __future__ import annotations

import typing as t

from ._errors import SpecError

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
