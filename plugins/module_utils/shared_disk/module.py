"""Ansible glue of the shared_disk module: resolve the disk, find who carries it, plan every domain."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.errors import ConflictError, SpecError
from .._core.module import LibvirtModule
from .._core.plan import Plan
from ..domain.client import DomainExecutor
from ..domain.device_model import DiskSource
from ..storage.client import VolumeExecutor
from ..storage.plan import VolumeRequest, plan_volume
from ..storage.volume_model import VolumeSpec
from .plan import (
    Attachment,
    check_asymmetric,
    domain_plan,
    reservations_support,
    same_source,
    shared_disk_spec,
)


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


def run_shared_disk(module: LibvirtModule) -> t.Dict[str, t.Any]:
    """The shared_disk module."""
    params = module.params
    client = module.client()
    volumes = VolumeExecutor(client)
    domains = DomainExecutor(client)
    vol_params = params.get("volume")
    plans: t.List[Plan] = []
    path: t.Optional[str] = None
    capacity: t.Optional[int] = None
    if vol_params:
        pool_name, vol_name = vol_params["pool"], vol_params["name"]
        name = f"{pool_name}/{vol_name}"
        source = DiskSource(pool=pool_name, volume=vol_name)
        disk = shared_disk_spec(params, source)
        actual_vol = volumes.read(pool_name, vol_name)
        if actual_vol.spec is not None:
            if actual_vol.spec.format not in (None, "raw"):
                shared_disk_spec(dict(params, format=actual_vol.spec.format), source)  # raises the format error
            path, capacity = actual_vol.spec.path, actual_vol.spec.capacity
        elif params["state"] == "present":
            if params.get("capacity") is None:
                raise SpecError(
                    "capacity", f"volume {name} does not exist; give capacity to create it (raw, preallocated)"
                )
            wanted = VolumeSpec.from_params({"name": vol_name, "format": "raw", "capacity": params["capacity"]})
            plans.append(plan_volume(wanted, VolumeRequest(pool=pool_name, allocation="full"), actual_vol))
            capacity = wanted.capacity
    else:
        net = params.get("network")
        if not net:
            raise SpecError("volume", "give volume (pool and name) or network (protocol and name)")
        source = _network_source(net)
        name = f"{source.protocol}:{source.name}"
        disk = shared_disk_spec(params, source)

    attachments: t.List[Attachment] = []
    for domain, persistent, live in domains.all_disks():
        here = [d for d in persistent if same_source(source, d.source, path)]
        now = [d for d in live if same_source(source, d.source, path)]
        if here or now:
            first = (here or now)[0]
            attachments.append(Attachment(domain, first.target or "", bool(first.shareable), bool(here), bool(now)))
    listed = list(params["domains"] or [])
    if params["state"] == "present":
        check_asymmetric([a for a in attachments if a.domain not in listed], name)
    for i, domain in enumerate(listed):
        actual = domains.read(domain)
        if actual.spec is None:
            raise SpecError(
                f"domains[{i}]", f"no domain {domain!r} on {client.uri}; define it first (sharedvirt.kvm.domain)"
            )
        plans.append(domain_plan(domain, actual, disk, params["state"] == "present", path))
    if params["state"] == "present" and params["detach_others"]:
        for att in attachments:
            if att.domain not in listed:
                plans.append(domain_plan(att.domain, domains.read(att.domain), disk, False, path))
    if params["state"] == "absent" and params["delete_volume"] and vol_params:
        still = [a.domain for a in attachments if a.domain not in listed]
        if still:
            raise ConflictError(
                f"shared disk {name}: domains {', '.join(still)} still reference it; detach it there (list them in "
                "domains) before delete_volume"
            )
        actual_vol = volumes.read(vol_params["pool"], vol_params["name"])
        wanted = VolumeSpec(name=vol_params["name"])
        plans.append(plan_volume(wanted, VolumeRequest(pool=vol_params["pool"], state="absent"), actual_vol))

    if not module.check_mode:
        for plan in plans:
            if plan.kind == "volume" and vol_params:  # the shared volume: created or deleted
                volumes.apply(plan, vol_params["pool"], vol_params["name"])
            else:
                domains.apply(plan)
    actions = [a for p in plans for a in p.actions]
    result: t.Dict[str, t.Any] = {
        "changed": bool(actions),
        "actions": actions,
        "reboot_required": any(p.reboot_required for p in plans),
        "shared_disk": _facts(module, domains, disk, source, name, path, capacity, listed, params["state"]),
    }
    if module.diff:
        result["diff"] = [p.diff() for p in plans if p.changed]
    return result


def _facts(
    module: LibvirtModule,
    domains: DomainExecutor,
    disk: t.Any,
    source: DiskSource,
    name: str,
    path: t.Optional[str],
    capacity: t.Optional[int],
    listed: t.List[str],
    state: str,
) -> t.Dict[str, t.Any]:
    carried = []
    if module.check_mode:
        for domain in listed:
            running = domains.read(domain).state in ("running", "paused", "blocked")
            carried.append({"name": domain, "persistent": state == "present", "live": state == "present" and running})
    else:
        for domain, persistent, live in domains.all_disks():
            here = any(same_source(source, d.source, path) for d in persistent)
            now = any(same_source(source, d.source, path) for d in live)
            if here or now:
                carried.append({"name": domain, "persistent": here, "live": now})
    return {
        "name": name,
        "path": path,
        "source": source.to_dict(),
        "format": "raw",
        "capacity": capacity,
        "target": disk.target,
        "device": disk.device,
        "reservations": reservations_support(disk),
        "serial": disk.serial,
        "wwn": disk.wwn,
        "domains": sorted(carried, key=lambda d: d["name"]),
    }
