"""host_memory on this machine's real /sys: KSM and hugepages, restored afterwards (they are host-wide)."""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

import pytest
from testbed.modules import ladder, run_module

from ansible_collections.sharedvirt.kvm.plugins.module_utils.host.memory import TMPFILES, USERFAULTFD
from ansible_collections.sharedvirt.kvm.plugins.modules import host_memory

pytestmark = pytest.mark.whole_host  # it reads or changes what every guest of the host shares

KSM = Path("/sys/kernel/mm/ksm")
HUGE = Path("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")
SAVED = [KSM / "run", KSM / "pages_to_scan", KSM / "sleep_millisecs", HUGE, Path(USERFAULTFD)]


@pytest.fixture
def restore_memory_settings() -> t.Iterator[None]:
    before = {path: path.read_text() for path in SAVED}
    had_file = os.path.exists(TMPFILES)
    try:
        yield
    finally:
        for path, value in before.items():
            path.write_text(value)
        if not had_file:
            Path(TMPFILES).unlink(missing_ok=True)


def test_ksm_and_hugepages_ladder_and_persistence(restore_memory_settings: None) -> None:
    run = (KSM / "run").read_text().strip()
    params = {"ksm": {"enabled": run != "1", "pages_to_scan": 317}, "hugepages": {"count": 3}}
    results = ladder(host_memory, params)
    assert results[1]["diff"]["after"].startswith(f"{KSM}/run = {int(run != '1')}\n")
    assert (KSM / "pages_to_scan").read_text().strip() == "317" and HUGE.read_text().strip() == "3"
    memory = results[2]["memory"]
    assert memory["ksm"]["pages_to_scan"] == 317 and memory["ksm"]["enabled"] is (run != "1")
    assert {"size": 2 * 2**20, "count": 3, "free": 3} in memory["hugepages"]
    assert Path(TMPFILES).read_text().splitlines() == [
        "# Managed by sharedvirt.kvm (host_memory): KSM and hugepages at boot.",
        f"w {HUGE} - - - - 3",
        f"w {KSM}/pages_to_scan - - - - 317",
        f"w {KSM}/run - - - - {int(run != '1')}",
    ]
    released = run_module(host_memory, {"hugepages": {"count": 0}, "persist": False})
    assert released["changed"] and HUGE.read_text().strip() == "0" and not os.path.exists(TMPFILES)


def test_userfaultfd_ladder_flips_the_sysctl_and_persists_it(restore_memory_settings: None) -> None:
    allowed = Path(USERFAULTFD).read_text().strip() == "1"
    results = ladder(host_memory, {"userfaultfd": not allowed})
    assert results[0]["actions"] == [
        f"set {USERFAULTFD} from {int(allowed)} to {int(not allowed)}",
        f"write {TMPFILES}",
    ]
    assert Path(USERFAULTFD).read_text().strip() == str(int(not allowed))
    assert results[2]["memory"]["unprivileged_userfaultfd"] is (not allowed)
    assert f"w {USERFAULTFD} - - - - {int(not allowed)}" in Path(TMPFILES).read_text().splitlines()
    back = run_module(host_memory, {"userfaultfd": allowed, "persist": False})
    assert back["changed"] and Path(USERFAULTFD).read_text().strip() == str(int(allowed))


def test_bad_values_change_nothing(restore_memory_settings: None) -> None:
    before = (KSM / "pages_to_scan").read_text()
    failed = run_module(host_memory, {"ksm": {"pages_to_scan": 0}})
    assert failed["failed"] and failed["msg"] == "ksm.pages_to_scan: 0 is not positive"
    missing = run_module(host_memory, {"hugepages": {"count": 1, "size": "16MiB"}})
    assert missing["msg"] == (
        "/sys/kernel/mm/hugepages/hugepages-16384kB/nr_hugepages does not exist: "
        "this kernel has no hugepage size support"
    )
    assert (KSM / "pages_to_scan").read_text() == before
