"""The topology graph and its DOT and Mermaid text (pure)."""

from __future__ import annotations

from ansible_collections.sharedvirt.kvm.plugins.module_utils.topology.model import (
    Disk,
    HostFacts,
    Network,
    Nic,
    Pool,
    Vm,
    build_graph,
    shared_disks,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.topology.render_model import (
    output_format,
    to_dot,
    to_mermaid,
)

QUORUM = Disk("vdb", "/srv/q.raw", shareable=True)


def hosts() -> list[HostFacts]:
    trunk = Network("lan", "openvswitch", "ovsbr0", portgroups=(("web", (10,)), ("trunk", (10, 20))))
    db1 = Vm("db1", "running", 2, 2**30, (Nic(network="lan", portgroup="web"),), (QUORUM, Disk("vda", "k", "images")))
    db2 = Vm('db"2', "shutoff", 1, 2**29, (Nic(bridge="br1", vlans=(30,)),), (QUORUM, Disk("vda", "x", "gone")))
    return [
        HostFacts("qemu+ssh://hv1/system", "hv1", (db1,), (trunk,), (Pool("images", "dir"),)),
        HostFacts("qemu+ssh://hv2/system", "hv2", (db2,), (), ()),
    ]


def test_a_shared_disk_is_one_node_linked_to_the_vms_of_every_host() -> None:
    graph = build_graph(hosts())
    disks = [n for n in graph.nodes.values() if n.kind == "disk"]
    assert [(d.id, d.host) for d in disks] == [("disk/0", -1)]
    assert {(e.a, e.label) for e in graph.edges if e.b == "disk/0"} == {("h0/vm/db1", "vdb"), ('h1/vm/db"2', "vdb")}
    assert shared_disks(graph) == [
        {"disk": "/srv/q.raw", "vms": [{"name": "db1", "hypervisor": "hv1"}, {"name": 'db"2', "hypervisor": "hv2"}]}
    ]


def test_nics_show_their_portgroup_vlan_and_a_bridge_node_disks_their_pool() -> None:
    graph = build_graph(hosts())
    edges = {(e.a, e.b): e.label for e in graph.edges}
    assert edges[("h0/vm/db1", "h0/net/lan")] == "web VLAN 10"
    assert edges[("h0/net/lan", "h0/br/ovsbr0")] == ""
    assert edges[('h1/vm/db"2', "h1/br/br1")] == "VLAN 30"
    assert edges[("h0/vm/db1", "h0/pool/images")] == "vda"
    assert ('h1/vm/db"2', "h1/pool/gone") not in edges  # a pool that is not there draws no dangling edge
    assert graph.nodes["h0/net/lan"].label == "network lan\nopenvswitch\nweb (VLAN 10), trunk (VLAN 10,20)"
    assert graph.nodes["h0/vm/db1"].label == "db1\nrunning · 2 vCPU · 1GiB"


def test_dot_quotes_every_name_and_mermaid_escapes_labels() -> None:
    graph = build_graph(hosts())
    dot = to_dot(graph)
    assert '"h1/vm/db\\"2" [label="db\\"2\\nshutoff · 1 vCPU · 512MiB"' in dot
    assert 'subgraph cluster_1 {\n    label="hv2 (qemu+ssh://hv2/system)"' in dot
    assert '"h0/vm/db1" -> "disk/0" [label="vdb"];' in dot
    mermaid = to_mermaid(graph)
    assert 'n_h1_vm_db_2["db#quot;2<br/>shutoff · 1 vCPU · 512MiB"]' in mermaid
    assert 'n_disk_0[("shared disk<br/>/srv/q.raw")]' in mermaid
    assert mermaid.startswith("flowchart LR\n  subgraph host0[")


def test_output_format_from_the_option_or_the_suffix() -> None:
    assert [output_format(p, None) for p in ("a.svg", "a.gv", "a.DOT", "a.mmd", "a.md", "a")] == [
        "svg", "dot", "dot", "mermaid", "mermaid", "svg"
    ]  # fmt: skip
    assert output_format("a.svg", "dot") == "dot"
