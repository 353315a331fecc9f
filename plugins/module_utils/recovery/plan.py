"""Which VMs of failed hypervisors to restart where, and why the others stay down (pure).

Nothing restarts without proof that every failed host can no longer write: unreachability alone is never
proof (a host cut off from the network may still write to shared storage). And nothing restarts while a
VM of a failed host still holds its lock manager locks: its QEMU is alive somewhere, whatever the proof.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.errors import ConflictError
from ..placement.model import Capacity, GuestLoad, HostLoad
from ..placement.plan import choose_host
from .record_model import VmRecord


@dataclasses.dataclass
class RecoveryPlan:
    failed: t.List[str]
    restarts: t.List[t.Tuple[VmRecord, str]] = dataclasses.field(default_factory=list)  # (record, destination)
    left_down: t.Dict[str, str] = dataclasses.field(default_factory=dict)  # VM -> why, on purpose
    not_restarted: t.Dict[str, str] = dataclasses.field(default_factory=dict)  # VM -> why it could not be
    elsewhere: t.Dict[str, str] = dataclasses.field(default_factory=dict)  # VM -> the survivor it is on

    @property
    def changed(self) -> bool:
        return bool(self.restarts)

    @property
    def actions(self) -> t.List[str]:
        return [f"restart {r.name} on {dest} (it ran on failed {r.host})" for r, dest in self.restarts]


def plan_recovery(
    proofs: t.Mapping[str, t.Optional[str]],
    survivors: t.Sequence[HostLoad],
    records: t.Sequence[VmRecord],
    held: t.Mapping[str, str],
    capacity: Capacity,
) -> RecoveryPlan:
    """``proofs``: each failed host and how it is known not to write (None: not known). ``held``: VMs whose
    locks are still held, with which lock."""
    unproven = sorted(host for host, proof in proofs.items() if not proof)
    if unproven:
        raise ConflictError(
            f"{', '.join(unproven)} does not answer, which does not prove it stopped writing to shared storage; "
            "fence it (power it off), then run again with fenced: true - or give fence_command"
        )
    plan = RecoveryPlan(sorted(proofs))
    on_survivors = {g.name: h.name for h in survivors for g in h.guests}
    victims = [r for r in records if r.host in proofs]
    holders = [f"{r.name} ({held[r.name]})" for r in victims if r.name in held and r.name not in on_survivors]
    if holders:
        raise ConflictError(
            f"the VMs of {', '.join(plan.failed)} still hold their locks - {'; '.join(holders)}: their QEMU still runs "
            "and may write; nothing was restarted (fencing must stop the host, not only cut it off)"
        )
    hosts = [dataclasses.replace(h, guests=list(h.guests)) for h in survivors]
    for record in sorted(victims, key=lambda r: (-(r.policy.priority or 0), r.name)):
        if record.name in on_survivors:
            plan.elsewhere[record.name] = on_survivors[record.name]
        elif not record.policy.ha:
            plan.left_down[record.name] = "not HA (cluster.ha is not set)"
        elif not record.running:
            plan.left_down[record.name] = "it was shut down on purpose"
        else:
            guest = GuestLoad(record.name, record.memory, record.vcpus, record.policy.anti_affinity)
            try:
                destination = choose_host(guest, hosts, capacity)
            except ConflictError as err:
                plan.not_restarted[record.name] = err.message
                continue
            next(h for h in hosts if h.name == destination).guests.append(guest)
            plan.restarts.append((record, destination))
    return plan
