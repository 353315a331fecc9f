"""The topology module on two test-driver hypervisors: every object is in the SVG, and a disk two VMs on
different hosts share is one node with an edge to each VM."""

from __future__ import annotations

import typing as t
import xml.etree.ElementTree as ET
from pathlib import Path

from testbed.modules import run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import topology

SVG = "{http://www.w3.org/2000/svg}"
SHARED = "/srv/shared/quorum.raw"


def shared_disk_xml(target: str) -> str:
    return f"<disk type='file' device='disk'><source file='{SHARED}'/><target dev='{target}'/><shareable/></disk>"


def second_host(tmp_path: Path) -> str:
    """A test-driver hypervisor of its own (a node file): a VM on a host bridge with VLAN 10, carrying the disk."""
    node = f"""<node>
  <domain type='test'><name>vm-b</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type>hvm</type></os>
    <devices>{shared_disk_xml("vdb")}
      <interface type='bridge'><source bridge='br1'/><vlan><tag id='10'/></vlan></interface></devices></domain>
  <network><name>lan</name><forward mode='bridge'/><bridge name='br1'/></network>
  <pool type='dir'><name>local</name><target><path>/var/lib/local</path></target></pool>
</node>"""
    path = tmp_path / "host-b.xml"
    path.write_text(node)
    return f"test://{path}"


def svg_graph(path: Path) -> tuple[set[str], set[str]]:
    """Node ids and edges (``a->b``) of a Graphviz SVG, read from the titles Graphviz gives them."""
    root = ET.parse(path).getroot()
    groups = root.iter(f"{SVG}g")
    titles = [(g.get("class"), g.findtext(f"{SVG}title") or "") for g in groups]
    return {title for kind, title in titles if kind == "node"}, {title for kind, title in titles if kind == "edge"}


def test_two_hosts_one_shared_disk_node_with_an_edge_to_each_vm(test_conn: t.Any, tmp_path: Path) -> None:
    vm_a = test_conn.defineXML(
        "<domain type='test'><name>vm-a</name><memory unit='MiB'>256</memory><vcpu>2</vcpu><os><type>hvm</type></os>"
        f"<devices>{shared_disk_xml('vdb')}<interface type='network'><source network='default'/></interface>"
        "</devices></domain>"
    )
    try:
        params = {"hypervisors": ["test:///default", second_host(tmp_path)], "dest": str(tmp_path / "c.svg")}
        predicted = run_module(topology, params, check_mode=True)
        assert predicted["changed"] is True and not (tmp_path / "c.svg").exists()
        drawn = run_module(topology, params)
        assert drawn["changed"] is True and drawn["format"] == "svg"
        nodes, edges = svg_graph(tmp_path / "c.svg")
        expected = {"h0/vm/vm-a", "h0/vm/test", "h0/net/default", "h0/pool/default-pool"}
        expected |= {"h1/vm/vm-b", "h1/net/lan", "h1/br/br1", "h1/pool/local"}
        assert expected <= nodes, expected - nodes
        disks = [n for n in nodes if n.startswith("disk/")]
        assert len(disks) == 1, disks
        assert {f"h0/vm/vm-a->{disks[0]}", f"h1/vm/vm-b->{disks[0]}"} <= edges
        assert {"h0/vm/vm-a->h0/net/default", "h1/vm/vm-b->h1/br/br1", "h1/net/lan->h1/br/br1"} <= edges
        assert drawn["shared_disks"] == [
            {"disk": SHARED, "vms": [{"name": "vm-a", "hypervisor": drawn["hosts"][0]["hostname"]},
                                     {"name": "vm-b", "hypervisor": drawn["hosts"][1]["hostname"]}]}
        ]  # fmt: skip
        assert "VLAN 10" in drawn["dot"] and 'n_h1_vm_vm_b ---|"vdb"| n_disk_0' in drawn["mermaid"]
        assert run_module(topology, params)["changed"] is False
    finally:
        vm_a.undefine()


def test_dot_and_mermaid_files_and_a_change_is_seen(test_conn: t.Any, tmp_path: Path) -> None:
    for name, kind in (("c.dot", "dot"), ("c.mmd", "mermaid")):
        params = {"hypervisors": ["test:///default"], "dest": str(tmp_path / name)}
        made = run_module(topology, params)
        assert made["changed"] and made["format"] == kind
        assert (tmp_path / name).read_text() == made[kind]
        assert run_module(topology, params)["changed"] is False
    vm = test_conn.defineXML(
        "<domain type='test'><name>vm-new</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>"
    )
    try:
        again = run_module(topology, {"hypervisors": ["test:///default"], "dest": str(tmp_path / "c.dot")})
        assert again["changed"] is True and "h0/vm/vm-new" in (tmp_path / "c.dot").read_text()
    finally:
        vm.undefine()
