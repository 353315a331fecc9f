"""A VM's recovery record: its definition as last known, the host it is on and whether it should run (pure).

A VM whose cluster policy names a ``record_pool`` has its definition copied into that pool - storage every
hypervisor of the cluster sees - as the volume ``<name>.sharedvirt.xml``, by every module that defines,
starts, stops or moves it. When its host fails, the definition is still there to restart it elsewhere.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.units import from_libvirt
from .._core.xmlutil import child, parse_xml, to_string
from ..domain.cluster_model import ClusterPolicy, read_cluster_policy

RECORD_SUFFIX = ".sharedvirt.xml"
RECORD_NS = "https://sharedvirt.dev/xmlns/kvm/record/1.0"
ET.register_namespace("sharedvirt-record", RECORD_NS)


def record_volume(name: str) -> str:
    return name + RECORD_SUFFIX


@dataclasses.dataclass(frozen=True)
class VmRecord:
    name: str
    host: str  # the URI of the hypervisor the VM was last known on
    running: bool  # whether it should run (False: it was shut down on purpose)
    policy: ClusterPolicy
    xml: str  # the persistent definition, without the record element
    memory: int = 0  # bytes
    vcpus: int = 1
    disks: t.Tuple[str, ...] = ()  # file and block paths of its disks (their locks are checked)
    lease: str = ""  # the lock manager lease directory, if any


def record_document(domain_xml: str, host: str, running: bool) -> str:
    """The record's text: the definition with where it is and whether it runs in its metadata."""
    root = parse_xml(domain_xml, "domain XML")
    holder = child(root, "metadata")
    for old in holder.findall(f"{{{RECORD_NS}}}record"):
        holder.remove(old)
    ET.SubElement(holder, f"{{{RECORD_NS}}}record", {"host": host, "state": "running" if running else "shutoff"})
    return to_string(root)


def read_vm_record(text: str) -> VmRecord:
    root = parse_xml(text, "VM record")
    node = root.find(f"metadata/{{{RECORD_NS}}}record")
    metadata = root.find("metadata")
    if node is not None and metadata is not None:
        metadata.remove(node)
    memory = root.find("memory")
    size = (from_libvirt(memory.text, memory.get("unit")) if memory is not None else None) or 0
    vcpu = root.find("vcpu")
    paths = []
    for source in root.findall("devices/disk/source"):
        path = source.get("file") or source.get("dev")
        if path:
            paths.append(path)
    lease = root.find("devices/lease/target")
    return VmRecord(
        name=root.findtext("name") or "",
        host=node.get("host", "") if node is not None else "",
        running=node is not None and node.get("state") == "running",
        policy=read_cluster_policy(root),
        xml=to_string(root),
        memory=size,
        vcpus=int(vcpu.get("current") or vcpu.text or 1) if vcpu is not None else 1,
        disks=tuple(paths),
        lease="" if lease is None else lease.get("path", ""),
    )
