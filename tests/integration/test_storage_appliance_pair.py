"""A redundant pair of storage appliances on this machine's libvirtd, played as two inventory hosts (hva, hvb)
with a local pool each: the primary mirrors every write of a consumer guest onto both hosts' volumes; the
secondary dies and the consumer goes on (degraded, reported), the secondary returns and the mirror heals; the
primary dies, the failover entry point refuses without fencing proof, then the secondary takes over and the
consumer goes on without a lost write; the old primary returns standby (it does not take the address back), and
a rerun makes it the secondary and restores redundancy."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
import typing as t
from pathlib import Path

import pytest
import yaml
from testbed.ansible import PlaybookRun, run_playbook
from testbed.ansible import changed_on_every_host as changed
from testbed.ansible import playbook_ok as ok
from testbed.appliance_image import appliance_image
from testbed.lab import Lab
from testbed.modules import run_module
from testbed.params import URI, guest_params, serial_path_of
from testbed.paths import GUEST_CACHE, RUN_DIR
from testbed.wait import wait_for, wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, pool, secret, storage_appliance_info

SETTINGS_DIR = RUN_DIR / "appliance-settings"
MIB = 1024 * 1024
# A libvirt that never answers: the dead host, as the failover sees it.
DEAD_URI = "qemu+tcp://127.0.0.1:1/system"
HOSTS = ("hva", "hvb")


class Pair:
    """The two appliances' inventory, their volumes and consoles."""

    def __init__(self, lab: Lab, prefix: str, tmp_path: Path) -> None:
        net = lab.network()
        subnet = ipaddress.ip_network(net.subnet)
        self.service = f"{subnet[210]}/{subnet.prefixlen}"
        self.name = f"{prefix}-pair"
        self.password = "svt" + secrets.token_hex(6)
        self.hosts: dict[str, dict[str, t.Any]] = {}
        self.volumes: dict[str, Path] = {}
        image = appliance_image(GUEST_CACHE).to_dict()
        for index, host in enumerate(HOSTS):
            local, path = f"{prefix}-{host}", RUN_DIR / f"{prefix}-{host}"
            lab.pools.append(local)
            lab.files.append(path)
            made = run_module(pool, {"uri": URI, "name": local, "type": "dir", "target": {"path": str(path)}})
            assert not made.get("failed"), made.get("msg")
            name = f"{prefix}-sa-{host}"
            lab.domains.append(name)
            lab.files += [RUN_DIR / f"{name}.serial", SETTINGS_DIR / f"{name}.conf", SETTINGS_DIR / f"{name}.alone"]
            self.hosts[host] = {
                "ansible_connection": "local",
                "storage_appliance_name": name,
                "storage_appliance_pool": local,
                "storage_appliance_address": f"{subnet[200 + index]}/{subnet.prefixlen}",
                "storage_appliance_console_log": str(RUN_DIR / f"{name}.serial"),
            }
            self.volumes[host] = path / "lun1.raw"
        for host, other in zip(HOSTS, reversed(HOSTS)):
            self.hosts[host]["storage_appliance_pair"] = {
                "name": self.name,
                "service_address": self.service,
                "primary": "hva",
                "peer": other,
                "peer_uri": URI,
                "peer_name": self.hosts[other]["storage_appliance_name"],
                "peer_address": self.hosts[other]["storage_appliance_address"].split("/")[0],
            }
        self.common = {
            "storage_appliance_image": image,
            "storage_appliance_volumes": [{"name": "lun1.raw", "capacity": "16MiB", "lun": 1}],
            "storage_appliance_network": net.name,
            "storage_appliance_chap_password": self.password,
            "storage_appliance_domain_type": "qemu",
            "storage_appliance_lock_memory": False,  # see test_storage_appliance.py
            "storage_appliance_settings_dir": str(SETTINGS_DIR),
        }
        self.inventory = tmp_path / "pair.yml"
        self.inventory.write_text(yaml.safe_dump({"all": {"hosts": self.hosts}}))

    def play(
        self, entry: str = "main", hosts: str = "all", check: bool = False, diff: bool = False, **extra: t.Any
    ) -> PlaybookRun:
        def one(entry: str, hosts: str) -> dict[str, t.Any]:
            task = {"name": f"Run {entry}", "ansible.builtin.include_role": {
                "name": "sharedvirt.kvm.storage_appliance", "tasks_from": entry}}  # fmt: skip
            return {"name": f"The pair: {entry}", "hosts": hosts, "gather_facts": False,
                    "vars": {**self.common, **extra}, "tasks": [task]}  # fmt: skip

        # consume reads what main set; it runs on hva alone, both hosts being this machine's libvirtd.
        plays = [one("main", "all"), one("consume", "hva")] if entry == "consume" else [one(entry, hosts)]
        text = yaml.safe_dump(plays)
        return run_playbook(text, check=check, diff=diff, inventory=self.inventory)

    def info(self, host: str) -> dict[str, t.Any]:
        name = self.hosts[host]["storage_appliance_name"]
        result = run_module(storage_appliance_info, {"uri": URI, "name": name})
        assert not result.get("failed"), result.get("msg")
        return t.cast(dict[str, t.Any], result["appliance"])

    def volume(self, host: str) -> Path:
        return self.volumes[host]

    def appliance(self, lab: Lab, host: str) -> t.Any:
        return lab.conn.lookupByName(self.hosts[host]["storage_appliance_name"])


def ticks(serial: Path) -> list[int]:
    return [int(n) for n in re.findall(r"SVKVM-TICK PAIR (\d+)", serial.read_text(errors="replace"))]


def data(volume: Path) -> str:
    """The mirrored data (md metadata 1.0 keeps its superblock and bitmap at the end of each leg)."""
    return hashlib.sha256(volume.read_bytes()[: 15 * MIB]).hexdigest()


def clean(pair: Pair, host: str) -> bool:
    report = pair.info(host)
    return report.get("role") == "primary" and report.get("degraded") == [] and len(report.get("volumes", [])) == 1


@pytest.mark.guests(3)  # the two appliances and the consumer
def test_a_pair_mirrors_writes_on_both_hosts_and_survives_either_appliance_dying(
    lab: Lab, prefix: str, tmp_path: Path
) -> None:
    pair = Pair(lab, prefix, tmp_path)
    # The ladder: check, check with diff, apply, then check and apply again change nothing.
    runs = [ok(pair.play(check=True)), ok(pair.play(check=True, diff=True)), ok(pair.play())]
    runs += [ok(pair.play(check=True)), ok(pair.play())]
    assert [changed(r) > 0 for r in runs] == [True, True, True, False, False], [changed(r) for r in runs]
    assert pair.password not in "".join(r.output for r in runs)
    wait_for("the new mirror to be copied", lambda: clean(pair, "hva"), 120)
    assert pair.info("hvb")["role"] == "secondary"

    iqn = f"iqn.2026-12.org.sharedvirt:{pair.name}"
    consumer = f"{prefix}-c"
    try:
        ok(pair.play("consume", storage_appliance_hosts=list(HOSTS)))
        guest = guest_params(
            lab, consumer, None, cmdline="sv_disk=/dev/vda sv_write=PAIR sv_tick=1",
            disks=[{"target": "vda", "format": "raw", "cache": "none",
                    "source": {"pool": pair.name, "volume": "unit:0:0:1"}}],
            state="running",
        )  # fmt: skip
        started = run_module(domain, guest)
        assert not started.get("failed"), started.get("msg")
        serial = serial_path_of(guest)
        wait_for_marker(serial, r"SVKVM-TICK PAIR 3\b", 120)
        # Synchronous: the mark is on both hosts' volumes.
        for host in HOSTS:
            assert pair.volume(host).read_bytes()[:15] == b"SVKVM-MARK PAIR", host

        # The role grows the volume on both hosts; once both legs grew, the primary grows the mirror: a bigger LUN
        # while the consumer writes.
        before = lun_size(lab, pair.name)  # md keeps its superblock and bitmap at the end of each leg
        assert 15 * MIB < before < 16 * MIB, before
        pair.common["storage_appliance_volumes"] = [{"name": "lun1.raw", "capacity": "24MiB", "lun": 1}]
        ok(pair.play())
        wait_for("the pair's LUN to grow", lambda: lun_size(lab, pair.name) > 23 * MIB, 120)
        goes_on(serial, 2)

        # The secondary dies: the primary drops its leg, the consumer goes on, the report says degraded.
        pair.appliance(lab, "hvb").destroy()
        wait_for("the mirror to go degraded", lambda: pair.info("hva").get("degraded") == [1], 60)
        goes_on(serial, 3)
        # Back (the role starts it), the primary logs in again and copies what changed: clean, both copies equal.
        ok(pair.play())
        wait_for("the mirror to heal", lambda: clean(pair, "hva"), 120)
        goes_on(serial, 2)
        lab.conn.lookupByName(consumer).suspend()
        assert data(pair.volume("hva")) == data(pair.volume("hvb"))
        lab.conn.lookupByName(consumer).resume()

        # The primary dies with its host. Unreachable is not fenced: refused, nothing changed.
        pair.appliance(lab, "hva").destroy()
        dead = {**pair.hosts["hvb"]["storage_appliance_pair"], "peer_uri": DEAD_URI}
        refused = pair.play("failover", hosts="hvb", storage_appliance_pair=dead)
        assert refused.rc != 0 and "which is not proof that it is down" in refused.output, refused.output
        assert pair.info("hvb")["role"] == "secondary"
        taken = ok(pair.play("failover", hosts="hvb", storage_appliance_pair=dead, storage_appliance_fenced=True))
        assert pair.password not in taken.output
        report = pair.info("hvb")
        assert report["role"] == "primary" and report["degraded"] == [1], report
        goes_on(serial, 3)  # the consumer's session reconnected to the service address, now on hvb
        assert b"SVKVM-MARK PAIR" in pair.volume("hvb").read_bytes()[:15]

        # The old primary's host returns; its appliance boots with its old settings and finds the address taken.
        pair.appliance(lab, "hva").create()
        wait_for_marker(Path(pair.hosts["hva"]["storage_appliance_console_log"]), "SVKVM-STANDBY", 120)
        stale = pair.volume("hva").read_bytes()[:64]
        goes_on(serial, 2)
        assert pair.volume("hva").read_bytes()[:64] == stale, "the standby appliance served writes"
        # The rerun keeps hvb primary, makes hva its secondary, and the mirror heals.
        ok(pair.play())
        assert pair.info("hva")["role"] == "secondary"
        wait_for("the mirror to heal after the takeover", lambda: clean(pair, "hvb"), 120)
        assert changed(ok(pair.play())) == 0
        goes_on(serial, 2)
        written = ticks(serial)
        assert written == list(range(1, written[-1] + 1)), "a write of the consumer failed (a tick is missing)"
        lab.conn.lookupByName(consumer).suspend()
        assert data(pair.volume("hva")) == data(pair.volume("hvb"))
    finally:
        undone = [
            run_module(domain, {"uri": URI, "name": consumer, "state": "absent", "force": True}),
            run_module(pool, {"uri": URI, "name": pair.name, "state": "absent"}),
            run_module(secret, {"uri": URI, "usage_type": "iscsi", "usage_id": iqn, "state": "absent", "force": True}),
        ]
    assert not [r["msg"] for r in undone if r.get("failed")]


def goes_on(serial: Path, more: int) -> None:
    """The consumer writes ``more`` more ticks."""
    last = ticks(serial)[-1]
    wait_for(f"{more} more writes of the consumer", lambda: ticks(serial)[-1] >= last + more, 90)


def lun_size(lab: Lab, pool_name: str) -> int:
    """The size of LUN 1 as a hypervisor's pool of the pair sees it (a refresh asks the target)."""
    consumer_pool = lab.conn.storagePoolLookupByName(pool_name)
    consumer_pool.refresh(0)
    return int(consumer_pool.storageVolLookupByName("unit:0:0:1").info()[1])
