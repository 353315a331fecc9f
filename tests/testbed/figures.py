"""Recorded figures of a small three-host cluster, for placement and rebalancing decisions."""

from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.sharedvirt.kvm.plugins.module_utils.placement.model import GuestLoad, HostLoad

GIB = 2**30
HV1, HV2, HV3 = (f"qemu+ssh://root@hv{i}/system" for i in (1, 2, 3))


def recorded_hosts() -> list[HostLoad]:
    """A fresh copy each call: tests change them."""
    data = json.loads((Path(__file__).parent / "data" / "host_loads.json").read_text())
    return [HostLoad(**{**h, "guests": [GuestLoad(**g) for g in h["guests"]]}) for h in data["hosts"]]
