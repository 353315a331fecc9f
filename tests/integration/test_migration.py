"""The migration module between two namespace hypervisors (tools/hostbed.py) with real guests."""

from __future__ import annotations

import re
import subprocess
import typing as t
import xml.etree.ElementTree as ET

import libvirt
import pytest
from ansible.errors import AnsibleError
from testbed.guest import Disk
from testbed.hosts import HostBed, NsHost, remove_domains_everywhere, userfaultfd_for_qemu
from testbed.lab import Guest, Lab, Network
from testbed.modules import run_module
from testbed.plugins import lookup
from testbed.wait import wait_for

from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.metadata_model import METADATA_NS, metadata_element
from ansible_collections.sharedvirt.kvm.plugins.modules import migration, rebalance

SHARED_DIR = "/var/tmp/sharedvirt-kvm"


@pytest.fixture(scope="module")
def bed() -> t.Iterator[HostBed]:
    with HostBed("svt-mig", 2) as hosts:
        yield hosts


def on_lan(conn: t.Any, name: str) -> Network:
    """A libvirt network over the host's ``lan`` bridge: guests share the L2 of every host."""
    root = ET.Element("network")
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "forward", {"mode": "bridge"})
    ET.SubElement(root, "bridge", {"name": "lan"})
    return Network(name, None, conn.networkCreateXML(ET.tostring(root, encoding="unicode")))  # type: ignore[arg-type]


def dir_pool(conn: t.Any, name: str, path: str) -> t.Any:
    root = ET.Element("pool", {"type": "dir"})
    ET.SubElement(root, "name").text = name
    ET.SubElement(ET.SubElement(root, "target"), "path").text = path
    pool = conn.storagePoolCreateXML(ET.tostring(root, encoding="unicode"), 0)
    return pool


def migrate(dest: NsHost, source: NsHost, name: str, check: bool = False, **extra: t.Any) -> dict[str, t.Any]:
    params = {"uri": dest.uri, "sources": [source.uri], "name": name, "timeout": 120, **extra}
    return run_module(migration, params, check_mode=check)


def pings(guest: Guest) -> list[str]:
    """The guest's ping results in order (each change, and a heartbeat every 5th round)."""
    return re.findall(r"SVKVM-PING \S+ (ok|fail)", guest.serial.read_text())


def test_live_migration_keeps_the_guest_pinging_there_and_back(bed: HostBed, prefix: str) -> None:
    a, b = bed.hosts
    conn_a, conn_b = a.open(), b.open()
    lab = Lab(conn_a, prefix)
    try:
        lan = [on_lan(conn, f"{prefix}-lan") for conn in (conn_a, conn_b)][0]
        ip = str(list(bed.subnet.hosts())[60])
        guest = lab.guest("m", networks=[lan], start=False, cmdline=f"sv_ip={ip}/24 sv_ping={bed.controller_address}")
        guest.dom.create()
        guest.wait_for(rf"SVKVM-PING {re.escape(bed.controller_address)} ok")

        predicted = migrate(b, a, guest.name, check=True)
        assert predicted["changed"] and predicted["migration"] is None
        assert predicted["actions"] == [f"live-migrate {guest.name} from {a.uri} to {b.uri} (p2p, copy_storage none)"]
        assert conn_a.lookupByName(guest.name).isActive()  # check mode moved nothing

        moved = migrate(b, a, guest.name, max_downtime=500)
        assert moved.get("changed") and not moved.get("failed"), moved.get("msg")
        figures = moved["migration"]
        assert figures["from"] == a.uri and figures["to"] == b.uri and figures["kind"] == "live"
        assert figures["data_processed"] > 0 and figures["downtime_ms"] is not None
        on_b = conn_b.lookupByName(guest.name)
        assert on_b.isActive() and on_b.isPersistent()
        assert guest.name not in [d.name() for d in conn_a.listAllDomains()]
        seen = len(pings(guest))
        wait_for("two more heartbeats from the destination", lambda: len(pings(guest)) >= seen + 2, 40)
        log = guest.serial.read_text()
        assert log.count("SVKVM-BOOT") == 1  # the same guest kept running, its log went on
        assert "fail" not in pings(guest)

        checked = migrate(b, a, guest.name, check=True)
        assert checked["changed"] is False and checked["actions"] == []
        again = migrate(b, a, guest.name)
        assert again["changed"] is False and again["actions"] == [] and again["migration"] is None

        back = migrate(a, b, guest.name, mode="tunnelled")
        assert back["changed"] and conn_a.lookupByName(guest.name).isActive()
        seen = len(pings(guest))
        wait_for("two more heartbeats after coming back", lambda: len(pings(guest)) >= seen + 2, 40)
        assert "fail" not in pings(guest)
    finally:
        lab.cleanup()
        remove_domains_everywhere((conn_a, conn_b), prefix)


def test_a_busy_guest_precopy_cannot_move_moves_by_post_copy_which_needs_userfaultfd(bed: HostBed, prefix: str) -> None:
    a, b = bed.hosts
    conn_a, conn_b = a.open(), b.open()
    lab = Lab(conn_a, prefix)
    # 16 MiB/s: half of what the guest dirties while TCG tracks its writes.
    slow: dict[str, t.Any] = {"bandwidth": 16, "timeout": 20}
    try:
        guest = lab.guest("busy", cmdline="sv_dirty=32 sv_beat=500", agent=False, start=False)
        guest.dom.create()
        guest.wait_for("SVKVM-DIRTY pass=1 ")

        # Negative control: plain precopy resends the buffer forever; the job is aborted and the guest stays.
        stuck = migrate(b, a, guest.name, **slow)
        assert stuck["failed"] and "did not finish within 20 s and was aborted" in stuck["msg"], stuck.get("msg")
        assert conn_a.lookupByName(guest.name).isActive()

        with userfaultfd_for_qemu(allowed=False):
            refused = migrate(b, a, guest.name, postcopy=True, **slow)
        assert refused["failed"] and refused["msg"].endswith(
            "post-copy needs userfaultfd for QEMU: set the sysctl vm.unprivileged_userfaultfd=1 on both "
            "hypervisors (sharedvirt.kvm.host_memory userfaultfd: true), or set postcopy: false"
        ), refused["msg"]
        assert conn_a.lookupByName(guest.name).isActive()

        with userfaultfd_for_qemu():
            moved = migrate(b, a, guest.name, postcopy=True, **slow)
        assert moved.get("changed") and not moved.get("failed"), moved.get("msg")
        assert moved["migration"]["postcopy"] is True
        assert conn_b.lookupByName(guest.name).isActive()
        # The same guest goes on, dirtying its memory: a later pass and more beats, no second boot.
        passes = [int(n) for n in re.findall(r"SVKVM-DIRTY pass=(\d+)", guest.serial.read_text())]
        wait_for(
            "the buffer rewritten on the destination",
            lambda: int(re.findall(r"SVKVM-DIRTY pass=(\d+)", guest.serial.read_text())[-1]) > passes[-1],
            60,
        )
        assert guest.serial.read_text().count("SVKVM-BOOT") == 1
    finally:
        lab.cleanup()
        remove_domains_everywhere((conn_a, conn_b), prefix)


def test_refusals_then_a_copied_disk(bed: HostBed, prefix: str) -> None:
    a, b = bed.hosts
    conn_a, conn_b = a.open(), b.open()
    lab = Lab(conn_a, prefix)
    shared = f"{SHARED_DIR}/{prefix}-shared"
    try:
        # A network only the source has: refused before anything moves (here an offline migration).
        only_a = on_lan(conn_a, f"{prefix}-only-a")
        lonely = lab.guest("n", networks=[only_a], start=False, boots=False)
        refused = migrate(b, a, lonely.name)
        assert refused["failed"] and refused["msg"] == (
            f"domain {lonely.name!r} uses network '{prefix}-only-a', which {b.uri} does not have; "
            "define it there under the same name first"
        )

        # A local disk (private /var/lib/libvirt/images of each host) and a shared one with write-back cache.
        subprocess.run(["mkdir", "-p", shared], check=True)
        for conn in (conn_a, conn_b):
            dir_pool(conn, f"{prefix}-local", "/var/lib/libvirt/images")
            dir_pool(conn, f"{prefix}-shared", shared)
        local = conn_a.storagePoolLookupByName(f"{prefix}-local")
        vol_xml = f"<volume><name>{prefix}-d.raw</name><capacity unit='MiB'>16</capacity></volume>"
        vda = local.createXML(vol_xml, 0).path()
        vdb = f"{shared}/{prefix}-q.raw"
        with open(vdb, "wb") as handle:
            handle.truncate(8 * 2**20)
        disks = [Disk(vda, "vda"), Disk(vdb, "vdb", shareable=True)]
        guest = lab.guest("d", start=False, disks=disks, cmdline="sv_disk=/dev/vda sv_write=before-migration")
        dom = conn_a.lookupByName(guest.name)
        root = ET.fromstring(dom.XMLDesc(0))
        root.findall("devices/disk/driver")[1].set("cache", "writeback")  # unsafe on shared storage
        conn_a.defineXML(ET.tostring(root, encoding="unicode"))
        dom.create()
        guest.wait_for("SVKVM-WROTE /dev/vda")

        not_shared = migrate(b, a, guest.name)
        assert not_shared["msg"] == (
            f"disk vda of domain {guest.name!r} ({vda}) is not on storage {b.uri} sees; set copy_storage: all "
            "(or incremental for a backing chain present there), or move the disk to shared storage"
        )
        unsafe = migrate(b, a, guest.name, copy_storage="all")
        assert unsafe["consent_option"] == "allow_unsafe"
        assert unsafe["msg"].startswith(
            f"disk vdb of domain {guest.name!r} on shared storage uses cache mode writeback"
        )
        assert conn_a.lookupByName(guest.name).isActive()  # nothing moved

        copied = migrate(b, a, guest.name, copy_storage="all", allow_unsafe=True)
        assert copied.get("changed") and not copied.get("failed"), copied.get("msg")
        assert copied["migration"]["data_total"] >= 16 * 2**20  # memory and the 16 MiB disk
        source_file = a.root / "lib" / "images" / f"{prefix}-d.raw"
        dest_file = b.root / "lib" / "images" / f"{prefix}-d.raw"
        assert b"SVKVM-MARK before-migration" in dest_file.read_bytes()[:512]
        compare = subprocess.run(
            ["qemu-img", "compare", "-U", str(source_file), str(dest_file)], capture_output=True, check=False
        )
        assert compare.returncode == 0, compare.stdout + compare.stderr
    finally:
        lab.cleanup()
        remove_domains_everywhere((conn_a, conn_b), prefix)
        subprocess.run(["rm", "-rf", shared], check=False)


def test_rebalance_moves_a_group_member_off_the_loaded_host(bed: HostBed, prefix: str) -> None:
    a, b = bed.hosts
    conn_a, conn_b = a.open(), b.open()
    lab = Lab(conn_a, prefix)
    try:
        # Three 160 MiB guests on a, two of them in anti-affinity group db; r1 also uses a network b lacks.
        only_a = on_lan(conn_a, f"{prefix}-only-a")
        guests = [lab.guest(s, networks=[only_a] if s == "r1" else [], start=False) for s in ("r1", "r2", "r3")]
        for guest in guests[:2]:
            meta = ET.tostring(metadata_element({"anti_affinity": f"{prefix}-db"}), encoding="unicode")
            guest.dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, meta, "sv", METADATA_NS, 0)
        for guest in guests:
            guest.dom.create()
        for guest in guests:
            guest.wait_for("SVKVM-READY")
        r1, r2, r3 = (g.name for g in guests)
        uris = [a.uri, b.uri]
        assert lookup("placement", f"{prefix}-new", uri=uris, memory="160MiB", anti_affinity=f"{prefix}-db") == [b.uri]

        params = {"hypervisors": uris, "memory_spread": "200MiB", "cpu_spread": "", "timeout": 120}
        planned = run_module(rebalance, params, check_mode=True)
        assert not planned.get("failed"), planned.get("msg")
        # r1 would fix the group, but its network is missing on b: the prechecks pin it and r2 goes instead.
        assert [(m["domain"], m["source"], m["destination"]) for m in planned["migrations"]] == [(r2, a.uri, b.uri)]
        assert planned["unmovable"] == {
            r1: f"domain {r1!r} uses network '{prefix}-only-a', which {b.uri} does not have; "
            "define it there under the same name first"
        }
        assert planned["before"]["hosts"][a.uri]["running"] == [r1, r2, r3]
        assert planned["before"]["spread"] == {"memory": "480 MiB"} and planned["after"]["spread"] == {
            "memory": "160 MiB"
        }
        assert planned["changed"] and planned["balanced"]
        assert conn_a.lookupByName(r2).isActive()  # check mode moved nothing

        done = run_module(rebalance, params)
        assert done["changed"] and not done.get("failed"), done.get("msg")
        assert done["migrations"][0]["domain"] == r2 and done["migrations"][0]["downtime_ms"] is not None
        moved = conn_b.lookupByName(r2)
        assert moved.isActive() and moved.isPersistent()
        assert r2 not in [d.name() for d in conn_a.listAllDomains()]
        assert "SVKVM-BOOT" in guests[1].serial.read_text() and guests[1].serial.read_text().count("SVKVM-BOOT") == 1

        checked = run_module(rebalance, params, check_mode=True)
        assert checked["changed"] is False and checked["migrations"] == [] and checked["balanced"]
        again = run_module(rebalance, params)
        assert again["changed"] is False and again["migrations"] == [] and again["balanced"]
        assert lookup("placement", r2, uri=uris) == [b.uri]  # an existing domain stays where it is
        with pytest.raises(AnsibleError, match=f"no hypervisor can take domain '{prefix}-new'"):
            lookup("placement", f"{prefix}-new", uri=uris, memory="160MiB", anti_affinity=f"{prefix}-db")
    finally:
        lab.cleanup()
        remove_domains_everywhere((conn_a, conn_b), prefix)
