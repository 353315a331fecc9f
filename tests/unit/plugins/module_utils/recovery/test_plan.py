from __future__ import annotations

import typing as t

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import ConflictError
from ansible_collections.sharedvirt.kvm.plugins.module_utils.placement.model import Capacity, GuestLoad, HostLoad
from ansible_collections.sharedvirt.kvm.plugins.module_utils.recovery.plan import plan_recovery
from ansible_collections.sharedvirt.kvm.plugins.module_utils.recovery.record_model import (
    RECORD_NS,
    VmRecord,
    read_vm_record,
    record_document,
)

A, B, C = "qemu+tcp://a/system", "qemu+tcp://b/system", "qemu+tcp://c/system"
MIB, GIB = 2**20, 2**30
POLICY_NS = "https://sharedvirt.dev/xmlns/kvm/cluster/1.0"


def domain_xml(name: str, ha: bool = True, priority: int = 0, group: str = "", memory_mib: int = 256) -> str:
    extra = f' anti-affinity="{group}"' if group else ""
    return f"""<domain type='qemu'><name>{name}</name><memory unit='KiB'>{memory_mib * 1024}</memory>
      <vcpu placement='static'>1</vcpu><metadata>
      <c:policy xmlns:c="{POLICY_NS}" ha="{"yes" if ha else "no"}" priority="{priority}"{extra}/></metadata>
      <devices><disk type='file' device='disk'><source file='/shared/{name}.raw'/><target dev='vda'/></disk>
      <lease><lockspace>sharedvirt</lockspace><key>{name}</key><target path='/shared/locks'/></lease>
      </devices></domain>"""


def record(name: str, host: str = B, running: bool = True, **policy: t.Any) -> VmRecord:
    return read_vm_record(record_document(domain_xml(name, **policy), host, running))


def host(uri: str, *names: str) -> HostLoad:
    return HostLoad(uri, 4 * GIB, 4, 4 * GIB, [GuestLoad(n, 256 * MIB, 1) for n in names])


CAPACITY = Capacity(reserve_memory=0)


def test_a_record_keeps_the_definition_where_it_ran_and_whether_it_should() -> None:
    kept = record("web", priority=50, group="front")
    assert (kept.name, kept.host, kept.running, kept.memory, kept.vcpus) == ("web", B, True, 256 * MIB, 1)
    assert kept.policy.ha is True and kept.policy.priority == 50 and kept.policy.anti_affinity == "front"
    assert kept.disks == ("/shared/web.raw",) and kept.lease == "/shared/locks"
    assert RECORD_NS not in kept.xml  # the definition as libvirt takes it back


def test_ha_vms_restart_by_priority_and_the_rest_is_reported() -> None:
    records = [
        record("low", priority=1),
        record("high", priority=90, group="db"),
        record("second", priority=50, group="db"),
        record("plain", ha=False),
        record("stopped", running=False),
        record("moved"),  # its record says b, but it runs on c already
        record("other-host", host=A),
    ]
    plan = plan_recovery({B: "fenced"}, [host(A, "other-host"), host(C, "moved")], records, {}, CAPACITY)
    assert [(r.name, dest) for r, dest in plan.restarts] == [("high", A), ("second", C), ("low", A)]
    assert plan.actions[0] == f"restart high on {A} (it ran on failed {B})"
    assert plan.left_down == {"plain": "not HA (cluster.ha is not set)", "stopped": "it was shut down on purpose"}
    assert plan.elsewhere == {"moved": C} and plan.changed


def test_no_restart_without_proof_or_while_a_lock_is_held() -> None:
    records = [record("web")]
    with pytest.raises(ConflictError, match=r"does not answer, which does not prove it stopped writing"):
        plan_recovery({B: None}, [host(A)], records, {}, CAPACITY)
    with pytest.raises(ConflictError, match=r"still hold their locks - web \(lock /shared/locks/sharedvirt/web\)"):
        plan_recovery({B: "fenced"}, [host(A)], records, {"web": "lock /shared/locks/sharedvirt/web"}, CAPACITY)


def test_a_vm_too_large_for_every_survivor_is_not_restarted_and_says_why() -> None:
    plan = plan_recovery({B: "fenced"}, [host(A)], [record("huge", memory_mib=8192)], {}, CAPACITY)
    assert plan.restarts == [] and plan.not_restarted["huge"].startswith("no hypervisor can take domain 'huge'")
    assert plan.changed is False
