"""Ansible glue of the topology module: read every hypervisor, build the graph, render it, write the file."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import LibvirtClient
from .._core.module import CollectionModule
from .client import read_file, read_host, render_svg, write_file
from .model import HostFacts, build_graph, shared_disks, summary
from .render_model import output_format, to_dot, to_mermaid


def _read_all(uris: t.Sequence[str], timeout: int) -> t.List[HostFacts]:
    hosts = []
    for uri in dict.fromkeys(uris):
        client = LibvirtClient.connect(uri, readonly=True, timeout=timeout)
        try:
            hosts.append(read_host(client))
        finally:
            client.close()
    return hosts


def run_topology(module: CollectionModule) -> t.Dict[str, t.Any]:
    """The picture of the hypervisors: DOT and Mermaid in the result, and the file at ``dest`` when asked."""
    params = module.params
    graph = build_graph(_read_all(params["hypervisors"], params["connect_timeout"]))
    dot, mermaid = to_dot(graph), to_mermaid(graph)
    result: t.Dict[str, t.Any] = {"changed": False, "actions": [], "hosts": summary(graph)}
    result.update(shared_disks=shared_disks(graph), dot=dot, mermaid=mermaid)
    dest = params.get("dest")
    if not dest:
        return result
    kind = output_format(dest, params.get("format"))
    content = {"dot": dot, "mermaid": mermaid}.get(kind) or render_svg(dot)
    before = read_file(dest)
    result.update(dest=dest, format=kind, changed=before != content)
    if result["changed"]:
        result["actions"] = [f"write the {kind} picture of {len(graph.hosts)} hypervisors to {dest}"]
    if module.diff:
        result["diff"] = {"before": before or "", "after": content, "before_header": dest, "after_header": dest}
    if result["changed"] and not module.check_mode:
        write_file(dest, content, int(params["mode"], 8))
    return result
