from __future__ import annotations

import typing as t
from pathlib import Path

import libvirt
from testbed.modules import run_module

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.cpuset import parse_cpuset
from ansible_collections.sharedvirt.kvm.plugins.modules import host_info

TEST_URI = "test:///default"


def test_reports_facts_and_never_changes(test_conn: t.Any) -> None:
    result = run_module(host_info, {"uri": TEST_URI})
    assert result["changed"] is False
    host = result["host"]
    assert host["uri"] == TEST_URI and host["hypervisor"] == "TEST"
    assert host["domain_types"] and host["domain_type"] in ("kvm", "qemu")
    assert "capabilities_xml" not in host
    # Committed figures come from the one host-load reader: what the running domains hold now.
    active = [dom.info() for dom in test_conn.listAllDomains() if dom.isActive()]
    assert host["domains"] == len(test_conn.listAllDomains()) and host["active_domains"] == len(active) >= 1
    assert host["committed_vcpus"] == sum(info[3] for info in active)
    assert host["committed_memory"] == sum(info[2] for info in active) * 1024
    assert run_module(host_info, {"uri": TEST_URI}, check_mode=True, diff=True)["host"]["uri"] == TEST_URI


def test_uri_from_environment(test_conn: t.Any, monkeypatch: t.Any) -> None:
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", TEST_URI)
    assert run_module(host_info, {})["host"]["uri"] == TEST_URI


def test_connection_failure_names_uri_and_fix(tmp_path: t.Any) -> None:
    uri = f"qemu+unix:///system?socket={tmp_path}/none.sock"
    result = run_module(host_info, {"uri": uri})
    assert result["failed"] is True
    assert result["msg"].startswith(f"connect to {uri}: ")
    assert "is libvirtd (or virtqemud) running on that host" in result["msg"]
    assert result["libvirt_error"]["code"] == 38  # VIR_ERR_SYSTEM_ERROR


def test_bad_option_type_is_refused() -> None:
    result = run_module(host_info, {"uri": TEST_URI, "connect_timeout": "soon"})
    assert result["failed"] is True
    assert "connect_timeout" in result["msg"]


def test_two_guests_pinned_onto_one_cpu_are_named_unless_allowed(test_conn: t.Any, prefix: str) -> None:
    def pinned(name: str, cpuset: str) -> t.Any:
        dom = test_conn.defineXML(
            f"<domain type='test'><name>{prefix}-{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
            f"<cputune><vcpupin vcpu='0' cpuset='{cpuset}'/></cputune><os><type>hvm</type></os></domain>"
        )
        dom.create()
        return dom

    doms = [pinned("a", "2"), pinned("b", "3")]
    try:
        apart = run_module(host_info, {"uri": TEST_URI})
        assert apart["host"]["pin_overlaps"] == [] and not apart.get("warnings")
        assert apart["host"]["pinned_vcpus"] == {f"{prefix}-a": [2], f"{prefix}-b": [3]}
        # test:/// runs in this process: the isolated CPUs are this machine's.
        isolated = Path("/sys/devices/system/cpu/isolated").read_text().strip()
        assert apart["host"]["isolated_cpus"] == (parse_cpuset(isolated) if isolated else [])
        doms.append(pinned("c", "1-2"))
        shared = run_module(host_info, {"uri": TEST_URI})
        assert shared["host"]["pin_overlaps"] == [{"cpu": 2, "domains": [f"{prefix}-a", f"{prefix}-c"]}]
        assert shared["warnings"] == [
            f"host CPU 2 has the pinned vCPUs of {prefix}-a, {prefix}-c: pinned guests compete for it; pin them "
            "apart, or set allow_shared_pins=true if that is meant"
        ]
        assert not run_module(host_info, {"uri": TEST_URI, "allow_shared_pins": True}).get("warnings")
    finally:
        for dom in doms:
            dom.destroy()
            dom.undefine()


def test_a_domain_undefined_between_the_listing_and_its_read_is_not_counted(
    test_conn: t.Any, prefix: str, monkeypatch: t.Any
) -> None:

    victim = test_conn.defineXML(
        f"<domain type='test'><name>{prefix}-gone</name><memory unit='MiB'>64</memory>"
        "<os><type>hvm</type></os></domain>"
    )
    listing = libvirt.virConnect.listAllDomains

    def stale_listing(conn: t.Any, flags: int = 0) -> t.Any:
        found = listing(conn, flags)
        if any(d.name() == f"{prefix}-gone" for d in found):
            victim.undefine()  # another run removes it right after we listed it
        return found

    monkeypatch.setattr(libvirt.virConnect, "listAllDomains", stale_listing)
    result = run_module(host_info, {"uri": TEST_URI})
    assert not result.get("failed"), result.get("msg")
    assert f"{prefix}-gone" not in [d.name() for d in listing(test_conn, 0)]
