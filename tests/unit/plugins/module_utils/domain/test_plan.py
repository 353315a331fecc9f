from __future__ import annotations

import re
import typing as t

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import (
    ConflictError,
    SpecError,
    UnsafeOperation,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.model import DomainSpec
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.plan import (
    DomainActual,
    DomainRequest,
    plan_domain,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.placement.model import Capacity, GuestLoad, HostLoad

XML = """
<domain type='qemu'>
  <name>vm1</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory unit='KiB'>262144</memory>
  <currentMemory unit='KiB'>262144</currentMemory>
  <vcpu placement='static' current='1'>2</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/img/a.raw'/>
      <target dev='vda' bus='virtio'/><address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/></disk>
    <interface type='network'><mac address='52:54:00:00:00:01'/><source network='lab'/><model type='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></interface>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
  </devices>
</domain>
"""
NIC = {"mac": "52:54:00:00:00:01", "source": {"network": "lab"}, "model": "virtio"}
DISK = {"target": "vda", "source": {"file": "/img/a.raw"}}


def actual(state: str | None = "running", autostart: bool = False) -> DomainActual:
    return DomainActual(DomainSpec.from_xml(XML), XML, state, True, autostart)


def plan(params: dict[str, t.Any], state: str = "present", current: DomainActual | None = None, **request: t.Any):  # type: ignore[no-untyped-def]
    desired = DomainSpec.from_params({"name": "vm1", **params})
    return plan_domain(
        desired,
        DomainRequest(state=state, **request),
        current if current is not None else actual(),
        new_mac=lambda: "52:54:00:00:00:99",
    )


@pytest.mark.parametrize(
    ("params", "ops", "reboot"),
    [
        ({}, [], False),
        ({"memory": "256MiB", "vcpus": 1, "interfaces": [NIC], "disks": [DISK]}, [], False),
        ({"current_memory": "128MiB"}, ["define", "set_memory"], False),
        ({"vcpus": 2}, ["define", "set_vcpus"], False),
        ({"max_vcpus": 4}, ["define"], True),
        ({"memory": "512MiB"}, ["define"], True),
        ({"title": "t", "metadata": {"a": "1"}}, ["define", "set_metadata", "set_metadata"], False),
        (
            {"cputune": {"vcpupin": [{"vcpu": 0, "cpuset": "1"}], "emulatorpin": "0"}},
            ["define", "pin_vcpu", "pin_emulator"],
            False,
        ),
        ({"iothreads": 2}, ["define"], True),
        (
            {"cputune": {"iothreadpin": [{"iothread": 1, "cpuset": "1"}]}},
            ["define", "pin_iothread"],
            False,
        ),
        ({"interfaces": [NIC, {"source": {"network": "lab"}}]}, ["define", "attach"], False),
        ({"interfaces": []}, ["define", "detach"], False),
        ({"interfaces": [dict(NIC, link_state="down")]}, ["define", "update_device"], False),
        ({"interfaces": [dict(NIC, model="e1000")]}, ["define"], True),
        ({"disks": [DISK, {"target": "vdb", "source": {"file": "/img/b.raw"}}]}, ["define", "attach"], False),
        ({"disks": [dict(DISK, cache="none")]}, ["define"], True),
        ({"kernel": "/boot/k"}, ["define"], True),
    ],
)
def test_running_domain_changes(params: dict[str, t.Any], ops: list[str], reboot: bool) -> None:
    result = plan(params)
    assert [s.op for s in result.steps] == ops
    assert result.changed is bool(ops)
    assert result.reboot_required is reboot


def test_stopped_domain_changes_need_no_live_steps() -> None:
    result = plan({"current_memory": "128MiB", "interfaces": []}, current=actual("shutoff"))
    assert [s.op for s in result.steps] == ["define"]
    assert result.reboot_required is False


def test_new_nic_gets_one_mac_for_config_and_hot_plug() -> None:
    result = plan({"interfaces": [NIC, {"source": {"network": "lab"}}]})
    define, attach = result.steps
    assert "52:54:00:00:00:99" in define.args["xml"] and "52:54:00:00:00:99" in attach.args["xml"]


def test_detach_xml_has_no_persistent_address() -> None:
    detach = plan({"interfaces": []}).steps[1]
    assert "52:54:00:00:00:01" in detach.args["xml"] and "<address" not in detach.args["xml"]


def test_hot_plug_beyond_max_vcpus_is_refused() -> None:
    with pytest.raises(SpecError) as err:
        plan({"vcpus": 3})
    assert str(err.value) == "vcpus: 3 is more than the 2 vCPUs the running guest can hot-plug"


@pytest.mark.parametrize(
    ("state", "current", "ops", "after"),
    [
        ("present", "running", [], "running"),
        ("present", "shutoff", [], "shutoff"),
        ("running", "shutoff", ["start"], "running"),
        ("running", "paused", ["resume"], "running"),
        ("running", "running", [], "running"),
        ("paused", "running", ["suspend"], "paused"),
        ("paused", "shutoff", ["start", "suspend"], "paused"),
        ("shutdown", "running", ["shutdown"], "shutoff"),
        ("shutdown", "paused", ["resume", "shutdown"], "shutoff"),
        ("shutdown", "shutoff", [], "shutoff"),
        ("restarted", "running", ["shutdown", "start"], "running"),
        ("restarted", "shutoff", ["start"], "running"),
        ("absent", "running", ["shutdown", "undefine"], None),
        ("absent", "shutoff", ["undefine"], None),
    ],
)
def test_state_transitions(state: str, current: str, ops: list[str], after: str | None) -> None:
    result = plan({}, state=state, current=actual(current))
    assert [s.op for s in result.steps] == ops
    assert (result.after or {}).get("state") == after


def test_absent_when_already_absent_changes_nothing() -> None:
    result = plan({}, state="absent", current=DomainActual())
    assert not result.changed and result.after is None


def test_new_domain_defines_then_starts() -> None:
    result = plan({"memory": "128MiB"}, state="running", current=DomainActual(), autostart=True)
    assert [s.op for s in result.steps] == ["define", "autostart", "start"]
    assert result.after is not None and result.after["state"] == "running" and result.after["autostart"] is True


def test_immutable_change_refused_or_recreated() -> None:
    with pytest.raises(ConflictError) as err:
        plan({"machine": "q35"})
    assert "machine from 'pc-i440fx-7.2' to 'q35' cannot change on an existing domain" in str(err.value)
    assert not plan({"machine": "pc"}).changed  # an alias of the versioned type
    recreated = plan({"machine": "q35"}, recreate="options-changed")
    assert [s.op for s in recreated.steps] == ["shutdown", "undefine", "define", "start"]
    assert recreated.steps[0].args == {"timeout": 120, "force": False}  # graceful: powered off only with force
    assert "<address" not in recreated.steps[2].args["xml"]
    assert recreated.steps[1].args == {"remove_storage": "none", "discard": [], "carry_snapshots": True}
    assert recreated.steps[2].args["restore_snapshots"] is True


def test_restart_applies_reboot_required_changes() -> None:
    result = plan({"memory": "512MiB"}, state="restarted")
    assert [s.op for s in result.steps] == ["define", "shutdown", "start"]
    assert result.reboot_required is False


# 2 CPUs, 4 GiB; another running guest holds 3 vCPUs and 3 GiB; vm1 itself (stopped) does not count.
LOAD = HostLoad(
    "test:///default",
    memory=4 * 2**30,
    cpus=2,
    free_memory=2**30,
    guests=[GuestLoad("other", 3 * 2**30, 3), GuestLoad("vm1", 2**30, 2, active=False)],
)


def overcommit(vcpu_ratio: float | None, memory_ratio: float | None = None, action: str = "fail") -> DomainRequest:
    return DomainRequest(
        state="running", overcommit=Capacity.ratios(vcpu_ratio, memory_ratio), overcommit_action=action
    )


def test_overcommit_fails_with_figures() -> None:
    desired = DomainSpec.from_params({"name": "vm1", "vcpus": 2, "memory": "2GiB"})
    with pytest.raises(ConflictError) as err:
        plan_domain(desired, overcommit(2.0, 1.0), actual("shutoff"), load=LOAD)
    # memory: 3 GiB committed + this guest's 256 MiB balloon target stays under 1:1
    assert str(err.value) == (
        "starting domain vm1 would overcommit the host: 5 vCPUs on 2 host CPUs is 2.50:1, above the 2:1 allowed. "
        "Raise overcommit.vcpu_ratio or overcommit.memory_ratio, stop other guests, or set overcommit.action=warn"
    )


def test_overcommit_counts_memory_with_the_same_model_as_placement() -> None:
    desired = DomainSpec.from_params({"name": "vm1", "vcpus": 1, "memory": "2GiB", "current_memory": "2GiB"})
    with pytest.raises(ConflictError, match=r"5120 MiB of guest memory on 4096 MiB of RAM is 1.25:1, above the 1:1"):
        plan_domain(desired, overcommit(None, 1.0), actual("shutoff"), load=LOAD)
    assert plan_domain(desired, overcommit(None, 1.5), actual("shutoff"), load=LOAD).warnings == []


def test_overcommit_warns_or_passes() -> None:
    desired = DomainSpec.from_params({"name": "vm1", "vcpus": 1})
    warn = plan_domain(desired, overcommit(1.0, None, "warn"), actual("shutoff"), load=LOAD)
    assert [s.op for s in warn.steps] == ["start"] and "4 vCPUs on 2 host CPUs" in warn.warnings[0]
    ok = plan_domain(desired, overcommit(4.0), actual("shutoff"), load=LOAD)
    assert ok.warnings == []


def test_removal_options_reach_the_executor() -> None:
    result = plan({}, state="absent", current=actual("shutoff"), remove_storage="owned")
    (undefine,) = result.steps
    assert undefine.args == {"remove_storage": "owned", "discard": []}
    assert result.actions == ["undefine domain vm1 and its owned storage"]


def test_removal_of_a_paused_domain_resumes_it_first_so_that_it_can_shut_down() -> None:
    result = plan({}, state="absent", current=actual("paused"), force=True)
    assert [s.op for s in result.steps] == ["resume", "shutdown", "undefine"]
    assert result.actions[0] == "shut down domain vm1, powering it off after 120 s (force)"


def with_data(*keeps: str, state: str = "shutoff") -> DomainActual:
    current = actual(state)
    current.keeps = frozenset(keeps)
    return current


def test_removal_keeps_nvram_and_tpm_and_refuses_to_drop_the_rest_silently() -> None:
    kept = plan({}, state="absent", current=with_data("nvram", "tpm"))
    assert kept.steps[-1].args["discard"] == []  # the executor keeps both files
    dropped = plan({}, state="absent", current=with_data("nvram", "tpm"), discard=frozenset({"tpm"}))
    assert dropped.actions == ["undefine domain vm1, dropping its tpm"] and dropped.steps[-1].args["discard"] == ["tpm"]
    for what in ("managed_save", "snapshots", "checkpoints"):
        with pytest.raises(UnsafeOperation) as refused:
            plan({}, state="absent", current=with_data(what))
        assert refused.value.consent == "discard" and f"name {what} in discard to agree" in str(refused.value)
        agreed = plan({}, state="absent", current=with_data(what), discard=frozenset({what}))
        assert agreed.steps[-1].args["discard"] == [what]


def test_recreation_carries_snapshots_but_not_a_saved_memory_image() -> None:
    with_snapshots = plan(
        {"machine": "q35"}, recreate="options-changed", current=with_data("snapshots", "nvram", state="running")
    )
    assert [s.op for s in with_snapshots.steps] == ["shutdown", "undefine", "define", "start"]
    with pytest.raises(UnsafeOperation, match="a saved memory image"):
        plan({"machine": "q35"}, recreate="options-changed", current=with_data("managed_save"))


SHARED_VDB = (
    "<disk type='volume' device='disk' snapshot='no'><driver name='qemu' type='raw' cache='none' io='native'/>"
    "<source pool='p' volume='q.raw'/><target dev='vdb' bus='virtio'/><shareable/></disk>"
)
MARK_VDB = (
    "<metadata><sharedvirt-disks:disks xmlns:sharedvirt-disks='https://sharedvirt.dev/xmlns/kvm/shared-disks/1.0'>"
    "<sharedvirt-disks:target>vdb</sharedvirt-disks:target></sharedvirt-disks:disks></metadata>"
)
OWN_VDA = [{"target": "vda", "bus": "virtio", "format": "raw", "source": {"file": "/img/a.raw"}}]


def with_shared_vdb(marked: bool) -> DomainActual:
    xml = XML.replace("</devices>", SHARED_VDB + "</devices>")
    if marked:
        xml = xml.replace("<os>", MARK_VDB + "<os>")
    return DomainActual(DomainSpec.from_xml(xml), xml, "running", True, False)


def test_the_domain_module_leaves_disks_of_shared_disk_alone() -> None:
    # A rerun of the domain task that declares only its own disk: the shared disk stays, live and defined.
    kept = plan({"disks": OWN_VDA}, current=with_shared_vdb(marked=True))
    assert kept.actions == [] and kept.steps == []
    # Without the marker the declared list is complete, as documented: the disk goes (negative control).
    dropped = plan({"disks": OWN_VDA}, current=with_shared_vdb(marked=False))
    assert [s.op for s in dropped.steps] == ["define", "detach"]
    # Declaring the target itself hands the disk back to the domain module.
    mine = plan(
        {"disks": [*OWN_VDA, {"target": "vdb", "source": {"file": "/img/b.raw"}}]}, current=with_shared_vdb(True)
    )
    assert mine.actions[0].startswith("update domain vm1: disks[target=vdb].source")


@pytest.mark.parametrize(
    ("disk", "message"),
    [
        (
            {"format": "qcow2", "cache": "none"},
            "disks[0].format: a qcow2 disk cannot be shared by several domains for writing: QEMU takes an exclusive "
            "write lock on it and libvirt refuses <shareable/> for it; use format=raw",
        ),
        (
            {"format": "raw", "cache": "writeback"},
            "disks[0].cache: cache=writeback lets each domain keep writes the others cannot see; a shared disk needs "
            "cache=none or directsync",
        ),
        (
            {"format": "raw"},
            "disks[0].cache: cache=default (writeback) lets each domain keep writes the others cannot see",
        ),
    ],
)
def test_a_shareable_disk_follows_the_shared_disk_rules(disk: dict[str, str], message: str) -> None:
    with pytest.raises(SpecError) as err:
        DomainSpec.from_params(
            {"name": "vm1", "disks": [{"target": "vdb", "shareable": True, "source": {"file": "/s.img"}, **disk}]}
        )
    assert str(err.value).startswith(message)


def test_a_domain_running_on_a_peer_is_refused_before_it_starts() -> None:
    stopped = actual("shutoff")
    stopped.running_elsewhere = ["qemu+tcp://hv2/system"]
    with pytest.raises(ConflictError, match=r"^domain vm1 runs on qemu\+tcp://hv2/system; starting it here as well"):
        plan({}, state="running", current=stopped)
    assert plan({}, state="present", current=stopped).steps == []  # only a start is refused


def running_with_live(live_xml: str) -> DomainActual:
    current = actual("running")
    current.live = DomainSpec.from_xml(live_xml)
    return current


def test_a_running_guest_catches_up_with_its_definition() -> None:
    # The definition has vda and the NIC; the running guest lost the NIC (its hot-plug failed earlier).
    without_nic = re.sub(r"<interface.*?</interface>", "", XML, flags=re.S)
    nic = [{"mac": "52:54:00:00:00:01", "source": {"network": "lab"}, "model": "virtio"}]
    repaired = plan({"interfaces": nic}, current=running_with_live(without_nic))
    assert [s.op for s in repaired.steps] == ["attach"] and "52:54:00:00:00:01" in repaired.steps[0].args["xml"]
    assert repaired.changed
    # Not declared, not compared: a run about memory leaves the live devices alone.
    assert plan({}, current=running_with_live(without_nic)).steps == []
    # A disk the guest kept after it left the definition goes.
    extra = XML.replace(
        "</devices>",
        "<disk type='file' device='disk'><source file='/x.raw'/><target dev='vdz' bus='virtio'/></disk></devices>",
    )
    disks = [{"target": "vda", "bus": "virtio", "format": "raw", "source": {"file": "/img/a.raw"}}]
    cleaned = plan({"disks": disks}, current=running_with_live(extra))
    assert [s.op for s in cleaned.steps] == ["detach"] and "vdz" in cleaned.actions[0]


def test_iothread_pins_apply_live_and_an_unlisted_one_goes_back_to_all_cpus() -> None:
    pinned = XML.replace("<os>", "<iothreads>2</iothreads><cputune><iothreadpin iothread='1' cpuset='0'/>"
                         "<iothreadpin iothread='2' cpuset='0'/></cputune><os>")  # fmt: skip
    current = DomainActual(DomainSpec.from_xml(pinned), pinned, "running", True, False)
    result = plan({"cputune": {"iothreadpin": [{"iothread": 2, "cpuset": "1"}]}}, current=current)
    assert [(s.op, s.args) for s in result.steps[1:]] == [
        ("pin_iothread", {"iothread": 1, "cpuset": None}),
        ("pin_iothread", {"iothread": 2, "cpuset": "1"}),
    ]
    assert '<iothreadpin iothread="2" cpuset="1"' in result.steps[0].args["xml"]
    assert 'iothread="1"' not in result.steps[0].args["xml"]


def test_an_iothread_pin_beyond_the_iothreads_is_refused() -> None:
    with pytest.raises(SpecError, match=r"cputune.iothreadpin\[0\].iothread: 3 is not one of the 2 IOThreads"):
        plan({"iothreads": 2, "cputune": {"iothreadpin": [{"iothread": 3, "cpuset": "0"}]}})
