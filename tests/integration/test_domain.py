"""The domain module on the real libvirtd with the embedded TCG guest, every case on the ladder."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
import typing as t
from pathlib import Path

import libvirt
import pytest
from testbed.guest import local_domain_type
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for, wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.cluster_model import ClusterPolicy
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.model import DomainSpec
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.single_devices_model import WatchdogSpec
from ansible_collections.sharedvirt.kvm.plugins.modules import domain, domains

URI = "qemu:///system"
MIB = 2**20


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

    # A second vCPU hot-plugged (max_vcpus is 2).
    hot = ladder(domain, dict(params, vcpus=2))
    assert hot[2]["reboot_required"] is False and f"set live vCPUs of {name} to 2" in hot[2]["actions"]
    assert dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE) == 2
    params["vcpus"] = 2

    # CPU affinity, live.
    pinned = ladder(domain, dict(params, cputune={"vcpupin": [{"vcpu": 0, "cpuset": "1"}], "emulatorpin": "0"}))
    assert pinned[2]["reboot_required"] is False
    assert pin_of(dom, 0) == [1]
    assert [c for c, on in enumerate(dom.emulatorPinInfo(libvirt.VIR_DOMAIN_AFFECT_LIVE)) if on] == [0]

    # The cluster policy, live and in the definition; a second field leaves the first alone.
    policy = ladder(domain, dict(params, cluster={"ha": True, "priority": 40}))
    assert policy[2]["actions"][-1] == f"set live cluster policy of {name}" and policy[2]["reboot_required"] is False
    ladder(domain, dict(params, cluster={"maintenance_policy": "shutdown"}))
    tagged = ladder(domain, dict(params, metadata={"tier": "front"}))
    assert f"set live metadata of {name}" in tagged[2]["actions"]
    for flags in (libvirt.VIR_DOMAIN_XML_INACTIVE, 0):
        live_or_not = DomainSpec.from_xml(dom.XMLDesc(flags))
        assert live_or_not.cluster == ClusterPolicy(True, 40, "shutdown") and live_or_not.metadata == {"tier": "front"}

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
    # OVMF without a boot disk never answers the power button: removal powers it off only with force.
    kept = run_module(domain, {"uri": URI, "name": name, "state": "absent", "force": True, "timeout": 5})
    assert kept["changed"] and nvram.exists()  # the UEFI variables stay by default
    assert run_module(domain, params)["changed"]  # defined again, with the NVRAM it had
    ladder(domain, {"uri": URI, "name": name, "state": "absent", "discard": ["nvram"]})
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
    # No graceful removal: the guest, seconds into its boot, would not hear the power button for a minute; the
    # lab's cleanup powers it off.


def test_every_option_round_trips_through_libvirt(lab: Lab) -> None:
    """A definition using every structured option: libvirt's canonical XML compares equal on rerun."""
    net = lab.network()
    name = f"{lab.prefix}-rich"
    lab.domains.append(name)
    params: dict[str, t.Any] = {
        "uri": URI,
        "name": name,
        "type": local_domain_type(lab.conn),
        "title": "rich <guest> & co",
        "description": "every option",
        "allowed_paths": ["/var/tmp/sharedvirt-kvm"],
        "metadata": {"group": "db", "tier": "back"},
        "cluster": {"ha": True, "priority": 10, "maintenance_policy": "shutdown", "anti_affinity": "db"},
        "memory": "256MiB",
        "current_memory": "192MiB",
        "vcpus": 2,
        "max_vcpus": 4,
        "cpu": {"mode": "custom", "model": "qemu64", "topology": {"sockets": 1, "dies": 1, "cores": 2, "threads": 2}},
        "cputune": {"vcpupin": [{"vcpu": 0, "cpuset": "0"}, {"vcpu": 1, "cpuset": "0,1"}], "emulatorpin": "1"},
        "memory_backing": {"nosharepages": True},
        "memballoon": "virtio",
        "machine": "pc",
        "firmware": "bios",
        "boot": ["hd", "network"],
        "disks": [
            {
                "target": "vda",
                "bus": "virtio",
                "format": "raw",
                "cache": "none",
                "io": "native",
                "serial": "RICH01",
                "source": {"file": f"/var/tmp/sharedvirt-kvm/{name}.raw"},
            },
            {
                "target": "sdb",
                "bus": "scsi",
                "format": "raw",
                "wwn": "5000c50015ea71ac",
                "source": {"file": f"/var/tmp/sharedvirt-kvm/{name}-scsi.raw"},
            },
            {
                "target": "vdb",
                "bus": "virtio",
                "format": "raw",
                "cache": "none",
                "shareable": True,
                "source": {
                    "protocol": "iscsi",
                    "name": "iqn.2024-01.svt:lun1/1",
                    "hosts": [{"name": "127.0.0.1", "port": 3260}],
                    "auth": {"username": "u", "secret": {"type": "iscsi", "usage": f"{name}-chap"}},
                },
            },
            {
                "target": "vdc",
                "bus": "virtio",
                "format": "raw",
                "source": {"protocol": "rbd", "name": "rbd/img", "hosts": [{"name": "127.0.0.1", "port": 6789}]},
            },
            {"target": "sda", "bus": "sata", "device": "cdrom", "readonly": True},
        ],
        "interfaces": [
            {"mac": "52:54:00:AB:00:01", "source": {"network": net.name}, "model": "virtio", "link_state": "down"},
            {
                "mac": "5254.00ab.0002",
                "source": {"bridge": "svtovs0"},
                "virtualport": "openvswitch",
                "vlan": {"tag": 10},
            },
            {"mac": "525400ab0003", "source": {"dev": "lo", "mode": "bridge"}, "model": "e1000"},
        ],
        "graphics": [{"type": "vnc", "listen": "127.0.0.1", "password": "s3cr3tvn"}],
        "serial": {"type": "pty"},
        "guest_agent": True,
        "autostart": False,
    }
    results = ladder(domain, params)
    facts = results[2]["domain"]
    assert facts["cputune"] == {
        "vcpupin": [{"vcpu": 0, "cpuset": "0"}, {"vcpu": 1, "cpuset": "0-1"}],
        "emulatorpin": "1",
        "iothreadpin": [],
    }
    assert facts["machine"].startswith("pc-i440fx-")
    assert [n["mac"] for n in facts["interfaces"]] == ["52:54:00:ab:00:01", "52:54:00:ab:00:02", "52:54:00:ab:00:03"]
    assert facts["graphics"][0]["password"] == "********"
    assert all("s3cr3tvn" not in str(r) for r in results)
    assert "s3cr3tvn" in lab.conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)
    changed = run_module(
        domain, dict(params, graphics=[{"type": "vnc", "listen": "127.0.0.1", "password": "other"}]), diff=True
    )
    assert changed["changed"] and changed["actions"] == [f"update domain {name}: graphics[type=vnc].password"]
    assert "other" not in str(changed) and "s3cr3tvn" not in str(changed)
    ladder(domain, {"uri": URI, "name": name, "state": "absent"})


def test_remove_storage_owned_keeps_shared_and_foreign_volumes(lab: Lab) -> None:
    pool_dir = Path("/var/tmp/sharedvirt-kvm") / f"{lab.prefix}-pool"
    pool_dir.mkdir(parents=True, exist_ok=True)
    pool = lab.conn.storagePoolCreateXML(
        f"<pool type='dir'><name>{lab.prefix}-p</name><target><path>{pool_dir}</path></target></pool>", 0
    )
    try:
        for volume in ("own.raw", "shared.raw", "other.raw"):
            xml = f"<volume><name>{volume}</name><capacity unit='MiB'>4</capacity>"
            pool.createXML(xml + "<target><format type='raw'/></target></volume>", 0)
        owner, other = f"{lab.prefix}-owner", f"{lab.prefix}-other"
        lab.domains += [owner, other]

        def disk(target: str, volume: str, **extra: t.Any) -> dict[str, t.Any]:
            return {"target": target, "format": "raw", "source": {"pool": f"{lab.prefix}-p", "volume": volume}, **extra}

        base = {"uri": URI, "type": local_domain_type(lab.conn), "memory": 64}
        made = run_module(
            domain,
            dict(
                base,
                name=owner,
                disks=[
                    disk("vda", "own.raw"),
                    disk("vdb", "shared.raw", shareable=True, cache="none"),
                    disk("vdc", "other.raw"),
                ],
            ),
        )
        assert made["changed"] and not made.get("failed"), made.get("msg")
        # The module would refuse a second writer of other.raw; another tool defines one behind its back.
        lab.conn.defineXML(
            f"<domain type='qemu'><name>{other}</name><memory unit='MiB'>64</memory><os><type>hvm</type></os>"
            f"<devices><disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='{lab.prefix}-p' "
            "volume='other.raw'/><target dev='vda' bus='virtio'/></disk></devices></domain>"
        )
        removed = ladder(domain, {"uri": URI, "name": owner, "state": "absent", "remove_storage": "owned"})
        assert removed[2]["removed_storage"] == [str(pool_dir / "own.raw")]
        assert any("another domain uses it" in w for w in removed[2]["warnings"])
        pool.refresh(0)
        assert sorted(pool.listVolumes()) == ["other.raw", "shared.raw"]
        remove(other)
    finally:
        for vol in pool.listAllVolumes():
            vol.delete(0)
        pool.destroy()
        pool_dir.rmdir()


def test_domains_module_runs_guests_in_one_task(lab: Lab) -> None:
    net = lab.network()
    guests = [guest_params(lab, f"{lab.prefix}-many{i}", net.name) for i in range(2)]
    items = [{k: v for k, v in g.items() if k != "uri"} for g in guests]
    steps = ladder(domains, {"uri": URI, "defaults": {"state": "running"}, "domains": items})
    assert [r["domain"]["state"] for r in steps[2]["results"]] == ["running", "running"]
    for params in guests:
        wait_for_marker(serial_path_of(params), r"SVKVM-READY", 60)
    gone = run_module(
        domains, {"uri": URI, "defaults": {"state": "absent"}, "domains": [{"name": g["name"]} for g in guests]}
    )
    names = [g["name"] for g in guests]
    assert gone["actions"] == [f"{verb} domain {name}" for name in names for verb in ("shut down", "undefine")]
    for params in guests:  # each guest powered itself off on the ACPI request: none was pulled
        assert "SVKVM-POWEROFF" in serial_path_of(params).read_text(errors="replace")
    assert not [d for d in lab.conn.listAllDomains() if d.name().startswith(f"{lab.prefix}-many")]


def test_recreate_shuts_down_cleanly_and_keeps_nvram_and_tpm(lab: Lab) -> None:
    """A UEFI guest with a vTPM (swtpm): recreate powers it off through ACPI, and its variables and TPM stay."""
    name = f"{lab.prefix}-tpm"
    xml = (
        f"<domain type='qemu'><name>{name}</name><features><acpi/><apic/></features><devices>"
        "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm></devices></domain>"
    )
    # A direct kernel boot: the Debian kernel is not signed with the keys a Secure Boot firmware enrolls.
    params = guest_params(lab, name, None, firmware="efi", secure_boot=False, machine="q35", xml=xml, state="running")
    made = run_module(domain, params)
    assert made["changed"] and not made.get("failed"), made.get("msg")
    serial = serial_path_of(params)
    wait_for_marker(serial, r"SVKVM-READY", 240)
    uuid = lab.conn.lookupByName(name).UUIDString()
    nvram = Path(f"/var/lib/libvirt/qemu/nvram/{name}_VARS.fd")
    tpm = Path(f"/var/lib/libvirt/swtpm/{uuid}/tpm2/tpm2-00.permall")
    assert nvram.exists() and tpm.exists()

    recreated = run_module(domain, dict(params, recreate="always", state="shutdown"))
    assert not recreated.get("failed"), recreated.get("msg")
    assert recreated["actions"][:2] == [
        f"shut down domain {name} to recreate it",
        f"recreate domain {name}: recreate=always",
    ]
    assert "SVKVM-POWEROFF" in serial.read_text(errors="replace")  # the guest powered itself off: not destroyed
    assert nvram.exists() and tpm.exists() and lab.conn.lookupByName(name).UUIDString() == uuid
    kept = (digest(nvram), digest(tpm))
    # Recreated once more while off: the files come through byte for byte.
    assert run_module(domain, dict(params, recreate="always", state="shutdown"))["changed"]
    assert (digest(nvram), digest(tpm)) == kept
    # Only when discard names them do they go.
    gone = run_module(domain, {"uri": URI, "name": name, "state": "absent", "discard": ["nvram", "tpm"]})
    assert gone["changed"] and not nvram.exists() and not tpm.exists()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_guest_that_stops_feeding_its_watchdog_is_reset(lab: Lab) -> None:
    """Both guests feed /dev/watchdog for 6 s, then stop; QEMU resets only the one with a watchdog device."""
    cmdline = "sv_load=i6300esb sv_watchdog=6"
    watched = guest_params(lab, f"{lab.prefix}-wd", None, cmdline, watchdog={"model": "i6300esb", "action": "reset"})
    unwatched = guest_params(lab, f"{lab.prefix}-nowd", None, cmdline)
    # The negative control starts first, so it stops feeding first: it is starved at least as long as the other.
    assert run_module(domain, dict(unwatched, state="running"))["changed"]
    ladder(domain, dict(watched, state="running"))
    defined = DomainSpec.from_xml(lab.conn.lookupByName(watched["name"]).XMLDesc(0))
    assert defined.watchdog == WatchdogSpec("i6300esb", "reset")
    wait_for_marker(serial_path_of(unwatched), r"SVKVM-WATCHDOG stopped feeding", 120)
    unwatched_stopped = time.monotonic()
    serial = serial_path_of(watched)
    wait_for_marker(serial, r"SVKVM-WATCHDOG stopped feeding", 120)
    wait_for("QEMU to reset the starved guest", lambda: serial.read_text(errors="replace").count("SVKVM-BOOT") >= 2, 60)
    # The same guest without the device is never reset - given three times the 5 s watchdog timeout.
    time.sleep(max(0.0, 15 - (time.monotonic() - unwatched_stopped)))
    assert serial_path_of(unwatched).read_text(errors="replace").count("SVKVM-BOOT") == 1
    for params in (watched, unwatched):
        run_module(domain, {"uri": URI, "name": params["name"], "state": "absent", "force": True, "timeout": 10})
