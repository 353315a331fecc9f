from __future__ import annotations

import re

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import ConflictError, UnsafeOperation
from ansible_collections.sharedvirt.kvm.plugins.module_utils.migration.plan import (
    Destination,
    MigrationRequest,
    Placement,
    disks_of,
    networks_of,
    plan_migration,
)

A, B, C = "qemu+tcp://10.0.0.11/system", "qemu+tcp://10.0.0.12/system", "qemu+tcp://10.0.0.13/system"
XML = """<domain type='qemu'><name>web1</name><devices>
  <disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/>
    <source file='/var/lib/libvirt/images/web1.qcow2'/><target dev='vda'/></disk>
  <disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/>
    <source file='/srv/shared/quorum.raw'/><target dev='vdb'/><shareable/></disk>
  <disk type='network' device='disk'><driver name='qemu' type='raw'/>
    <source protocol='rbd' name='rbd/data'/><target dev='vdc'/></disk>
  <disk type='file' device='cdrom'><target dev='sda'/><readonly/></disk>
  <interface type='network'><source network='lan'/></interface>
</devices></domain>"""
SEES_ALL = Destination(
    networks=frozenset({"lan"}),
    pools=frozenset(),
    visible_paths=frozenset({"/var/lib/libvirt/images/web1.qcow2", "/srv/shared/quorum.raw"}),
    pool_dirs=frozenset({"/var/lib/libvirt/images"}),
)
RUNNING_ON_A = [Placement(B, False, False), Placement(A, True, True), Placement(C, False, False)]


def request(**extra: object) -> MigrationRequest:
    return MigrationRequest(name="web1", destination=B, **extra)  # type: ignore[arg-type]


def test_disks_skip_empty_cdroms() -> None:
    assert [(d.target, d.network, d.shareable) for d in disks_of(XML)] == [
        ("vda", False, False),
        ("vdb", False, True),
        ("vdc", True, False),
    ]


def test_live_from_where_it_runs() -> None:
    plan = plan_migration(request(), RUNNING_ON_A, XML, SEES_ALL)
    assert (plan.action, plan.source, plan.unsafe) == ("live", A, False)
    assert plan.actions == [f"live-migrate web1 from {A} to {B} (p2p, copy_storage none)"]


def test_already_there_is_no_change_and_a_stale_copy_is_undefined() -> None:
    assert plan_migration(request(), [Placement(B, True, True), Placement(A, False, False)], None, None).actions == []
    stale = plan_migration(request(), [Placement(B, True, True), Placement(A, True, False)], None, None)
    assert (stale.action, stale.stale, stale.actions) == (
        "undefine-stale",
        [A],
        [f"undefine the stopped copy of web1 on {A}"],
    )


def test_stopped_elsewhere_moves_offline_and_nowhere_is_an_error() -> None:
    plan = plan_migration(request(), [Placement(B, False, False), Placement(A, True, False)], XML, SEES_ALL)
    assert plan.action == "offline" and plan.actions == [f"offline-migrate web1 from {A} to {B} (definition only)"]
    with pytest.raises(ConflictError, match=re.escape(f"domain 'web1' is on none of {B}, {A}; define it first")):
        plan_migration(request(), [Placement(B, False, False), Placement(A, False, False)], None, None)


def test_running_twice_is_refused() -> None:
    with pytest.raises(ConflictError, match=re.escape(f"runs on more than one hypervisor ({B}, {A})")):
        plan_migration(request(), [Placement(B, True, True), Placement(A, True, True)], XML, SEES_ALL)


def test_refusals_name_the_object_and_the_fix() -> None:
    no_lan = Destination(frozenset(), frozenset(), SEES_ALL.visible_paths, SEES_ALL.pool_dirs)
    with pytest.raises(ConflictError, match=re.escape(f"uses network 'lan', which {B} does not have")):
        plan_migration(request(), RUNNING_ON_A, XML, no_lan)
    private = Destination(SEES_ALL.networks, frozenset(), frozenset({"/srv/shared/quorum.raw"}), frozenset())
    with pytest.raises(ConflictError, match="disk vda of domain 'web1' .* is not on storage .* set copy_storage: all"):
        plan_migration(request(), RUNNING_ON_A, XML, private)
    with pytest.raises(ConflictError, match="no pool on .* has the directory /var/lib/libvirt/images"):
        plan_migration(request(copy_storage="all"), RUNNING_ON_A, XML, private)
    blind = Destination(SEES_ALL.networks, frozenset(), frozenset({"/var/lib/libvirt/images/web1.qcow2"}), frozenset())
    with pytest.raises(ConflictError, match="disk vdb .* is a shared disk .* shared disks are never copied"):
        plan_migration(request(copy_storage="all"), RUNNING_ON_A, XML, blind)
    cpu = Destination(SEES_ALL.networks, frozenset(), SEES_ALL.visible_paths, SEES_ALL.pool_dirs, cpu_compatible=False)
    with pytest.raises(ConflictError, match="CPU model of domain 'web1' is not available"):
        plan_migration(request(), RUNNING_ON_A, XML, cpu)


def test_unsafe_cache_needs_consent() -> None:
    writeback = XML.replace("type='raw' cache='none'", "type='raw' cache='writeback'", 1)
    with pytest.raises(UnsafeOperation) as refused:
        plan_migration(request(), RUNNING_ON_A, writeback, SEES_ALL)
    assert refused.value.consent == "allow_unsafe"
    assert plan_migration(request(allow_unsafe=True), RUNNING_ON_A, writeback, SEES_ALL).unsafe is True
    # Coherent caches on shared storage need no consent; given, it vouches for storage libvirt does not
    # recognize as shared (it refuses a disk on, say, ext4 that every host sees).
    assert plan_migration(request(), RUNNING_ON_A, XML, SEES_ALL).unsafe is False
    assert plan_migration(request(allow_unsafe=True), RUNNING_ON_A, XML, SEES_ALL).unsafe is True


def test_networks_are_read_from_the_definition_and_from_a_running_domain() -> None:
    # A running domain's plain XML (what a read-only connection gets) shows the NIC as a bridge.
    xml = """<domain><devices>
      <interface type='network'><source network='lan'/></interface>
      <interface type='bridge'><source network='only-a' portid='cb69' bridge='virbr7'/></interface>
      <interface type='bridge'><source bridge='br0'/></interface></devices></domain>"""
    assert networks_of(xml) == ["lan", "only-a"]


LUN_XML = """<domain type='kvm'><name>web1</name><devices>
  <disk type='volume' device='disk'><driver name='qemu' type='raw' cache='none'/>
    <source pool='vsa1' volume='unit:0:0:1'/><target dev='vda'/><shareable/></disk>
</devices></domain>"""


def test_a_shared_lun_of_a_network_pool_migrates_where_that_pool_holds_it_and_is_refused_elsewhere() -> None:
    holds = Destination(
        frozenset(), frozenset({"vsa1"}), frozenset(), frozenset(), None, frozenset({"vsa1/unit:0:0:1"})
    )
    assert plan_migration(request(), RUNNING_ON_A, LUN_XML, holds).action == "live"
    lacks = Destination(frozenset(), frozenset({"vsa1"}), frozenset(), frozenset())
    with pytest.raises(ConflictError, match=re.escape("is a shared disk (vsa1/unit:0:0:1) that")):
        plan_migration(request(), RUNNING_ON_A, LUN_XML, lacks)
