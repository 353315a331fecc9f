"""The appliance's status file, parsed (pure): what it serves and the state of each LUN's mirror."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

# Written by the appliance (its image's /sbin/svkvm-appliance) and read back through its guest agent.
STATUS_PATH = "/run/svkvm-status"


def parse_status(text: str) -> t.Dict[str, t.Any]:
    """``key=value`` lines (a value may hold spaces); ``lun=N`` lines hold space-separated ``key=value`` words.

    The result: the keys, ``volumes`` (one dict per LUN: lun, state, legs, progress when resyncing) and
    ``degraded`` (the LUNs whose mirror lacks a leg or is copying to one).
    """
    status: t.Dict[str, t.Any] = {}
    volumes: t.List[t.Dict[str, t.Any]] = []
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep:
            continue
        if key == "lun":
            volumes.append(_lun(line))
        else:
            status[key] = value
    status["volumes"] = volumes
    status["degraded"] = [v["lun"] for v in volumes if v.get("state") != "clean"]
    return status


def _lun(line: str) -> t.Dict[str, t.Any]:
    words = dict(word.partition("=")[::2] for word in line.split() if "=" in word)
    lun: t.Dict[str, t.Any] = {"lun": int(words["lun"]), "state": words.get("state", "")}
    if "legs" in words:
        in_sync, _slash, total = words["legs"].partition("/")
        lun["legs"] = int(in_sync)
        lun["legs_total"] = int(total or 0)
    if "progress" in words:
        lun["progress"] = int(words["progress"])
    return lun
