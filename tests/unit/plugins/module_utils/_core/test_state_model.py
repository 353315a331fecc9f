"""The one table of domain state names."""

from __future__ import annotations

import libvirt

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.state_model import STATE_NAMES, state_name


def test_the_codes_are_libvirts() -> None:
    constants = {
        "NOSTATE": "nostate",
        "RUNNING": "running",
        "BLOCKED": "blocked",
        "PAUSED": "paused",
        "SHUTDOWN": "in shutdown",
        "SHUTOFF": "shutoff",
        "CRASHED": "crashed",
        "PMSUSPENDED": "pmsuspended",
    }
    assert {getattr(libvirt, f"VIR_DOMAIN_{c}"): name for c, name in constants.items()} == STATE_NAMES


def test_a_state_newer_than_the_table_is_nostate() -> None:
    assert state_name(1) == "running" and state_name(99) == "nostate"
