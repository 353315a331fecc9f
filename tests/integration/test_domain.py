"""The domain module on the real libvirtd with the embedded TCG guest, every case on the ladder."""

from __future__ import annotations

import os
import signal
import subprocess
import typing as t
from pathlib import Path

import libvirt
import pytest
from testbed.guest import guest_image, local_domain_type, serial_path
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.wait import wait_for, wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.modules import domain

URI = "qemu:///system"
MIB = 2**20


def guest_params(lab: Lab, name: str, network: str | None, cmdline: str = "", **extra: t.Any) -> dict[str, t.Any]:
    image = guest_image()
    lab.domains.append(name)  # cleanup removes it even when the test fails halfway
    serial = serial_path(name)
    lab.files.append(serial)
    params: dict[str, t.Any] = {
        "uri": URI,
        "name": name,
        "type": local_domain_type(lab.conn),
        "memory": "192MiB",
        "vcpus": 1,
        "max_vcpus": 2,
        "kernel": image.kernel,
        "initrd": image.initrd,
        "cmdline": f"{image.cmdline} sv_hostname={name} {cmdline}".strip(),
        "interfaces": [{"source": {"network": network}, "model": "virtio"}] if network else [],
        "serial": {"type": "file", "path": str(serial)},
        "guest_agent": True,
        "memballoon": "virtio",
    }
    params.update(extra)
    return params


def remove(name: str) -> None:
    result = run_module(domain, {"uri": URI, "name": name, "state": "absent"})
    assert not result.get("failed"), result.get("msg")


def pin_of(dom: t.Any, vcpu: int) -> list[int]:
    return [cpu for cpu, on in enumerate(dom.vcpuPinInfo(libvirt.VIR_DOMAIN_AFFECT_LIVE)[vcpu]) if on]


def test_running_guest_lifecycle(lab: Lab, tmp_path: Path) -> None:
    net = lab.network()
    name = f"{lab.prefix}-vm"
    params = guest_params(lab, name, net.name, metadata={"group": "db"})

    started = ladder(domain, dict(params, state="running"))
    assert started[0]["actions"] == [f"define domain {name}", f"start domain {name}"]
    assert started[0]["domain"]["state"] == "running" and started[2]["domain"]["state"] == "running"
    dom = lab.conn.lookupByName(name)
    (mac,) = [n["mac"] for n in started[2]["domain"]["interfaces"]]
    wait_for(f"a lease for {mac}", lambda: [x for x in net.net.DHCPLeases() if x["mac"] == mac], 60)
    wait_for_marker(serial_path_of(params), r"SVKVM-READY", 60)

    # Balloon down and up again, live; the guest's balloon driver reports the new size.
    for size in (128, 192):
        changed = ladder(domain, dict(params, current_memory=f"{size}MiB"))
        assert f"set live memory of {name} to {size * MIB} bytes" in changed[2]["actions"]
        assert changed[2]["reboot_required"] is False
        wanted_kib = size * 1024
        wait_for(f"balloon at {size} MiB", lambda: dom.memoryStats().get("actual") == wanted_kib, 30)  # noqa: B023

    # CPU affinity, live.
    pinned = ladder(domain, dict(params, cputune={"vcpupin": [{"vcpu": 0, "cpuset": "1"}], "emulatorpin": "0"}))
    assert pinned[2]["reboot_required"] is False
    assert pin_of(dom, 0) == [1]
    assert [c for c, on in enumerate(dom.emulatorPinInfo(libvirt.VIR_DOMAIN_AFFECT_LIVE)) if on] == [0]

    # Hot-plug a disk and a second NIC, then unplug them.
    disk = Path("/var/tmp/sharedvirt-kvm") / f"{lab.prefix}-hot.raw"
    lab.files.append(disk)
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(disk), "16M"], check=True)
    extra_nic = {"mac": "52:54:00:5A:00:01", "source": {"network": net.name}, "model": "virtio"}
    plugged = ladder(
        domain,
        dict(
            params,
            interfaces=params["interfaces"] + [extra_nic],
            disks=[{"target": "vdb", "bus": "virtio", "format": "raw", "source": {"file": str(disk)}}],
        ),
    )
    assert plugged[2]["reboot_required"] is False
    live = dom.XMLDesc(0)
    assert str(disk) in live and "52:54:00:5a:00:01" in live
    unplugged = ladder(domain, dict(params, disks=[]))
    assert any(a.startswith("detach disk") for a in unplugged[2]["actions"])
    wait_for(
        "the NIC and disk to leave the live XML",
        lambda: str(disk) not in dom.XMLDesc(0) and "5a:00:01" not in dom.XMLDesc(0),
        30,
    )

    # Drift made behind the collection's back is found and corrected.
    subprocess.run(["virsh", "-q", "-c", URI, "desc", name, "--config", "--title", "edited by hand"], check=True)
    corrected = run_module(domain, dict(params, title="declared"))
    assert corrected["changed"] and corrected["domain"]["title"] == "declared"
    assert run_module(domain, dict(params, title="declared"))["changed"] is False

    # Something that cannot change on an existing domain: refused, nothing changed.
    refused = run_module(domain, dict(params, arch="i686"))
    assert refused["failed"] and "cannot change on an existing domain; set recreate=options-changed" in refused["msg"]
    assert lab.conn.lookupByName(name).isActive()

    # QEMU killed: the next run starts the guest again.
    pid = int(Path(f"/run/libvirt/qemu/{name}.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    wait_for("libvirt to see the guest stopped", lambda: not lab.conn.lookupByName(name).isActive(), 30)
    converged = run_module(domain, dict(params, state="running"))
    assert converged["changed"] and converged["actions"] == [f"start domain {name}"]

    # Graceful shutdown (ACPI first), then removal.
    wait_for_marker(serial_path_of(params), r"SVKVM-READY hostname=\S+\n(.|\n)*SVKVM-READY", 60)
    stopped = ladder(domain, dict(params, state="shutdown", timeout=60))
    assert stopped[2]["domain"]["state"] == "shutoff"
    ladder(domain, {"uri": URI, "name": name, "state": "absent"})


def serial_path_of(params: dict[str, t.Any]) -> Path:
    return Path(params["serial"]["path"])


def test_shutdown_timeout_fails_clearly_or_forces(lab: Lab) -> None:
    name = f"{lab.prefix}-deaf"
    params = guest_params(lab, name, None, cmdline="sv_ignore_poweroff=1", guest_agent=False)
    assert run_module(domain, dict(params, state="running"))["changed"]
    wait_for_marker(serial_path_of(params), r"SVKVM-READY", 60)
    refused = run_module(domain, dict(params, state="shutdown", timeout=4))
    assert refused["failed"] is True
    assert refused["msg"] == (
        f"domain {name} did not shut down within 4 s after the ACPI power button; "
        "set force=true to power it off after the timeout, or raise timeout"
    )
    assert lab.conn.lookupByName(name).isActive()
    forced = run_module(domain, dict(params, state="shutdown", timeout=4, force=True))
    assert forced["changed"] and forced["domain"]["state"] == "shutoff"
    assert any("destroyed it (force)" in w for w in forced.get("warnings", []))
    remove(name)


def test_uefi_guest_keeps_or_removes_nvram(lab: Lab) -> None:
    name = f"{lab.prefix}-efi"
    params = guest_params(lab, name, None, firmware="efi", machine="q35", guest_agent=False)
    params.update(kernel=None, initrd=None, cmdline=None)  # boots OVMF itself, not a kernel
    created = ladder(domain, dict(params, state="running"))
    assert created[2]["domain"]["firmware"] == "efi"
    nvram = Path(f"/var/lib/libvirt/qemu/nvram/{name}_VARS.fd")
    assert nvram.exists()
    ladder(domain, {"uri": URI, "name": name, "state": "absent"})
    assert not nvram.exists()


def test_overcommit_policy(lab: Lab) -> None:
    name = f"{lab.prefix}-oc"
    params = guest_params(lab, name, None, vcpus=2, state="running")
    cpus = lab.conn.getInfo()[2]
    refused = run_module(domain, dict(params, overcommit={"vcpu_ratio": 0.5}))
    assert refused["failed"] is True
    assert refused["msg"].startswith(f"starting domain {name} would overcommit the host: ")
    assert f"on {cpus} host CPUs" in refused["msg"] and "above the 0.5:1 allowed" in refused["msg"]
    with pytest.raises(libvirt.libvirtError):
        lab.conn.lookupByName(name)  # refused before anything was defined
    warned = run_module(domain, dict(params, overcommit={"vcpu_ratio": 0.5, "action": "warn"}))
    assert warned["changed"] and warned["domain"]["state"] == "running"
    assert any("would overcommit the host" in w for w in warned.get("warnings", []))
    remove(name)
