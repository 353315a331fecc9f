from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._placement import place

GIB = 2**30
HOSTS = [{"name": "hv1", "free_memory": 8 * GIB}, {"name": "hv2", "free_memory": 16 * GIB}]


def test_spread_one_per_host_before_doubling_up_most_free_first() -> None:
    assert place(["a", "b", "c", "d"], HOSTS) == {"a": "hv2", "b": "hv1", "c": "hv2", "d": "hv1"}


def test_existing_vms_stay_and_count() -> None:
    assert place(["a", "b", "c"], HOSTS, existing={"a": "hv1", "b": "hv1"}) == {"a": "hv1", "b": "hv1", "c": "hv2"}


def test_memory_strategy_fills_the_roomiest_host() -> None:
    placed = place(["a", "b", "c", "d"], HOSTS, strategy="memory", vm_memory=4 * GIB)
    assert placed == {"a": "hv2", "b": "hv2", "c": "hv1", "d": "hv2"}


def test_refusals() -> None:
    with pytest.raises(SpecError, match="^strategy: 'random' is not one of spread, memory$"):
        place(["a"], HOSTS, strategy="random")
    with pytest.raises(SpecError, match="^hosts: no hypervisor to place VMs on$"):
        place(["a"], [])
