"""Windows guest options through the real libvirtd: Hyper-V enlightenments, localtime clock and timers, a USB
tablet, the video model, a virtio-win driver CD-ROM and a TPM 2.0 - declared, read back unchanged, and a guest
with an emulated TPM (swtpm) that runs."""

from __future__ import annotations

import shutil
import typing as t
from pathlib import Path

import pytest
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.modules import domain

URI = "qemu:///system"
BASE = Path("/var/tmp/sharedvirt-kvm")
WINDOWS: dict[str, t.Any] = {
    "hyperv": {
        "relaxed": True, "vapic": True, "spinlocks": 8191, "vpindex": True, "synic": True, "stimer": True,
        "reset": True, "frequencies": True, "tlbflush": True, "ipi": True,
    },
    "clock": {
        "offset": "localtime",
        "timers": [
            {"name": "rtc", "tickpolicy": "catchup"}, {"name": "pit", "tickpolicy": "delay"},
            {"name": "hpet", "present": False}, {"name": "hypervclock", "present": True},
        ],
    },
    "inputs": [{"type": "tablet", "bus": "usb"}],
    "video": {"model": "qxl", "vram": 65536},
}  # fmt: skip


def test_windows_options_round_trip_through_libvirt(lab: Lab) -> None:
    drivers = BASE / f"{lab.prefix}-virtio-win.iso"  # stands in for the virtio-win driver ISO
    drivers.parent.mkdir(parents=True, exist_ok=True)
    drivers.write_bytes(b"\0" * 2048 * 16)
    lab.files.append(drivers)
    params = guest_params(lab, f"{lab.prefix}-win", None, state="present", **WINDOWS)
    params["disks"] = [{"target": "sdb", "bus": "sata", "device": "cdrom", "source": {"file": str(drivers)}}]
    params["allowed_paths"] = [*params["allowed_paths"], str(BASE)]
    steps = ladder(domain, params)
    facts = steps[2]["domain"]
    assert facts["hyperv"] | WINDOWS["hyperv"] == facts["hyperv"]
    assert facts["clock"]["offset"] == "localtime"
    timers = {timer["name"]: timer for timer in facts["clock"]["timers"]}
    assert timers["hpet"]["present"] is False and timers["rtc"]["tickpolicy"] == "catchup"
    assert {"type": "tablet", "bus": "usb"} in facts["inputs"] and facts["video"]["model"] == "qxl"
    assert facts["disks"][0]["device"] == "cdrom" and facts["disks"][0]["source"]["file"] == str(drivers)
    xml = lab.conn.lookupByName(params["name"]).XMLDesc(0)
    assert "<spinlocks state='on' retries='8191'/>" in xml and "<timer name='hypervclock' present='yes'/>" in xml


@pytest.mark.skipif(shutil.which("swtpm") is None, reason="swtpm is missing: make setup installs it")
def test_a_guest_with_an_emulated_tpm_2_runs_and_keeps_its_state_unless_discarded(lab: Lab) -> None:
    params = guest_params(lab, f"{lab.prefix}-tpm", None, state="running", tpm={"version": "2.0"})
    started = run_module(domain, params)
    assert not started.get("failed"), started.get("msg")
    wait_for_marker(serial_path_of(params), "SVKVM-READY", 120)
    dom = lab.conn.lookupByName(params["name"])
    assert "<backend type='emulator' version='2.0'" in dom.XMLDesc(0)
    uuid = dom.UUIDString()
    state = Path("/var/lib/libvirt/swtpm") / uuid
    assert state.is_dir() and any(state.rglob("tpm2-00.permall")), "swtpm kept no TPM state"
    assert run_module(domain, params)["changed"] is False
    # Removing the domain keeps the TPM's state (its keys) unless discard names it.
    removed = run_module(domain, dict(params, state="absent", force=True))
    assert not removed.get("failed"), removed.get("msg")
    assert not removed.get("warnings"), "the guest should power off when asked, not be forced off"
    assert state.is_dir()
    shutil.rmtree(state)  # this test's own state, removed by hand: the module kept it on purpose
