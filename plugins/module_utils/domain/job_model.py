"""A running domain's jobs as facts: the domain job (migration, save, backup...) and each disk's block job
(copy, pull, commit), with their progress (pure: the numbers are read by ``client.py``)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

# libvirt's virDomainJobOperation and virDomainBlockJobType values, by number (stable in libvirt's ABI).
OPERATIONS = {
    1: "start",
    2: "save",
    3: "restore",
    4: "migration_in",
    5: "migration_out",
    6: "snapshot",
    7: "snapshot_revert",
    8: "dump",
    9: "backup",
    10: "snapshot_delete",
}
BLOCK_JOB_TYPES = {1: "pull", 2: "copy", 3: "commit", 4: "active_commit", 5: "backup"}
JOB_NONE = 0


def _percent(done: int, total: int) -> t.Optional[float]:
    return round(100.0 * done / total, 1) if total > 0 else None


def domain_job(stats: t.Mapping[str, t.Any]) -> t.Optional[t.Dict[str, t.Any]]:
    """The domain's job from virDomainGetJobStats, or None when none runs."""
    if not stats or stats.get("type", JOB_NONE) == JOB_NONE:
        return None
    total, processed = int(stats.get("data_total", 0)), int(stats.get("data_processed", 0))
    return {
        "operation": OPERATIONS.get(int(stats.get("operation", 0)), "unknown"),
        "elapsed_ms": int(stats.get("time_elapsed", 0)),
        "data_total": total,
        "data_processed": processed,
        "data_remaining": int(stats.get("data_remaining", max(total - processed, 0))),
        "percent": _percent(processed, total),
        "downtime_ms": stats.get("downtime"),
    }


def block_job(disk: str, info: t.Mapping[str, t.Any]) -> t.Optional[t.Dict[str, t.Any]]:
    """A disk's block job from virDomainGetBlockJobInfo, or None when the disk has none."""
    if not info:
        return None
    cur, end = int(info.get("cur", 0)), int(info.get("end", 0))
    return {
        "disk": disk,
        "type": BLOCK_JOB_TYPES.get(int(info.get("type", 0)), "unknown"),
        "done_bytes": cur,
        "total_bytes": end,
        "percent": _percent(cur, end),
        "ready": bool(end and cur == end),
        "bandwidth": int(info.get("bandwidth", 0)),
    }
