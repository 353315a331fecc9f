"""Read the topology facts of one hypervisor, and draw DOT as SVG with Graphviz (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import os
import shutil
import subprocess
import typing as t
import xml.etree.ElementTree as ET

from .._core.client import LibvirtClient, libvirt_errors, still_there
from .._core.errors import CollectionError
from .._core.state_model import state_name
from .._core.xmlutil import parse_xml
from .model import Disk, HostFacts, Network, Nic, Pool, Vm


def read_host(client: LibvirtClient) -> HostFacts:
    """The VMs (live definition when running), networks and pools of one hypervisor."""
    with libvirt_errors(f"read the topology of {client.uri}"):
        conn = client.conn
        read = still_there(conn.listAllStoragePools(0), _pool)
        pools = [pool for pool, _path in read]
        targets = {pool.name: path for pool, path in read if path}
        vms = still_there(conn.listAllDomains(0), lambda dom: _vm(dom, targets))
        networks = still_there(conn.listAllNetworks(0), _network)
        return HostFacts(
            client.uri,
            conn.getHostname(),
            tuple(sorted(vms, key=lambda v: v.name)),
            tuple(sorted(networks, key=lambda n: n.name)),
            tuple(sorted(pools, key=lambda p: p.name)),
        )


def _pool(pool: t.Any) -> t.Tuple[Pool, str]:
    """The pool and its target directory (empty for a pool without one), from one read of its XML."""
    root = parse_xml(pool.XMLDesc(0), f"XML of pool {pool.name()!r}")
    path = (root.findtext("target/path") or "").rstrip("/")
    return Pool(pool.name(), root.get("type", ""), bool(pool.isActive())), path


def _vlans(parent: ET.Element) -> t.Tuple[int, ...]:
    return tuple(int(tag.get("id", "0")) for tag in parent.findall("vlan/tag"))


def _vm(dom: t.Any, pool_paths: t.Mapping[str, str]) -> Vm:
    state, _max_kib, memory_kib, vcpus, _cpu_time = dom.info()
    root = parse_xml(dom.XMLDesc(0), f"XML of domain {dom.name()!r}")
    nics = []
    for nic in root.findall("devices/interface"):
        source = nic.find("source")
        attrs = source.attrib if source is not None else {}
        nics.append(Nic(attrs.get("network", ""), attrs.get("bridge", ""), attrs.get("portgroup", ""), _vlans(nic)))
    disks = [_disk(disk, pool_paths) for disk in root.findall("devices/disk") if disk.get("device", "disk") == "disk"]
    name = state_name(state)
    return Vm(dom.name(), name, int(vcpus), int(memory_kib) * 1024, tuple(nics), tuple(d for d in disks if d.key))


def _disk(disk: ET.Element, pool_paths: t.Mapping[str, str]) -> Disk:
    """The disk and the storage it names: a pool volume by its path where the pool has one (so that hosts that
    name the same file differently still agree), a file or device by path, a network disk by protocol:name."""
    target = disk.find("target")
    dev = target.get("dev", "") if target is not None else ""
    source = disk.find("source")
    attrs = dict(source.attrib) if source is not None else {}
    shareable = disk.find("shareable") is not None
    pool = attrs.get("pool", "")
    if pool:
        path = pool_paths.get(pool)
        key = f"{path}/{attrs.get('volume', '')}" if path else f"{pool}/{attrs.get('volume', '')}"
        return Disk(dev, key, pool, shareable)
    path = attrs.get("file") or attrs.get("dev") or ""
    if path:
        owner = next((name for name, root in pool_paths.items() if path.startswith(root + "/")), "")
        return Disk(dev, path, owner, shareable)
    if attrs.get("protocol"):
        return Disk(dev, f"{attrs['protocol']}:{attrs.get('name', '')}", "", shareable)
    return Disk(dev, "", "", shareable)


def _network(net: t.Any) -> Network:
    root = parse_xml(net.XMLDesc(0), f"XML of network {net.name()!r}")
    forward = root.find("forward")
    mode = forward.get("mode", "nat") if forward is not None else "none"
    if root.find("virtualport[@type='openvswitch']") is not None:
        mode = "openvswitch"
    bridge = root.find("bridge")
    groups = tuple((g.get("name", ""), _vlans(g)) for g in root.findall("portgroup"))
    return Network(net.name(), mode, bridge.get("name", "") if bridge is not None else "", bool(net.isActive()), groups)


def render_svg(dot: str) -> str:
    """Graphviz's SVG of the DOT text (the C(graphviz) package on the host that runs the task)."""
    program = shutil.which("dot")
    if program is None:
        raise CollectionError(
            "format=svg needs Graphviz's dot on the host that runs the task: install the graphviz package, "
            "or use format=dot or format=mermaid"
        )
    done = subprocess.run([program, "-Tsvg"], input=dot, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CollectionError(f"Graphviz could not draw the topology: {done.stderr.strip()}")
    return done.stdout


def read_file(path: str) -> t.Optional[str]:
    """What the file holds now (None when there is none)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_file(path: str, content: str, mode: int) -> None:
    """Write the picture whole: a reader sees the old one or the new one, never half of it."""
    part = f"{path}.part"
    with open(part, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(part, mode)
    os.replace(part, path)
