"""The storage_appliance role on this machine's libvirtd: a storage VM exports a volume of a local pool over
iSCSI with CHAP on an isolated network; the consume entry point gives the host an iscsi-direct pool of it, a
guest's marker written through that pool lands in the appliance's volume, and the LUN grows live under the guest."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
import typing as t
from pathlib import Path

import libvirt
import pytest
import yaml
from testbed.agent import agent, guest_sh
from testbed.ansible import PlaybookRun, playbook_ok, run_playbook
from testbed.appliance_image import appliance_image
from testbed.lab import Lab
from testbed.modules import run_module
from testbed.params import URI, guest_params, serial_path_of
from testbed.paths import GUEST_CACHE, RUN_DIR
from testbed.wait import wait_for, wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, pool, secret

SETTINGS_DIR = RUN_DIR / "appliance-settings"
MIB = 1024 * 1024


def play(role_vars: dict[str, t.Any], consume: bool = False) -> str:
    """The role on localhost; with ``consume``, then its consume entry point (which reads what the first set)."""
    entries = ["main", "consume"] if consume else ["main"]
    tasks = [
        {
            "name": f"Run {entry}",
            "ansible.builtin.include_role": {"name": "sharedvirt.kvm.storage_appliance", "tasks_from": entry},
            "vars": role_vars,
        }
        for entry in entries
    ]
    return yaml.safe_dump([{"name": "The storage appliance role", "hosts": "localhost", "gather_facts": False,
                            "tasks": tasks}])  # fmt: skip


def ladder(text: str) -> list[PlaybookRun]:
    """check, check with diff, apply, check again, apply again: the first three change, the last two do not."""
    runs = [run_playbook(text, check=True), run_playbook(text, check=True, diff=True), run_playbook(text)]
    runs += [run_playbook(text, check=True), run_playbook(text)]
    for run in runs:
        playbook_ok(run)
    assert [r.recap.get("changed", 0) > 0 for r in runs] == [True, True, True, False, False], [r.recap for r in runs]
    return runs


@pytest.mark.guests(1)  # the appliance, which the role's playbook starts
def test_an_appliance_exports_a_local_volume_that_a_guest_writes_through_iscsi(lab: Lab, prefix: str) -> None:
    net = lab.network()
    address = f"{ipaddress.ip_network(net.subnet)[200]}/{net.subnet.prefixlen}"
    local, path = f"{prefix}-local", RUN_DIR / f"{prefix}-local"
    lab.pools.append(local)
    lab.files.append(path)
    assert not run_module(pool, {"uri": URI, "name": local, "type": "dir", "target": {"path": str(path)}}).get("failed")
    image = appliance_image(GUEST_CACHE)
    name, console = f"{prefix}-sa", RUN_DIR / f"{prefix}-sa.serial"
    lab.domains.append(name)
    lab.files += [console, SETTINGS_DIR / f"{name}.conf"]
    password = "svt" + secrets.token_hex(6)
    role = {
        "storage_appliance_name": name,
        "storage_appliance_image": image.to_dict(),
        "storage_appliance_pool": local,
        "storage_appliance_volumes": [{"name": "lun1.raw", "capacity": "16MiB", "lun": 1}],
        "storage_appliance_address": address,
        "storage_appliance_network": net.name,
        "storage_appliance_chap_password": password,
        "storage_appliance_domain_type": "qemu",
        # This machine's libvirtd may not raise QEMU's locked-memory limit (a container without CAP_SYS_RESOURCE);
        # the XML of locked memory is unit-tested.
        "storage_appliance_lock_memory": False,
        "storage_appliance_settings_dir": str(SETTINGS_DIR),
        "storage_appliance_console_log": str(console),
        "storage_appliance_consumer_pool": name,
    }
    runs = ladder(play(role))
    assert password not in "".join(r.output for r in runs)
    wait_for_marker(console, rf"SVKVM-TARGET iqn.2026-12.org.sharedvirt:{name} luns=1:svkvm-lun1:/dev/vd", 60)
    settings = SETTINGS_DIR / f"{name}.conf"
    assert settings.stat().st_mode & 0o777 == 0o600 and settings.stat().st_size % 4096 == 0
    xml = lab.conn.lookupByName(name).XMLDesc(0)
    assert "<memballoon model='none'/>" in xml
    assert password not in xml and "<readonly/>" in xml and 'sharedvirt-cluster:policy maintenance="stay"' in xml
    assert lab.conn.lookupByName(name).autostart() == 1

    # The host consumes it: its CHAP secret and an iscsi-direct pool named after the appliance.
    iqn = f"iqn.2026-12.org.sharedvirt:{name}"
    try:
        # Its boot hook goes to a directory of the test's, not into this machine's libvirt (test_storage_appliance_boot
        # proves it at a boot).
        hooks = RUN_DIR / f"{prefix}-hooks"
        lab.files.append(hooks)
        consumer_vars = {"storage_appliance_hosts": ["localhost"], "shared_storage_hooks_dir": str(hooks), **role}
        consumed = run_playbook(play(consumer_vars, consume=True))
        assert consumed.rc == 0, consumed.output
        assert password not in consumed.output
        assert (hooks / "daemon.d" / "sharedvirt-kvm-autostart").stat().st_mode & 0o777 == 0o755
        guest = guest_params(
            lab,
            f"{prefix}-c",
            None,
            cmdline="sv_disk=/dev/vda sv_write=THROUGH-APPLIANCE sv_tick=1 sv_read=0",
            disks=[
                {"target": "vda", "format": "raw", "cache": "none", "source": {"pool": name, "volume": "unit:0:0:1"}}
            ],  # fmt: skip
            state="running",
        )
        started = run_module(domain, guest)
        assert not started.get("failed"), started.get("msg")
        wait_for_marker(serial_path_of(guest), r"SVKVM-TICK THROUGH-APPLIANCE 2\b", 120)
        # The marker is in the appliance's own volume on this host's local pool: it went guest -> iSCSI -> LIO.
        assert (path / "lun1.raw").read_bytes()[:27] == b"SVKVM-MARK THROUGH-APPLIANC"

        grow_the_lun_live(lab, role, name, path / "lun1.raw", serial_path_of(guest))

        # Removing the appliance while the guest uses its LUN is refused, naming the guest; nothing is removed.
        refused = run_playbook(play(dict(role, storage_appliance_state="absent")))
        assert refused.rc != 0 and f"is in use: {prefix}-c;" in refused.output, refused.output
        assert lab.conn.lookupByName(name).isActive() and settings.exists()

        # New settings need a restart: refused without consent, and the refusal leaves the old settings, so the
        # next run still sees the difference.
        volumes = [
            {"name": "lun1.raw", "capacity": "24MiB", "lun": 1},
            {"name": "lun2.raw", "capacity": "8MiB", "lun": 2},
        ]
        added = dict(role, storage_appliance_volumes=volumes)
        before = settings.read_bytes()
        for attempt in (1, 2):
            pending = run_playbook(play(added))
            assert pending.rc != 0 and "set storage_appliance_allow_restart" in pending.output, pending.output
            assert settings.read_bytes() == before, f"run {attempt} wrote the new settings"
    finally:
        run_module(domain, {"uri": URI, "name": f"{prefix}-c", "state": "absent", "force": True})
        run_module(pool, {"uri": URI, "name": name, "state": "absent"})
        run_module(secret, {"uri": URI, "usage_type": "iscsi", "usage_id": iqn, "state": "absent", "force": True})

    # Unused now: removed, and its volume (the data) kept by default.
    removed = run_playbook(play(dict(role, storage_appliance_state="absent")))
    assert removed.rc == 0, removed.output
    assert name not in lab.conn.listDefinedDomains() and not settings.exists()
    assert (path / "lun1.raw").read_bytes()[:27] == b"SVKVM-MARK THROUGH-APPLIANC"
    assert removed.recap["changed"] > 0


def test_a_chap_password_initiators_refuse_stops_the_role_before_anything_is_made(lab: Lab, prefix: str) -> None:
    name = f"{prefix}-bad"
    refused = refused_before_anything_is_made(lab, name, storage_appliance_chap_password="short")
    assert (
        f"storage_appliance {name}: set storage_appliance_image (kernel, initrd, cmdline), "
        "storage_appliance_address (CIDR), exactly one of storage_appliance_bridge and storage_appliance_network, "
        "storage_appliance_chap_password (12 to 16 of A-Z a-z 0-9 _ . -: what iSCSI initiators accept), and "
        "storage_appliance_volumes with a distinct lun (1-255) each"
    ) in refused, refused


def test_a_pair_peer_address_with_a_prefix_stops_the_role_before_anything_is_made(lab: Lab, prefix: str) -> None:
    name = f"{prefix}-badpair"
    # With a prefix, as storage_appliance_address has one; the appliance needs the bare address to find its peer.
    pair = {"name": f"{prefix}-pair", "service_address": "10.255.0.60/24", "primary": "localhost", "peer": "other",
            "peer_uri": URI, "peer_address": "10.255.0.51/24"}  # fmt: skip
    refused = refused_before_anything_is_made(lab, name, storage_appliance_pair=pair)
    assert (
        f"storage_appliance {name}: storage_appliance_pair needs name (lower-case letters, digits, dots and dashes), "
        "service_address (CIDR), peer (the other appliance's inventory host), primary (this host or the peer), "
        "peer_uri (the peer's libvirt URI) and peer_address (its appliance's own address, no prefix)"
    ) in refused, refused


def refused_before_anything_is_made(lab: Lab, name: str, **bad: t.Any) -> str:
    """The role with valid settings but ``bad``: it fails, and neither the appliance nor its settings exist.
    Returns the playbook's output."""
    lab.domains.append(name)
    role = {
        "storage_appliance_name": name,
        "storage_appliance_image": appliance_image(GUEST_CACHE).to_dict(),
        "storage_appliance_pool": "default",
        "storage_appliance_volumes": [{"name": f"{name}-never.raw", "capacity": "1MiB", "lun": 1}],
        "storage_appliance_address": "10.255.0.50/24",
        "storage_appliance_network": "default",
        "storage_appliance_chap_password": "svt0123456789",
        "storage_appliance_settings_dir": str(SETTINGS_DIR),
        **bad,
    }
    refused = run_playbook(play(role))
    assert refused.rc != 0, refused.output
    assert name not in lab.conn.listDefinedDomains() and not (SETTINGS_DIR / f"{name}.conf").exists()
    return refused.output


def grow_the_lun_live(lab: Lab, role: dict[str, t.Any], pool_name: str, volume: Path, serial: Path) -> None:
    """The role grows LUN 1 from 16 to 24 MiB while a guest rewrites its mark every second through it: the
    appliance's disk grows live, no write of the guest fails, the hypervisor's pool of the appliance sees the
    bigger LUN, and the guest, once its disk is resized, writes past the old end."""
    rest = hashlib.sha256(volume.read_bytes()[4096:]).hexdigest()  # all but the guest's ticking block 0
    appliance = lab.conn.lookupByName(role["storage_appliance_name"])
    running_as = appliance.ID()
    ladder(play(dict(role, storage_appliance_volumes=[{"name": "lun1.raw", "capacity": "24MiB", "lun": 1}])))
    assert volume.stat().st_size == 24 * MIB and appliance.ID() == running_as  # grown under the running appliance
    assert hashlib.sha256(volume.read_bytes()[4096 : 16 * MIB]).hexdigest() == rest
    last = ticks(serial)[-1]
    wait_for("the guest to go on writing", lambda: ticks(serial)[-1] >= last + 3, 60)
    written = ticks(serial)
    assert written == list(range(1, written[-1] + 1)), "a write of the guest failed (a tick is missing)"
    # The consumer side: a refresh of the iscsi-direct pool asks the target, which reads the disk's new size.
    consumer_pool = lab.conn.storagePoolLookupByName(pool_name)
    consumer_pool.refresh(0)
    # libvirt's iscsi-direct pool counts up to the last block's address: one 512-byte block short.
    assert 24 * MIB - 512 <= consumer_pool.storageVolLookupByName("unit:0:0:1").info()[1] <= 24 * MIB
    dom = lab.conn.lookupByName(serial.stem)
    dom.blockResize("vda", 24 * MIB, libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
    wait_for("the guest's agent", lambda: agent(dom, {"execute": "guest-ping"}) is not None, 120)
    wait_for("the guest to see 24 MiB", lambda: guest_sh(dom, "cat /sys/block/vda/size")[1].strip() == "49152", 60)
    block = 20 * MIB // 4096  # past the old end
    wrote = guest_sh(dom, f"echo SVKVM-MARK GROWN | dd of=/dev/vda bs=4096 seek={block} conv=sync,fsync oflag=direct")
    assert wrote[0] == 0, wrote
    assert volume.read_bytes()[20 * MIB : 20 * MIB + 16] == b"SVKVM-MARK GROWN"


def ticks(serial: Path) -> list[int]:
    """The numbers of the guest's successful mark rewrites, in order (a failed write prints nothing)."""
    return [int(n) for n in re.findall(r"SVKVM-TICK THROUGH-APPLIANCE (\d+)", serial.read_text(errors="replace"))]
