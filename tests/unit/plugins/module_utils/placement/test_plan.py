from __future__ import annotations

import pytest
from testbed.figures import GIB, HV1, HV2, HV3, recorded_hosts

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import ConflictError, SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils.placement.model import Capacity, GuestLoad
from ansible_collections.sharedvirt.kvm.plugins.module_utils.placement.plan import (
    choose_host,
    place_guests,
)

# --- choose_host / place_guests from recorded host figures ---


def test_hard_anti_affinity_then_the_least_loaded_host() -> None:
    # hv1 runs db1/db2; of hv2 (6 of 63 GiB committed) and hv3 (0 of 31 GiB), hv2 stays less loaded with 8 GiB more.
    assert choose_host(GuestLoad("db3", 8 * GIB, 4, "db"), recorded_hosts(), Capacity()) == HV2
    # web runs on hv1 and hv2: only hv3 is left.
    assert choose_host(GuestLoad("web4", 4 * GIB, 2, "web"), recorded_hosts(), Capacity()) == HV3


def test_an_existing_domain_keeps_its_host_even_if_it_would_not_fit() -> None:
    assert choose_host(GuestLoad("db2", 512 * GIB, 64, "db"), recorded_hosts(), Capacity()) == HV1
    assert choose_host(GuestLoad("build1", GIB, 1), recorded_hosts(), Capacity()) == HV1  # stopped, defined there


def test_soft_anti_affinity_takes_the_host_with_fewest_members() -> None:
    hosts = recorded_hosts()
    hosts[2].guests.append(GuestLoad("web9", GIB, 1, "web"))  # now every host has a web member
    with pytest.raises(ConflictError, match="already runs a domain of anti-affinity group 'web'"):
        choose_host(GuestLoad("web4", GIB, 1, "web"), hosts, Capacity())
    soft = Capacity(anti_affinity="soft")
    # hv1 has two members; hv2 and hv3 one each, and hv3 is the emptier of them.
    assert choose_host(GuestLoad("web4", GIB, 1, "web"), hosts, soft) == HV3


def test_a_group_spreads_over_all_hosts_then_refuses_with_each_reason() -> None:
    new = [GuestLoad(f"n{i}", 8 * GIB, 4, "n") for i in range(3)]
    assert place_guests(new, recorded_hosts(), Capacity()) == [HV2, HV3, HV1]
    with pytest.raises(ConflictError) as refused:
        place_guests([*new, GuestLoad("n3", 8 * GIB, 4, "n")], recorded_hosts(), Capacity())
    assert str(refused.value) == (
        "no hypervisor can take domain 'n3': "
        f"{HV1} already runs a domain of anti-affinity group 'n'; "
        f"{HV2} already runs a domain of anti-affinity group 'n'; "
        f"{HV3} already runs a domain of anti-affinity group 'n'"
    )


def test_memory_free_memory_and_vcpu_limits() -> None:
    why = Capacity().refusal
    hv1, hv3 = recorded_hosts()[0], recorded_hosts()[2]
    # hv1 runs 42 GiB of guests (build1 is stopped) and may commit 64 - 1 reserved: 22 GiB more is too much.
    assert why(hv1, GuestLoad("big", 22 * GIB, 1)) == (
        "would commit 65536 MiB of guest memory on 65536 MiB of RAM is 1.00:1, above the 1:1 allowed, "
        "1024 MiB kept for the host"
    )
    # Overcommitting memory passes the commitment check but not the host's actual free memory.
    assert Capacity(memory_overcommit=2.0).refusal(hv1, GuestLoad("big", 22 * GIB, 1)) == (
        "has 20480 MiB free, 1024 MiB of it reserved for the host"
    )
    assert (
        why(hv3, GuestLoad("wide", GIB, 33)) == "would commit 33 vCPUs on 8 host CPUs is 4.12:1, above the 4:1 allowed"
    )
    assert why(hv3, GuestLoad("wide", GIB, 32)) is None


def test_a_domain_that_fits_nowhere_names_every_host() -> None:
    with pytest.raises(
        ConflictError, match=r"^no hypervisor can take domain 'huge': qemu\+ssh://root@hv1/system would"
    ):
        choose_host(GuestLoad("huge", 100 * GIB, 1), recorded_hosts(), Capacity())
    with pytest.raises(SpecError, match="^uri: no hypervisor"):
        choose_host(GuestLoad("x", GIB, 1), [], Capacity())
