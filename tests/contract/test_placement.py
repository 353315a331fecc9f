"""Placement and rebalancing over two hosts of libvirt's test driver (each a custom node file)."""

from __future__ import annotations

import typing as t
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from testbed.modules import run_module
from testbed.plugins import lookup

from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.cluster_model import CLUSTER_NS
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.metadata_model import METADATA_NS
from ansible_collections.sharedvirt.kvm.plugins.modules import rebalance


def node_file(path: Path, domains: t.Sequence[tuple[str, int, t.Optional[str]]], stay: t.Collection[str] = ()) -> str:
    """A test-driver host with 4 CPUs and 8 GiB, running ``domains`` (name, MiB, anti-affinity group); those named
    in ``stay`` have the cluster policy maintenance_policy stay."""
    node = ET.Element("node")
    cpu = ET.SubElement(node, "cpu")
    for tag, value in (("mhz", "2000"), ("nodes", "1"), ("sockets", "1"), ("cores", "4"), ("threads", "1")):
        ET.SubElement(cpu, tag).text = value
    ET.SubElement(cpu, "active").text = "4"
    ET.SubElement(node, "memory").text = str(8 * 2**20)  # KiB
    for name, mib, group in domains:
        dom = ET.SubElement(node, "domain", {"type": "test"})
        ET.SubElement(dom, "name").text = name
        ET.SubElement(dom, "memory", {"unit": "MiB"}).text = str(mib)
        ET.SubElement(dom, "vcpu").text = "1"
        ET.SubElement(ET.SubElement(dom, "os"), "type").text = "hvm"
        metadata = ET.SubElement(dom, "metadata")
        if group:
            meta = ET.SubElement(metadata, f"{{{METADATA_NS}}}metadata")
            ET.SubElement(meta, f"{{{METADATA_NS}}}item", {"key": "anti_affinity"}).text = group
        if name in stay:
            ET.SubElement(metadata, f"{{{CLUSTER_NS}}}policy", {"maintenance": "stay"})
    path.write_text(ET.tostring(node, encoding="unicode"))
    return f"test://{path}"


@pytest.fixture
def hosts(tmp_path: Path) -> tuple[str, str]:
    loaded = node_file(tmp_path / "a.xml", [("db1", 1024, "db"), ("db2", 1024, "db"), ("app1", 2048, None)])
    return loaded, node_file(tmp_path / "b.xml", [])


def test_placement_reads_groups_and_load_from_the_hosts(hosts: tuple[str, str]) -> None:
    a, b = hosts
    uris = [a, b]
    # db3 may not join db1/db2 on a; b, with nothing, is less loaded than a (4 of 8 GiB) for two more 2 GiB VMs.
    assert lookup("placement", "db3", uri=uris, anti_affinity="db", reserve_memory="0") == [b]
    placed = lookup("placement", "app2", "app3", "db1", uri=uris, memory="2GiB", reserve_memory="0")
    assert placed == [b, b, a]  # db1 exists on a and stays there
    with pytest.raises(Exception, match=r"no hypervisor can take domain 'db4': test:///"):
        lookup("placement", "db3", "db4", uri=uris, anti_affinity="db", reserve_memory="0")


def test_rebalance_plans_in_check_mode_and_reports_a_failed_migration(hosts: tuple[str, str]) -> None:
    a, b = hosts
    params = {"hypervisors": [a, b], "memory_spread": "2GiB", "cpu_spread": None, "reserve_memory": "0"}
    plan = run_module(rebalance, params, check_mode=True)
    assert not plan.get("failed"), plan
    assert plan["changed"] is True
    assert [(m["domain"], m["source"], m["destination"]) for m in plan["migrations"]] == [("db1", a, b)]
    assert plan["before"]["anti_affinity_violations"] == 1 and plan["after"]["anti_affinity_violations"] == 0
    assert plan["after"]["spread"] == {"memory": "2048 MiB"} and plan["balanced"] is True
    assert plan["unmovable"] == {}

    excluded = run_module(rebalance, {**params, "exclude": ["db1"]}, check_mode=True)
    assert [m["domain"] for m in excluded["migrations"]] == ["db2"]

    # The test driver cannot migrate: the error names the move and what was done before it.
    failed = run_module(rebalance, params)
    assert failed["failed"] is True
    assert failed["msg"].startswith(f"rebalance: migrating 'db1' from {a} to {b} failed (")
    assert failed["msg"].endswith("migrations done before it: none. Run again to plan from the new state")


def test_rebalance_refuses_bad_spreads_and_a_single_host(hosts: tuple[str, str]) -> None:
    a, b = hosts
    bad = run_module(rebalance, {"hypervisors": [a, b], "cpu_spread": "lots"}, check_mode=True)
    assert bad["failed"] and bad["msg"].startswith("cpu_spread: 'lots' is neither a number of vCPUs")
    single = run_module(rebalance, {"hypervisors": [a, a]}, check_mode=True)
    assert single["msg"] == "hypervisors: rebalancing needs at least two hypervisors"


def test_rebalance_never_moves_a_domain_whose_cluster_policy_says_stay(tmp_path: Path) -> None:
    """A storage appliance (maintenance_policy stay) holds its host's disks: the plan moves its neighbour instead."""
    loaded = [("db1", 1024, "db"), ("db2", 1024, "db"), ("app1", 2048, None)]
    params = {"memory_spread": "2GiB", "cpu_spread": None, "reserve_memory": "0"}
    # The negative control: without the policy, db1 is the domain the plan moves.
    free = [node_file(tmp_path / "a.xml", loaded), node_file(tmp_path / "b.xml", [])]
    assert [
        m["domain"] for m in run_module(rebalance, {**params, "hypervisors": free}, check_mode=True)["migrations"]
    ] == ["db1"]
    kept = [node_file(tmp_path / "a2.xml", loaded, stay={"db1"}), node_file(tmp_path / "b2.xml", [])]
    plan = run_module(rebalance, {**params, "hypervisors": kept}, check_mode=True)
    assert [m["domain"] for m in plan["migrations"]] == ["db2"]
    assert plan["unmovable"] == {"db1": "its cluster policy keeps it on its host (maintenance_policy stay)"}
