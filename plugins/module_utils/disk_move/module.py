"""The disk_move module (Ansible glue)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.module import LibvirtModule
from .client import MoveExecutor
from .plan import MoveRequest, plan_move


def run_disk_move(module: LibvirtModule) -> t.Dict[str, t.Any]:
    """Plan the move of one disk, and carry it out unless in check mode."""
    params = module.params
    executor = MoveExecutor(module.client(readonly=module.check_mode), params["name"], params["disk"])
    disk = executor.disk()
    fmt = params.get("format") or disk.format
    pool = params.get("pool") or executor.pool_of_tier(params["tier"], disk)
    # Declarative: a disk already in the pool, in the format asked for, is where it should be.
    stays = pool == disk.pool and fmt == disk.format and disk.volume
    volume: str = params.get("volume") or (
        disk.volume if stays and disk.volume else f"{params['name']}-{disk.target}.{fmt}"
    )
    request = MoveRequest(
        domain=params["name"],
        running=bool(executor.dom.isActive()),
        remove_source=params["remove_source"],
        bandwidth=params["bandwidth"],
        timeout=params["timeout"],
    )
    dest = executor.destination(pool, volume, fmt)
    record = executor.record()
    there = (disk.pool, disk.volume) == (dest.pool, dest.volume)
    source = (record.source_pool, record.source_volume) if record and there else (disk.pool or "", disk.volume or "")
    users = executor.users(*source, module.peers()) if params["remove_source"] and all(source) else []
    plan = plan_move(request, disk, dest, record, users)
    if not module.check_mode:
        executor.apply(plan)
    return plan.result(diff=module.diff)
