"""Memory savings, measured: KSM merges three identical guests (and not a fourth that opts out), the balloon
gives a guest's freed memory back to the host, and the overcommit guard refuses a start on the real libvirtd."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from testbed.agent import agent, guest_sh
from testbed.lab import Lab
from testbed.modules import run_module
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for, wait_for_marker

from ansible_collections.sharedvirt.kvm.plugins.modules import domain, host_info, host_memory

pytestmark = pytest.mark.whole_host  # it reads or changes what every guest of the host shares

URI = "qemu:///system"
KSM = Path("/sys/kernel/mm/ksm")
MIB = 2**20


@pytest.fixture
def ksm_restored() -> t.Iterator[None]:
    before = {name: (KSM / name).read_text() for name in ("run", "pages_to_scan", "sleep_millisecs")}
    try:
        yield
    finally:
        (KSM / "run").write_text("2")  # unmerge what the test merged, then put the settings back
        for name, value in before.items():
            (KSM / name).write_text(value)


def booted(lab: Lab, suffix: str, **extra: t.Any) -> dict[str, t.Any]:
    params = guest_params(lab, f"{lab.prefix}-{suffix}", None, **{"state": "running", "memory": "192MiB", **extra})
    made = run_module(domain, params)
    assert not made.get("failed"), made.get("msg")
    return params


def ksm() -> dict[str, t.Any]:
    return t.cast(dict[str, t.Any], run_module(host_info, {"uri": URI})["host"]["ksm"])


def test_ksm_merges_identical_guests_and_not_one_that_opts_out(lab: Lab, ksm_restored: None) -> None:
    (KSM / "run").write_text("2")  # KSM off and unmerged: the control, nothing is saved
    same = [booted(lab, f"same{i}") for i in range(3)]
    alone = booted(lab, "alone", memory_backing={"nosharepages": True})
    for params in [*same, alone]:
        wait_for_marker(serial_path_of(params), "SVKVM-READY", 180)
    off = ksm()
    assert off["enabled"] is False and off["saved_bytes"] == 0

    turned_on = run_module(host_memory, {"ksm": {"enabled": True, "pages_to_scan": 20000, "sleep_millisecs": 10}})
    assert turned_on["changed"], turned_on.get("msg")
    floor = 64 * MIB  # three 192 MiB guests of one image share far more than this once KSM has scanned them
    wait_for("KSM to merge the identical guests", lambda: ksm()["saved_bytes"] > floor, 180, interval=2)
    guests = {g["name"]: g for g in ksm()["guests"]}
    for params in same:
        assert guests[params["name"]]["merged_bytes"] > 8 * MIB, guests[params["name"]]
    assert guests[alone["name"]]["merging_pages"] == 0  # nosharepages: its memory is not offered to KSM


def rss(name: str) -> int:
    pid = Path(f"/run/libvirt/qemu/{name}.pid").read_text().strip()
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024


def test_the_balloon_gives_a_guests_freed_memory_back_to_the_host(lab: Lab) -> None:
    params = booted(lab, "bal", memory="256MiB")
    wait_for_marker(serial_path_of(params), "SVKVM-AGENT", 180)
    dom = lab.conn.lookupByName(params["name"])
    wait_for("the guest agent", lambda: agent(dom, {"execute": "guest-ping"}) is not None, 60)
    # The guest touches 80 MiB (its tmpfs holds half its RAM) and frees it again: QEMU holds those pages until the
    # balloon takes them.
    code, out = guest_sh(dom, "dd if=/dev/zero of=/tmp/fill bs=1M count=80 2>&1 && rm /tmp/fill", 120)
    assert code == 0, out
    before = rss(params["name"])
    deflated = run_module(domain, dict(params, current_memory="128MiB"))
    assert deflated["actions"][-1] == f"set live memory of {params['name']} to {128 * MIB} bytes"
    wait_for("the balloon to reach 128 MiB", lambda: dom.memoryStats().get("actual") == 128 * 1024, 60)
    wait_for("QEMU to hand the pages back", lambda: before - rss(params["name"]) > 40 * MIB, 60, interval=1)


def test_the_memory_overcommit_guard_refuses_a_start_on_the_real_libvirtd(lab: Lab) -> None:
    ram = lab.conn.getInfo()[1] * MIB
    params = guest_params(lab, f"{lab.prefix}-big", None, memory=f"{ram * 2 // MIB}MiB", state="present")
    defined = run_module(domain, params)
    assert not defined.get("failed"), defined.get("msg")
    refused = run_module(domain, dict(params, state="running", overcommit={"memory_ratio": 1.0}))
    assert refused["failed"] and f"starting domain {params['name']} would overcommit the host: " in refused["msg"]
    assert f"MiB of guest memory on {ram >> 20} MiB of RAM is " in refused["msg"]
    assert "above the 1:1 allowed" in refused["msg"]
    assert lab.conn.lookupByName(params["name"]).isActive() == 0  # nothing was started
