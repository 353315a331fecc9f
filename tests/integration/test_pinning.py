"""Pinning that acts: each QEMU thread - every vCPU, the emulator, every IOThread - runs on the host CPUs the
domain declares, read from the kernel (/proc/<pid>/task/<tid>/status), live and after a restart."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import libvirt
import libvirt_qemu
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.cpuset import parse_cpuset
from ansible_collections.sharedvirt.kvm.plugins.modules import domain

ALL = "0-1"  # this machine's two CPUs


def allowed(pid: int, tid: int) -> str:
    """The kernel's affinity of one thread, as the kernel prints it (Cpus_allowed_list)."""
    status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
    return next(line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("Cpus_allowed_list"))


def qemu(dom: t.Any, command: str) -> t.Any:
    return json.loads(libvirt_qemu.qemuMonitorCommand(dom, json.dumps({"execute": command}), 0))["return"]


def threads(conn: t.Any, name: str) -> dict[str, str]:
    """Affinity of QEMU's threads by role: vcpu0.., emulator (the main thread), iothread1.. - matched through
    QEMU's own thread ids (query-cpus-fast, query-iothreads)."""
    dom = conn.lookupByName(name)
    pid = int(Path(f"/run/libvirt/qemu/{name}.pid").read_text())
    found = {f"vcpu{cpu['cpu-index']}": allowed(pid, cpu["thread-id"]) for cpu in qemu(dom, "query-cpus-fast")}
    found |= {f"iothread{n + 1}": allowed(pid, io["thread-id"]) for n, io in enumerate(qemu(dom, "query-iothreads"))}
    found["emulator"] = allowed(pid, pid)
    return found


def cpus(text: str) -> list[int]:
    return parse_cpuset(text)


def test_vcpus_emulator_and_iothreads_run_where_declared_live_and_after_a_restart(lab: Lab) -> None:
    online = Path("/sys/devices/system/cpu/online").read_text().strip()
    assert set(cpus(ALL)) <= set(cpus(online)), f"this test pins to CPUs {ALL}; this host has {online}"
    params = guest_params(lab, f"{lab.prefix}-pin", None, vcpus=2, iothreads=1, state="running")
    params["cputune"] = {
        "vcpupin": [{"vcpu": 0, "cpuset": "0"}, {"vcpu": 1, "cpuset": "1"}],
        "emulatorpin": "1",
        "iothreadpin": [{"iothread": 1, "cpuset": "0"}],
    }
    run = run_module(domain, params)
    assert not run.get("failed"), run.get("msg")
    wait_for_marker(serial_path_of(params), "SVKVM-READY", 120)
    declared = {"vcpu0": "0", "vcpu1": "1", "emulator": "1", "iothread1": "0"}
    assert threads(lab.conn, params["name"]) == declared

    # Live: swap everything; the steps run on the running guest, and the kernel shows the new affinity.
    swapped = {
        "vcpupin": [{"vcpu": 0, "cpuset": "1"}, {"vcpu": 1, "cpuset": "0"}],
        "emulatorpin": "0",
        "iothreadpin": [{"iothread": 1, "cpuset": "1"}],
    }
    steps = ladder(domain, dict(params, cputune=swapped))
    assert steps[2]["reboot_required"] is False
    assert "pin IOThread 1 of " + params["name"] + " to 1" in steps[2]["actions"]
    live = {"vcpu0": "1", "vcpu1": "0", "emulator": "0", "iothread1": "1"}
    assert threads(lab.conn, params["name"]) == live != declared  # the read tells the two apart

    # Unpinning an IOThread (no longer listed) puts it back on every CPU.
    unpinned = dict(swapped, iothreadpin=[])
    assert run_module(domain, dict(params, cputune=unpinned))["changed"]
    assert threads(lab.conn, params["name"])["iothread1"] == ALL

    # After a restart the new QEMU process has the definition's pins (libvirt kept what the module wrote).
    restarted = run_module(domain, dict(params, cputune=swapped, state="restarted", force=True))
    assert not restarted.get("failed"), restarted.get("msg")
    wait_for_marker(serial_path_of(params), "SVKVM-READY", 120)
    assert threads(lab.conn, params["name"]) == live
    assert lab.conn.lookupByName(params["name"]).state()[0] == libvirt.VIR_DOMAIN_RUNNING
