"""Scenario 7: memory savings - what KSM saves on identical guests and how fast, and how fast the balloon hands a
guest's freed memory back to the host."""

from __future__ import annotations

import shutil
import time
import typing as t
from pathlib import Path

from env import PREFIX, connect, remove_domains, wait_for_markers
from harness import WORK, Goal, Section
from testbed.agent import agent, guest_sh
from testbed.guest import guest_domain_xml, guest_image, local_domain_type
from testbed.modules import run_module
from testbed.wait import wait_for

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, host_info

MIB = 2**20
KSM = Path("/sys/kernel/mm/ksm")
GUESTS = 3
MERGE = f"KSM on (sysfs) until {GUESTS} identical 192 MiB guests stop gaining, read through host_info"
DEFLATE = "ours, balloon 256 -> 128 MiB until QEMU gave the freed pages back (domain current_memory)"


def ksm_facts() -> t.Dict[str, t.Any]:
    return t.cast(t.Dict[str, t.Any], run_module(host_info, {"uri": "qemu:///system"})["host"]["ksm"])


def rss(name: str) -> int:
    pid = Path(f"/run/libvirt/qemu/{name}.pid").read_text().strip()
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return int(next(line.split()[1] for line in lines if line.startswith("VmRSS:"))) * 1024


def merge_until_steady() -> t.Tuple[float, int]:
    """Unmerge, switch KSM on, and wait until the savings stop growing; the seconds and the bytes saved."""
    (KSM / "run").write_text("2")
    (KSM / "pages_to_scan").write_text("20000")
    (KSM / "sleep_millisecs").write_text("10")
    started = time.monotonic()
    (KSM / "run").write_text("1")
    last, steady_since = -1, time.monotonic()
    while time.monotonic() - started < 300:
        saved = ksm_facts()["saved_bytes"]
        if saved > last:
            last, steady_since = saved, time.monotonic()
        elif time.monotonic() - steady_since >= 3:
            return steady_since - started, saved
        time.sleep(0.5)
    return time.monotonic() - started, last


def deflate(dom: t.Any, name: str, xml_params: t.Dict[str, t.Any]) -> float:
    """Fill and free 80 MiB in the guest, then time the balloon down to 128 MiB until QEMU's RSS fell by 40 MiB."""
    guest_sh(dom, "dd if=/dev/zero of=/tmp/fill bs=1M count=80 2>/dev/null; rm /tmp/fill", 120)
    before = rss(name)
    started = time.monotonic()
    run_module(domain, dict(xml_params, current_memory="128MiB"))
    wait_for("the pages back", lambda: before - rss(name) > 40 * MIB, 120, interval=0.2)
    seconds = time.monotonic() - started
    run_module(domain, dict(xml_params, current_memory="256MiB"))  # inflate again for the next run
    wait_for("the balloon back at 256 MiB", lambda: dom.memoryStats().get("actual") == 256 * 1024, 60)
    return seconds


def scenario(reps: int) -> Section:
    section = Section(
        "7. Memory savings: KSM on identical guests, and the balloon",
        f"{GUESTS} TCG guests booted from one image (192 MiB each). KSM: unmerged, then on (20000 pages per 10 ms) "
        "until the host's savings stop growing for 3 s; the savings per guest come from the kernel's "
        "/proc/<pid>/ksm_merging_pages through `host_info`. Balloon: a 256 MiB guest fills 80 MiB of its tmpfs and "
        "frees it, then `domain` lowers `current_memory` to 128 MiB; timed until QEMU's resident memory fell by "
        "40 MiB. TCG figures.",
    )
    work = WORK / "memory"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    saved_settings = {n: (KSM / n).read_text() for n in ("run", "pages_to_scan", "sleep_millisecs")}
    conn = connect()
    remove_domains(conn)
    try:
        kind = local_domain_type(conn)
        names = [f"{PREFIX}ksm{i}" for i in range(GUESTS)]
        for name in names:
            xml = guest_domain_xml(name, guest_image(), kind, serial=work / f"{name}.log", memory_mib=192)
            conn.defineXML(xml).create()
        wait_for_markers([work / f"{name}.log" for name in names], "SVKVM-READY")
        savings = []
        for _rep in range(reps):
            seconds, saved = merge_until_steady()
            section.record(MERGE, seconds)
            savings.append(saved)
        per_guest = {g["name"]: g.get("merged_bytes") or 0 for g in ksm_facts()["guests"] if g["name"] in names}
        section.notes.append(f"KSM saved {max(savings) / MIB:.0f} MiB in all (pages_sharing x 4 KiB)")
        section.notes.append(
            "merged per guest: " + ", ".join(f"{name} {size / MIB:.0f} MiB" for name, size in sorted(per_guest.items()))
        )
        remove_domains(conn)
        (KSM / "run").write_text("2")
        name = f"{PREFIX}bal"
        image = guest_image()
        params = {
            "uri": "qemu:///system", "name": name, "memory": "256MiB", "vcpus": 1, "kernel": image.kernel,
            "initrd": image.initrd, "cmdline": image.cmdline, "guest_agent": True, "memballoon": "virtio",
            "serial": {"type": "file", "path": str(work / "bal.log")}, "state": "running",
            "allowed_paths": [str(Path(image.kernel).parent), str(work)],
        }  # fmt: skip
        made = run_module(domain, params)
        if made.get("failed"):
            raise RuntimeError(made["msg"])
        dom = conn.lookupByName(name)
        wait_for("the guest agent", lambda: agent(dom, {"execute": "guest-ping"}) is not None, 180)
        for _rep in range(reps):
            section.record(DEFLATE, deflate(dom, name, params))
    finally:
        remove_domains(conn)
        conn.close()
        for setting, value in saved_settings.items():
            (KSM / setting).write_text(value)
        shutil.rmtree(work, ignore_errors=True)
    section.goals = [
        Goal("KSM: seconds until the savings are steady", MERGE, "", 0, reported=True),
        Goal("balloon: seconds until 40 MiB are back with the host", DEFLATE, "", 0, reported=True),
    ]
    return section
