"""The cluster_steps filter: a whole cluster's convergence as converge steps, in the order a cluster needs."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sharedvirt.kvm.plugins.filter.cluster_members import cluster_steps

URIS = {"hv1": "qemu+tcp://hv1/system", "hv2": "qemu+tcp://hv2/system", "hv3": "qemu+tcp://hv3/system"}
PLACED = {"vm1": "hv1", "vm2": "hv2", "vm3": "hv1"}  # nothing on hv3
SHARED = [{"pool": "shared", "volume": "quorum.raw", "target": "vdb", "capacity": "1GiB", "serial": "q1"}]
TEMPLATE = {"pool": "images", "volume": "base.qcow2"}
MEMBERS = {"system_disk": {"target": "vda", "pool": "images"}, "metadata": {"anti_affinity": "db"}}


def kinds(steps: list[dict]) -> list[tuple[str, str]]:
    return [(kind, options.get("uri", "")) for step in steps for kind, options in step.items()]


def test_every_step_of_every_hypervisor_in_the_order_a_cluster_needs() -> None:
    steps = cluster_steps(
        ["vm1", "vm2", "vm3"],
        PLACED,
        URIS,
        members=MEMBERS,
        template=TEMPLATE,
        shared_disks=SHARED,
        defaults={"memory": "1GiB"},
    )
    hv1, hv2 = URIS["hv1"], URIS["hv2"]
    assert kinds(steps) == [
        ("volumes", hv1),
        ("volumes", hv2),  # the clones
        ("volume", hv1),  # the shared disk, made once on the first hypervisor
        ("pool", hv1),
        ("pool", hv2),  # rescanned where VMs use it
        ("domains", hv1),
        ("domains", hv2),  # defined
        ("shared_disk", hv1),
        ("shared_disk", hv2),  # attached
        ("domains", hv1),
        ("domains", hv2),  # started
    ]
    assert steps[0]["volumes"]["volumes"] == [{"name": "vm1.qcow2"}, {"name": "vm3.qcow2"}]
    assert steps[0]["volumes"]["defaults"] == {"pool": "images", "clone_from": {"name": "base.qcow2"}}
    assert steps[2]["volume"] == {
        "uri": hv1,
        "allocation": "full",
        "pool": "shared",
        "name": "quorum.raw",
        "format": "raw",
        "capacity": "1GiB",
        "peers": list(URIS.values()),
    }
    assert steps[3]["pool"] == {"uri": hv1, "name": "shared", "refresh": True}
    defined, started = steps[5]["domains"], steps[9]["domains"]
    assert [d["name"] for d in defined["domains"]] == ["vm1", "vm3"]
    assert defined["domains"][0]["disks"][0]["source"] == {"pool": "images", "volume": "vm1.qcow2"}
    assert defined["defaults"] == {"memory": "1GiB", "state": "present"}
    assert started["defaults"] == {"memory": "1GiB", "state": "running"}
    assert steps[8]["shared_disk"] == {
        "uri": hv2,
        "volume": {"pool": "shared", "name": "quorum.raw"},
        "target": "vdb",
        "domains": ["vm2"],
        "peers": list(URIS.values()),
        "serial": "q1",
    }
    # Every check that asks "in use" or "running" asks every hypervisor, the idle one too.
    assert all(
        options["peers"] == list(URIS.values())
        for step in steps
        for kind, options in step.items()
        if kind in ("volumes", "volume", "domains", "shared_disk")
    )


def test_without_template_capacity_or_state_those_steps_are_left_out() -> None:
    existing = [{"pool": "shared", "volume": "data.raw", "target": "vdc"}]
    steps = cluster_steps(["vm2"], PLACED, URIS, shared_disks=existing, state="present")
    assert kinds(steps) == [("pool", URIS["hv2"]), ("domains", URIS["hv2"]), ("shared_disk", URIS["hv2"])]
    assert "serial" not in steps[2]["shared_disk"]
    assert cluster_steps([], {}, URIS, template=TEMPLATE, shared_disks=SHARED) == []


def test_a_hypervisor_without_uri_is_named() -> None:
    with pytest.raises(AnsibleFilterError, match="hypervisor hv9 of placed has no URI"):
        cluster_steps(["vm1"], {"vm1": "hv9"}, URIS)
