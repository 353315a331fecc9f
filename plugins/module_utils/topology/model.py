"""What a topology picture shows: the facts read from each hypervisor, and the graph made of them (pure).

Hosts contain their VMs, networks, host bridges and pools; a shared disk is one node outside every host,
with an edge to each VM that carries it, on whichever host that VM runs.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .._core.units import human


@dataclasses.dataclass(frozen=True)
class Nic:
    """A VM's NIC: on a libvirt network (with a portgroup) or on a host bridge, with its VLAN tags."""

    network: str = ""
    bridge: str = ""
    portgroup: str = ""
    vlans: t.Tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True)
class Disk:
    """A VM's disk: the storage it names (``key``: the same text on every host for the same storage)."""

    target: str
    key: str
    pool: str = ""
    shareable: bool = False


@dataclasses.dataclass(frozen=True)
class Vm:
    name: str
    state: str
    vcpus: int
    memory: int  # bytes
    nics: t.Tuple[Nic, ...] = ()
    disks: t.Tuple[Disk, ...] = ()


@dataclasses.dataclass(frozen=True)
class Network:
    name: str
    forward: str = "none"
    bridge: str = ""
    active: bool = True
    portgroups: t.Tuple[t.Tuple[str, t.Tuple[int, ...]], ...] = ()


@dataclasses.dataclass(frozen=True)
class Pool:
    name: str
    type: str
    active: bool = True


@dataclasses.dataclass(frozen=True)
class HostFacts:
    uri: str
    hostname: str
    vms: t.Tuple[Vm, ...] = ()
    networks: t.Tuple[Network, ...] = ()
    pools: t.Tuple[Pool, ...] = ()


@dataclasses.dataclass(frozen=True)
class Node:
    id: str
    label: str
    kind: str  # vm, network, bridge, pool, disk
    host: int = -1  # index of the host that contains it; -1: outside every host (shared disks)


@dataclasses.dataclass(frozen=True)
class Edge:
    a: str
    b: str
    label: str = ""


@dataclasses.dataclass
class Graph:
    hosts: t.List[HostFacts]
    nodes: t.Dict[str, Node] = dataclasses.field(default_factory=dict)
    edges: t.List[Edge] = dataclasses.field(default_factory=list)

    def add(self, node: Node) -> str:
        self.nodes.setdefault(node.id, node)
        return node.id

    def link(self, a: str, b: str, label: str = "") -> None:
        edge = Edge(a, b, label)
        if edge not in self.edges:
            self.edges.append(edge)


def vm_label(vm: Vm) -> str:
    return f"{vm.name}\n{vm.state} · {vm.vcpus} vCPU · {human(vm.memory)}"


def _vlan_text(vlans: t.Sequence[int]) -> str:
    return "VLAN " + ",".join(str(v) for v in vlans) if vlans else ""


def _network_label(net: Network) -> str:
    parts = [f"network {net.name}", net.forward if net.active else f"{net.forward}, inactive"]
    groups = [f"{name} ({_vlan_text(vlans)})" if vlans else name for name, vlans in net.portgroups]
    return "\n".join(parts + ([", ".join(groups)] if groups else []))


def _nic_edge(graph: Graph, index: int, host: HostFacts, vm_id: str, nic: Nic) -> None:
    known = {n.name: n for n in host.networks}
    if nic.network:
        net = known.get(nic.network, Network(nic.network, forward="missing"))
        target = graph.add(Node(f"h{index}/net/{net.name}", _network_label(net), "network", index))
        vlans = nic.vlans or dict(net.portgroups).get(nic.portgroup, ())
        graph.link(vm_id, target, " ".join(filter(None, [nic.portgroup, _vlan_text(vlans)])))
    elif nic.bridge:
        target = graph.add(Node(f"h{index}/br/{nic.bridge}", f"bridge {nic.bridge}", "bridge", index))
        graph.link(vm_id, target, _vlan_text(nic.vlans))


def _disk_edge(graph: Graph, index: int, vm_id: str, disk: Disk, shared: t.Dict[str, str]) -> None:
    if disk.shareable:
        if disk.key not in shared:
            shared[disk.key] = f"disk/{len(shared)}"
        target = graph.add(Node(shared[disk.key], f"shared disk\n{disk.key}", "disk"))
        graph.link(vm_id, target, disk.target)
    elif disk.pool:
        graph.link(vm_id, f"h{index}/pool/{disk.pool}", disk.target)


def build_graph(hosts: t.Sequence[HostFacts]) -> Graph:
    """Hosts with their VMs, networks, bridges and pools; shared disks once, linked to every VM on any host."""
    graph = Graph(list(hosts))
    shared: t.Dict[str, str] = {}
    for index, host in enumerate(hosts):
        for pool in host.pools:
            state = "" if pool.active else ", inactive"
            graph.add(Node(f"h{index}/pool/{pool.name}", f"pool {pool.name}\n{pool.type}{state}", "pool", index))
        for net in host.networks:
            net_id = graph.add(Node(f"h{index}/net/{net.name}", _network_label(net), "network", index))
            if net.bridge and net.forward in ("bridge", "openvswitch"):
                bridge = graph.add(Node(f"h{index}/br/{net.bridge}", f"bridge {net.bridge}", "bridge", index))
                graph.link(net_id, bridge)
        for vm in host.vms:
            vm_id = graph.add(Node(f"h{index}/vm/{vm.name}", vm_label(vm), "vm", index))
            for nic in vm.nics:
                _nic_edge(graph, index, host, vm_id, nic)
            for disk in vm.disks:
                _disk_edge(graph, index, vm_id, disk, shared)
    graph.edges = [e for e in graph.edges if e.a in graph.nodes and e.b in graph.nodes]
    return graph


def summary(graph: Graph) -> t.List[t.Dict[str, t.Any]]:
    """The facts per host, as the module returns them."""
    return [
        {
            "uri": host.uri,
            "hostname": host.hostname,
            "vms": [dataclasses.asdict(vm) for vm in host.vms],
            "networks": [n.name for n in host.networks],
            "pools": [p.name for p in host.pools],
        }
        for host in graph.hosts
    ]


def shared_disks(graph: Graph) -> t.List[t.Dict[str, t.Any]]:
    """Each shared disk and the VMs (with their hosts) that carry it."""
    found = []
    for node in graph.nodes.values():
        if node.kind != "disk":
            continue
        carriers = [graph.nodes[e.a] for e in graph.edges if e.b == node.id]
        found.append(
            {
                "disk": node.label.split("\n", 1)[1],
                "vms": [
                    {"name": vm.id.rsplit("/", 1)[1], "hypervisor": graph.hosts[vm.host].hostname} for vm in carriers
                ],
            }
        )
    return found
