"""A topology graph as Graphviz DOT and as Mermaid flowchart text (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import re
import typing as t

from .model import Graph, Node

# Graphviz shapes and fills per kind of node: VMs boxes, networks and bridges ellipses, storage cylinders.
DOT_STYLE = {
    "vm": 'shape=box, style="rounded,filled", fillcolor="#dbe9f6"',
    "network": 'shape=ellipse, style=filled, fillcolor="#e3f1df"',
    "bridge": 'shape=ellipse, style=filled, fillcolor="#f4ecd6"',
    "pool": 'shape=cylinder, style=filled, fillcolor="#eeeeee"',
    "disk": 'shape=cylinder, style=filled, fillcolor="#f8d7d3", penwidth=2',
}
MERMAID_SHAPE = {"vm": ('["', '"]'), "network": ('(["', '"])'), "bridge": ('(["', '"])'), "pool": ('[("', '")]')}


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot_node(node: Node, indent: str) -> str:
    return f"{indent}{_dot_text(node.id)} [label={_dot_text(node.label)}, {DOT_STYLE[node.kind]}];"


def to_dot(graph: Graph) -> str:
    """DOT: one cluster per host holding its objects; shared disks outside, between the hosts."""
    lines = [
        "digraph topology {",
        "  rankdir=LR;",
        '  graph [fontname="sans-serif"];',
        '  node [fontname="sans-serif", fontsize=10];',
    ]
    lines.append('  edge [fontname="sans-serif", fontsize=9, dir=none];')
    for index, host in enumerate(graph.hosts):
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f'    label={_dot_text(f"{host.hostname} ({host.uri})")}; style=rounded; color="#888888";')
        lines += [_dot_node(n, "    ") for n in graph.nodes.values() if n.host == index]
        lines.append("  }")
    lines += [_dot_node(n, "  ") for n in graph.nodes.values() if n.host < 0]
    for edge in graph.edges:
        label = f" [label={_dot_text(edge.label)}]" if edge.label else ""
        lines.append(f"  {_dot_text(edge.a)} -> {_dot_text(edge.b)}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_id(node_id: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", node_id)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("\n", "<br/>")


def _mermaid_node(node: Node, indent: str) -> str:
    start, end = MERMAID_SHAPE.get(node.kind, ('[("', '")]'))
    return f"{indent}{_mermaid_id(node.id)}{start}{_mermaid_text(node.label)}{end}"


def to_mermaid(graph: Graph) -> str:
    """Mermaid flowchart text (for Markdown): one subgraph per host, shared disks between them."""
    lines = ["flowchart LR"]
    for index, host in enumerate(graph.hosts):
        lines.append(f'  subgraph host{index}["{_mermaid_text(f"{host.hostname} ({host.uri})")}"]')
        lines += [_mermaid_node(n, "    ") for n in graph.nodes.values() if n.host == index]
        lines.append("  end")
    lines += [_mermaid_node(n, "  ") for n in graph.nodes.values() if n.host < 0]
    for edge in graph.edges:
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"  {_mermaid_id(edge.a)} ---{label} {_mermaid_id(edge.b)}")
    return "\n".join(lines) + "\n"


def output_format(dest: str, declared: t.Optional[str]) -> str:
    """The file format: as declared, else from the file's suffix (.svg, .dot/.gv, .mmd/.md)."""
    if declared:
        return declared
    suffix = dest.rsplit(".", 1)[-1].lower() if "." in dest else ""
    return {"svg": "svg", "dot": "dot", "gv": "dot", "mmd": "mermaid", "md": "mermaid"}.get(suffix, "svg")
