"""At a hypervisor's boot its appliance serves before the VMs on its LUNs start (libvirt 9.0 has no autostart order).

One namespace hypervisor (tools/hostbed.py) runs an appliance and an autostart VM whose disk is the appliance's
LUN, and loses power twice. Without the shared_storage role's start hook (the negative control), libvirt
autostarts the consumer pool before the appliance serves: the pool fails, the VM on it fails, and both stay down
although the appliance then serves. With the hook they start once it serves, and the VM reads its marker through
the LUN. A restart of libvirtd alone (not a boot) starts no VM that was shut down on purpose."""

from __future__ import annotations

import re
import secrets
import time
import typing as t
from pathlib import Path

import pytest
import yaml
from testbed.ansible import PlaybookRun, run_playbook
from testbed.ansible import changed_on_every_host as changed
from testbed.ansible import playbook_ok as ok
from testbed.appliance_image import appliance_image
from testbed.hosts import HostBed, NsHost, remove_domains_everywhere
from testbed.lab import Lab
from testbed.modules import run_module
from testbed.params import guest_params, serial_path_of
from testbed.paths import GUEST_CACHE, RUN_DIR
from testbed.wait import wait_for

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, pool

SETTINGS_DIR = RUN_DIR / "appliance-settings"
HOOK_ROUNDS = 10  # seconds: two of the hook's retry rounds, in which the negative control must stay down
READ = "SVKVM-READ /dev/vda s0=<SVKVM-MARK BOOT>"


@pytest.fixture(scope="module")
def bed() -> t.Iterator[HostBed]:
    with HostBed("svt-boot", 1) as hosts:
        yield hosts


def count(path: Path, text: str) -> int:
    try:
        return path.read_text(errors="replace").count(text)
    except FileNotFoundError:
        return 0


def power_cycle(host: NsHost, console: Path) -> t.Any:
    """A power loss and a boot; returns a connection once the appliance, which libvirt autostarts, serves again."""
    served = count(console, "SVKVM-TARGET")
    host.crash()
    host.revive()
    wait_for("the appliance to serve after the boot", lambda: count(console, "SVKVM-TARGET") > served, 180)
    return host.open()


@pytest.mark.guests(1)  # the appliance, which the role's playbook starts; the consumer takes its own slot
def test_after_a_power_loss_the_vm_on_the_hosts_appliance_starts_once_it_serves_and_a_libvirtd_restart_starts_none(
    bed: HostBed, prefix: str, tmp_path: Path
) -> None:
    host = bed.hosts[0]
    name, vm = f"{prefix}-sa", f"{prefix}-vm"
    console, local = RUN_DIR / f"{prefix}-sa.serial", RUN_DIR / f"{prefix}-local"
    hook = host.root / "etc" / "hooks" / "daemon.d" / "sharedvirt-kvm-autostart"
    hook_log = host.root / "log" / "sharedvirt-kvm-autostart.log"
    lab = Lab(host.open(), prefix)
    lab.files += [local, console, SETTINGS_DIR / f"{name}.conf"]
    inventory = tmp_path / "host.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"h": {"ansible_connection": "local"}}}}))
    role = {
        "storage_appliance_name": name,
        "storage_appliance_image": appliance_image(GUEST_CACHE).to_dict(),
        "storage_appliance_pool": f"{prefix}-local",
        "storage_appliance_volumes": [{"name": "lun1.raw", "capacity": "16MiB", "lun": 1}],
        "storage_appliance_address": f"{list(bed.subnet.hosts())[199]}/{bed.subnet.prefixlen}",
        "storage_appliance_bridge": "lan",
        "storage_appliance_chap_password": "svt" + secrets.token_hex(6),
        "storage_appliance_domain_type": "qemu",
        "storage_appliance_lock_memory": False,
        "storage_appliance_settings_dir": str(SETTINGS_DIR),
        "storage_appliance_console_log": str(console),
        "storage_appliance_uri": host.uri,
        "storage_appliance_hosts": ["h"],
        # The host's own /etc/libvirt/hooks: the bed keeps each host's /etc/libvirt there.
        "shared_storage_hooks_dir": str(host.root / "etc" / "hooks"),
    }

    def play(**extra: t.Any) -> PlaybookRun:
        role_name = "sharedvirt.kvm.storage_appliance"
        tasks = [{"name": f"Run {entry}", "ansible.builtin.include_role": {"name": role_name, "tasks_from": entry}}
                 for entry in ("main", "consume")]  # fmt: skip
        text = yaml.safe_dump([{"name": "An appliance and its consumer pool", "hosts": "h", "gather_facts": False,
                                "module_defaults": {"group/sharedvirt.kvm.libvirt": {"uri": host.uri}},
                                "vars": {**role, **extra}, "tasks": tasks}])  # fmt: skip
        return ok(run_playbook(text, inventory=inventory))

    try:
        # Its disks' pool starts with the host, and so does the appliance.
        params = {"name": f"{prefix}-local", "type": "dir", "target": {"path": str(local)}, "autostart": True}
        assert not run_module(pool, {"uri": host.uri, **params}).get("failed")
        play(shared_storage_boot_timeout=0)
        assert not hook.exists()
        disk = {"target": "vda", "format": "raw", "cache": "none", "source": {"pool": name, "volume": "unit:0:0:1"}}
        cmdline = "sv_disk=/dev/vda sv_write=BOOT sv_read=0"
        consumer = guest_params(lab, vm, None, cmdline=cmdline, disks=[disk], state="running", autostart=True,
                                uri=host.uri)  # fmt: skip
        started = run_module(domain, consumer)
        assert not started.get("failed"), started.get("msg")
        serial = serial_path_of(consumer)
        wait_for("the VM to read its mark through the LUN", lambda: count(serial, READ) == 1, 120)

        # Without the hook: libvirt's autostart tried the pool before the appliance served, then the VM; both
        # stay down while the appliance serves.
        conn = lab.conn = power_cycle(host, console)
        time.sleep(HOOK_ROUNDS)
        assert not conn.storagePoolLookupByName(name).isActive()
        assert not conn.lookupByName(vm).isActive()
        assert count(serial, READ) == 1

        # The role's default installs the hook (and starts the pool now); at the next boot the pool, then the VM,
        # start once the appliance serves, and the VM reads its mark through the LUN again.
        assert changed(play()) > 0 and hook.exists()  # its rerun changes nothing: test_storage_appliance_cluster
        conn = lab.conn = power_cycle(host, console)
        wait_for("the VM to start after its appliance and read its mark", lambda: count(serial, READ) == 2, 120)
        assert conn.storagePoolLookupByName(name).isActive() and conn.lookupByName(vm).isActive()
        wait_for("the hook to finish", lambda: "every autostart pool and VM runs" in hook_log.read_text(), 30)
        log = hook_log.read_text()
        assert re.search(rf"left off: .*\b{vm}\b", log), log
        assert f"started pool {name}\n" in log and f"started VM {vm}\n" in log, log
        assert log.index(f"started pool {name}") < log.index(f"started VM {vm}"), log

        # libvirtd restarts without a boot: the VM an operator shut down stays down.
        conn.lookupByName(vm).destroy()
        host.restart_libvirtd()
        conn = lab.conn = host.open()
        time.sleep(HOOK_ROUNDS)
        assert not conn.lookupByName(vm).isActive()
        assert hook_log.read_text() == log
    finally:
        remove_domains_everywhere([host.open()], prefix)  # the connection of the last boot may be gone
        lab.domains.clear()
        lab.cleanup()
