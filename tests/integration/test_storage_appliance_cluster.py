"""The storage appliance pair on three namespace hypervisors (tools/hostbed.py): appliances on hosts a (primary)
and b, each over its host's own pool, bridged to the hosts' shared link. Two consumer VMs on b and c share LUN 1
and exchange markers, which the primary mirrors onto both hosts' volumes; removing an appliance they use is
refused. The LUN grows while they write. The secondary dies: the mirror goes degraded (reported) and the
consumers go on; the rerun brings it back and the mirror heals. The consumer on c migrates live to a without
losing a write. Host a then crashes (power loss: its appliance and the migrated consumer die with it): the
failover entry point refuses without proof, then b takes over, the consumer on b goes on, and every write the
dead consumer had acknowledged is on b's copy. Host a returns: its appliance comes back standby and writes
nothing to its stale copy, a rerun makes it the secondary and the mirror is clean again.

The plays run on this machine (the controller) against each host's libvirt, as an operator's would over SSH."""

from __future__ import annotations

import contextlib
import re
import secrets
import typing as t
from pathlib import Path

import libvirt
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
from testbed.wait import wait_for, wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, migration, pool, storage_appliance_info

MIB = 1024 * 1024
SETTINGS_DIR = RUN_DIR / "appliance-settings"
STORAGE_HOSTS = ("a", "b")


@pytest.fixture(scope="module")
def bed() -> t.Iterator[HostBed]:
    with HostBed("svt-vsa", 3) as hosts:
        yield hosts


class Cluster:
    """The inventory (hosts a, b, c, run from this machine against each host's libvirt) and what it made."""

    def __init__(self, bed: HostBed, prefix: str, tmp_path: Path) -> None:
        self.nodes = dict(zip("abc", bed.hosts))
        hosts = list(bed.subnet.hosts())
        self.name = f"{prefix}-vsa"
        self.volumes = {h: RUN_DIR / f"{prefix}-{h}" / "lun1.raw" for h in STORAGE_HOSTS}
        self.consoles = {h: RUN_DIR / f"{prefix}-sa-{h}.serial" for h in STORAGE_HOSTS}
        inventory: dict[str, dict[str, t.Any]] = {}
        for letter, node in self.nodes.items():
            # shared_storage_hooks_dir: the host's own /etc/libvirt/hooks (the bed keeps its /etc/libvirt there).
            inventory[letter] = {"ansible_connection": "local", "libvirt_uri": node.uri,
                                 "storage_appliance_uri": node.uri,
                                 "shared_storage_hooks_dir": str(node.root / "etc" / "hooks")}  # fmt: skip
        for index, (letter, other) in enumerate(zip(STORAGE_HOSTS, reversed(STORAGE_HOSTS))):
            inventory[letter].update({
                "storage_appliance_name": f"{prefix}-sa-{letter}",
                "storage_appliance_pool": f"{prefix}-{letter}",
                "storage_appliance_address": f"{hosts[199 + index]}/{bed.subnet.prefixlen}",
                "storage_appliance_console_log": str(self.consoles[letter]),
                "storage_appliance_peers": [n.uri for k, n in self.nodes.items() if k != letter],
                "storage_appliance_pair": {
                    "name": self.name,
                    "service_address": f"{hosts[209]}/{bed.subnet.prefixlen}",
                    "primary": "a",
                    "peer": other,
                    "peer_uri": self.nodes[other].uri,
                    "peer_name": f"{prefix}-sa-{other}",
                    "peer_address": str(hosts[199 + STORAGE_HOSTS.index(other)]),
                },
            })  # fmt: skip
        self.password = "svt" + secrets.token_hex(6)
        self.common = {
            "storage_appliance_image": appliance_image(GUEST_CACHE).to_dict(),
            "storage_appliance_volumes": [{"name": "lun1.raw", "capacity": "16MiB", "lun": 1}],
            "storage_appliance_bridge": "lan",
            "storage_appliance_chap_password": self.password,
            "storage_appliance_domain_type": "qemu",
            "storage_appliance_lock_memory": False,
            "storage_appliance_settings_dir": str(SETTINGS_DIR),
            "storage_appliance_hosts": list(STORAGE_HOSTS),
        }
        self.inventory = tmp_path / "cluster.yml"
        self.inventory.write_text(yaml.safe_dump({"all": {"hosts": inventory}}))

    def play(
        self, entry: str = "main", hosts: str = "a,b", check: bool = False, diff: bool = False, **extra: t.Any
    ) -> PlaybookRun:
        def one(entry: str, hosts: str) -> dict[str, t.Any]:
            task = {"name": f"Run {entry}", "ansible.builtin.include_role": {
                "name": "sharedvirt.kvm.storage_appliance", "tasks_from": entry}}  # fmt: skip
            return {"name": f"The cluster: {entry}", "hosts": hosts, "gather_facts": False,
                    "module_defaults": {"group/sharedvirt.kvm.libvirt": {"uri": "{{ libvirt_uri }}"}},
                    "vars": {**self.common, **extra}, "tasks": [task]}  # fmt: skip

        # consume reads the facts main set on the appliance hosts, in the same playbook.
        plays = [one("main", "a,b"), one("consume", "all")] if entry == "consume" else [one(entry, hosts)]
        return run_playbook(yaml.safe_dump(plays), check=check, diff=diff, inventory=self.inventory)

    def info(self, letter: str) -> dict[str, t.Any]:
        result = run_module(storage_appliance_info, {"uri": self.nodes[letter].uri, "name": self.appliance(letter)})
        assert not result.get("failed"), result.get("msg")
        return t.cast(dict[str, t.Any], result["appliance"])

    def appliance(self, letter: str) -> str:
        return f"{self.name[: -len('-vsa')]}-sa-{letter}"

    def clean(self, letter: str) -> bool:
        report = self.info(letter)
        return report.get("role") == "primary" and report.get("degraded") == [] and len(report["volumes"]) == 1

    def data(self, letter: str) -> bytes:
        """The mirrored data of a host's copy, grown to 24 MiB (md metadata 1.0 keeps its superblock and bitmap in
        the last MiB)."""
        return self.volumes[letter].read_bytes()[: 23 * MIB]


def ticks(serial: Path, mark: str) -> list[int]:
    return [int(n) for n in re.findall(rf"SVKVM-TICK {mark} (\d+)", serial.read_text(errors="replace"))]


def seen(serial: Path, sector: int) -> list[int]:
    """The other consumer's tick numbers this one read from ``sector``, in order."""
    found = re.findall(rf"s{sector}=<SVKVM-MARK \S+ (\d+)>", serial.read_text(errors="replace"))
    return [int(n) for n in found]


def goes_on(serial: Path, mark: str, more: int) -> None:
    last = ticks(serial, mark)[-1]
    wait_for(f"{more} more writes of {mark}", lambda: ticks(serial, mark)[-1] >= last + more, 120)


def lun_size(conn: t.Any, pool_name: str) -> int:
    """The size of LUN 1 as a hypervisor's pool of the pair sees it (a refresh asks the target)."""
    consumer_pool = conn.storagePoolLookupByName(pool_name)
    consumer_pool.refresh(0)
    return int(consumer_pool.storageVolLookupByName("unit:0:0:1").info()[1])


def consumer(lab: Lab, node: NsHost, name: str, pool: str, mark: str, sector: int, other: int) -> dict[str, t.Any]:
    """A VM on ``node`` sharing LUN 1: it rewrites ``mark`` and a count at ``sector`` every second and reports what
    it reads at ``other`` (the other consumer's sector)."""
    cmdline = f"sv_disk=/dev/vda sv_write={mark} sv_sector={sector} sv_tick=1 sv_read={other}"
    disk = {"target": "vda", "format": "raw", "cache": "none", "shareable": True,
            "source": {"pool": pool, "volume": "unit:0:0:1"}}  # fmt: skip
    params = guest_params(lab, name, None, cmdline=cmdline, disks=[disk], state="running", uri=node.uri)
    started = run_module(domain, params)
    assert not started.get("failed"), started.get("msg")
    return params


@pytest.mark.guests(2)  # the appliances, which the role's playbook starts; the consumers take their own slots
def test_a_pair_on_three_hosts_keeps_its_consumers_writing_through_growth_a_lost_secondary_migration_and_a_host_crash(
    bed: HostBed, prefix: str, tmp_path: Path
) -> None:
    cluster = Cluster(bed, prefix, tmp_path)
    a, b, c = bed.hosts
    conns = {node.uri: node.open() for node in bed.hosts}
    lab = Lab(conns[b.uri], prefix)
    try:
        for letter in STORAGE_HOSTS:  # each appliance host's own pool
            path = cluster.volumes[letter].parent
            lab.files += [path, SETTINGS_DIR / f"{cluster.appliance(letter)}.conf", cluster.consoles[letter],
                          SETTINGS_DIR / f"{cluster.appliance(letter)}.alone"]  # fmt: skip
            # Started with the host: its appliance's disks are in it, and the appliance autostarts.
            params = {"name": f"{prefix}-{letter}", "type": "dir", "target": {"path": str(path)}, "autostart": True}
            local = run_module(pool, {"uri": cluster.nodes[letter].uri, **params})
            assert not local.get("failed"), local.get("msg")
        # Check mode (with its diff) predicts, the run makes the pair and every host's pool of it, the rerun
        # changes nothing.
        predicted = ok(cluster.play("consume", check=True, diff=True))
        made = ok(cluster.play("consume"))
        assert changed(predicted) > 0 and changed(made) > 0
        assert cluster.password not in predicted.output + made.output
        # The reruns once the primary has copied the new mirror: idempotence in the pair's steady state.
        wait_for("the new mirror to be copied", lambda: cluster.clean("a"), 180)
        for rerun in (cluster.play("consume", check=True), cluster.play("consume")):
            assert changed(ok(rerun)) == 0, rerun.output
        assert cluster.info("b")["role"] == "secondary"

        # Two consumers share LUN 1 and read each other's marker.
        on_b = consumer(lab, b, f"{prefix}-cb", cluster.name, "CB", 1, 2)
        on_c = consumer(lab, c, f"{prefix}-cc", cluster.name, "CC", 2, 1)
        serial_b, serial_c = serial_path_of(on_b), serial_path_of(on_c)

        def exchanged() -> bool:
            return seen(serial_b, 2)[-1:] > [2] and seen(serial_c, 1)[-1:] > [2]

        wait_for("the consumers to read each other's marks", exchanged, 180)
        for letter in STORAGE_HOSTS:  # synchronous: cb's mark is on both copies
            assert cluster.data(letter)[4096 : 4096 + 13] == b"SVKVM-MARK CB", letter
        # Removing either appliance while VMs on any host use the pair is refused, naming them; nothing is removed.
        refused = cluster.play(hosts="b", storage_appliance_state="absent")
        users = f"storage_appliance {cluster.appliance('b')} is in use: {prefix}-cb, {prefix}-cc; move or remove"
        assert refused.rc != 0 and users in refused.output, refused.output
        assert conns[b.uri].lookupByName(cluster.appliance("b")).isActive()

        # The role grows the volume on both hosts; once both legs grew, the primary grows the mirror: a bigger LUN
        # while the consumers write.
        before = lun_size(conns[b.uri], cluster.name)  # md keeps its superblock and bitmap at the end of each leg
        assert 15 * MIB < before < 16 * MIB, before
        cluster.common["storage_appliance_volumes"] = [{"name": "lun1.raw", "capacity": "24MiB", "lun": 1}]
        ok(cluster.play())
        wait_for("the pair's LUN to grow", lambda: lun_size(conns[b.uri], cluster.name) > 23 * MIB, 120)
        goes_on(serial_b, "CB", 2)

        # The secondary dies: the primary drops its leg, the consumers go on, the report says degraded. The rerun
        # starts it, the primary logs in again and copies what changed.
        conns[b.uri].lookupByName(cluster.appliance("b")).destroy()
        wait_for("the mirror to go degraded", lambda: cluster.info("a").get("degraded") == [1], 60)
        goes_on(serial_c, "CC", 3)
        ok(cluster.play())
        wait_for("the mirror to heal", lambda: cluster.clean("a"), 120)

        # cc migrates live from c to a: not one of its writes fails, and cb goes on reading them.
        moved = run_module(migration, {"uri": a.uri, "sources": [c.uri], "name": f"{prefix}-cc", "timeout": 180})
        assert not moved.get("failed"), moved.get("msg")
        goes_on(serial_c, "CC", 3)
        last_seen = seen(serial_b, 2)[-1]
        wait_for("cb to read cc's writes from a", lambda: seen(serial_b, 2)[-1] > last_seen, 60)

        # Host a crashes, with the primary appliance and cc. Unreachable is not fenced: refused, then taken over.
        acknowledged = ticks(serial_c, "CC")[-1]
        a.crash()
        refused = cluster.play("failover", hosts="b")
        assert refused.rc != 0 and "which is not proof that it is down" in refused.output, refused.output
        ok(cluster.play("failover", hosts="b", storage_appliance_fenced=True))
        report = cluster.info("b")
        assert report["role"] == "primary" and report["degraded"] == [1], report
        goes_on(serial_b, "CB", 3)  # cb's session reconnected to the service address, now served by b
        # Every write cc had acknowledged before the crash is on b's copy (sector 2).
        block = cluster.volumes["b"].read_bytes()[2 * 4096 : 2 * 4096 + 64]
        found = re.match(rb"SVKVM-MARK CC (\d+)", block)
        assert found and int(found.group(1)) >= acknowledged, (block, acknowledged)

        # Host a returns: its appliance autostarts as the primary it was, finds the address taken, serves nothing.
        a.revive()
        wait_for_marker(cluster.consoles["a"], "SVKVM-STANDBY", 180)
        stale = cluster.data("a")[: 3 * 4096]
        goes_on(serial_b, "CB", 2)
        assert cluster.data("a")[: 3 * 4096] == stale, "the standby appliance served writes"
        conns[a.uri] = a.open()
        ok(cluster.play())
        assert cluster.info("a")["role"] == "secondary"
        wait_for("the mirror to heal after the takeover", lambda: cluster.clean("b"), 180)
        assert changed(ok(cluster.play())) == 0
        goes_on(serial_b, "CB", 2)
        written = ticks(serial_b, "CB")
        assert written == list(range(1, written[-1] + 1)), "a write of cb failed (a tick is missing)"
        conns[b.uri].lookupByName(f"{prefix}-cb").suspend()
        assert cluster.data("a") == cluster.data("b")
    finally:
        answering = []
        for node in bed.hosts:  # a host that crashed has no connection to reuse
            with contextlib.suppress(libvirt.libvirtError):
                answering.append(node.open())
        remove_domains_everywhere(answering, prefix)
        lab.domains.clear()  # removed above, wherever they ran
        lab.cleanup()
        for conn in conns.values():
            with contextlib.suppress(libvirt.libvirtError):
                conn.close()
