"""Ansible glue of the shared_disk module: resolve the disk, find who carries it, plan every domain."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import LibvirtClient
from .._core.errors import SpecError
from .._core.module import ModuleRun, predicted_missing
from .._core.units import to_bytes
from ..domain.client import DomainExecutor
from ..domain.device_model import DiskSource
from ..domain.seen_model import SeenDomains
from ..storage.client import VolumeExecutor
from ..storage.plan import VolumeActual
from ..storage.usage_client import UsageReader
from .plan import Carrier, SharedDiskActual, SharedDiskRequest, plan_shared_disk, shared_disk_spec


def _network_source(net: t.Mapping[str, t.Any]) -> DiskSource:
    auth = net.get("auth")
    return DiskSource.from_params(
        {
            "protocol": net["protocol"],
            "name": net["name"],
            "hosts": net.get("hosts"),
            "auth": auth,
        }
    )


def run_shared_disk(
    module: ModuleRun, usage: t.Optional[UsageReader] = None, seen: t.Optional[SeenDomains] = None
) -> t.Dict[str, t.Any]:
    """The shared_disk module: one snapshot of the host -> one plan -> apply -> the plan's result (``usage`` and
    ``seen``: who uses what, and the domains, as a converge task's earlier steps read them)."""
    request = shared_disk_request(module.params, module.check_mode)
    if request.check_mode:
        wanted = [("domain", name) for name in request.domains]
        wanted += [("volume", "/".join(request.volume))] if request.volume else []
        request.expected = frozenset(each for each in wanted if module.made_earlier(*each))
    client = module.client(readonly=module.check_mode)
    volumes, domains = VolumeExecutor(client), DomainExecutor(client)
    domains.device_timeout = module.params["timeout"]
    request.pool_ahead = _pool_ahead(module, request, volumes)
    actual = read_actual(request, volumes, domains, module.peers(), usage or UsageReader(), seen or SeenDomains())
    plan = plan_shared_disk(request, actual)
    for warning in plan.warnings:
        module.warn(warning)
    if not module.check_mode:
        completed: t.List[str] = []  # across the volume's and every domain's plan
        for step_plan in plan.plans:
            (volumes if step_plan.kind == "volume" else domains).apply(step_plan, completed)
    return plan.result(diff=module.diff)


def _pool_ahead(module: ModuleRun, request: SharedDiskRequest, volumes: VolumeExecutor) -> bool:
    """Check mode with the volume's pool missing or stopped: an earlier task (or step) may make it, so the volume
    is predicted as missing instead of failing."""
    pool = request.volume[0] if request.volume else None
    if not pool or not request.check_mode or volumes.pool_ready(pool):
        return False
    problem = f"no active storage pool {pool!r} on {volumes.client.uri}; volume {request.name} shows as missing"
    predicted_missing(module, problem, "pool", pool, "create or start")
    return True


def shared_disk_request(params: t.Mapping[str, t.Any], check_mode: bool = False) -> SharedDiskRequest:
    vol = params.get("volume")
    if vol:
        source = DiskSource(pool=vol["pool"], volume=vol["name"])
        name = f"{vol['pool']}/{vol['name']}"
    elif params.get("network"):
        source = _network_source(params["network"])
        name = f"{source.protocol}:{source.name}"
    else:
        raise SpecError("volume", "give volume (pool and name) or network (protocol and name)")
    capacity = params.get("capacity")
    return SharedDiskRequest(
        name=name,
        disk=shared_disk_spec(params, source),
        domains=list(params["domains"] or []),
        state=params["state"],
        detach_others=params["detach_others"],
        delete_volume=params["delete_volume"],
        volume=(vol["pool"], vol["name"]) if vol else None,
        capacity=None if capacity is None else to_bytes(capacity, "capacity"),
        check_mode=check_mode,
    )


def read_actual(
    request: SharedDiskRequest,
    volumes: VolumeExecutor,
    domains: DomainExecutor,
    peers: t.Sequence[LibvirtClient],
    reader: UsageReader,
    seen: SeenDomains,
) -> SharedDiskActual:
    """The volume and every domain of the host with its live disks, and the peers' disks, read once."""
    usage = reader.read([volumes.client, *peers])
    volume = None
    if request.volume:
        volume = VolumeActual() if request.pool_ahead else volumes.read(*request.volume, usage)
    carriers = {}
    for name in domains.names():
        # The live disks come from the read that first waits out a call an earlier run left in flight.
        actual = seen.get(domains.client.uri, name) or domains.read(name)
        if actual.spec is None:
            continue  # gone since the listing
        carriers[name] = Carrier(actual, list(actual.live.disks or []) if actual.live else [])
    peer_disks = [d for d in usage.disks if d.host != domains.client.uri]
    return SharedDiskActual(domains.client.uri, carriers, volume, peer_disks)
